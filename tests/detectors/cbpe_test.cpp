// detectors/cbpe: parity with NannyML's estimate_* formulas and sklearn's
// IsotonicRegression (vectors from scripts/gen_performance_vectors.py), and
// behaviour on synthetic calibrated and uncalibrated streams.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "detectors/cbpe.h"
#include "detectors/performance_thresholds.h"
#include "tests/support/detector_vectors.h"

namespace mp = mw::performance;
using nlohmann::json;

namespace {


bool close(double actual, double expected) {
    return std::abs(actual - expected) <= 1e-12 * std::max(1.0, std::abs(expected));
}

// Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
double beta_draw(std::mt19937_64& rng, double a, double b) {
    std::gamma_distribution<double> ga(a, 1.0);
    std::gamma_distribution<double> gb(b, 1.0);
    const double x = ga(rng);
    const double y = gb(rng);
    return x / (x + y);
}

// A stream whose score is the true probability of the positive class.
struct Stream {
    std::vector<double> probability;  // the truth
    std::vector<double> score;        // what the model reports
    std::vector<bool> predicted;
    std::vector<bool> actual;

    double realised_accuracy() const {
        double correct = 0;
        for (std::size_t i = 0; i < actual.size(); ++i) correct += predicted[i] == actual[i] ? 1 : 0;
        return correct / static_cast<double>(actual.size());
    }
};

// Labels ~ Bernoulli(p), p ~ Beta(a, b); the model predicts p > 0.5 and
// reports distort(p) as its score.
template <typename Distort>
Stream make_stream(std::uint64_t seed, std::size_t n, double a, double b, Distort distort) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    Stream s;
    for (std::size_t i = 0; i < n; ++i) {
        const double p = beta_draw(rng, a, b);
        s.probability.push_back(p);
        s.score.push_back(distort(p));
        s.predicted.push_back(p > 0.5);
        s.actual.push_back(uniform(rng) < p);
    }
    return s;
}

Stream calibrated_stream(std::uint64_t seed, std::size_t n, double a, double b) {
    return make_stream(seed, n, a, b, [](double p) { return p; });
}

}  // namespace

TEST_CASE("CBPE estimates match NannyML's formulas", "[cbpe][vectors]") {
    std::ifstream in(mw::testing::detector_vectors_dir + "performance_cbpe.json");
    REQUIRE(in);
    const json vectors = json::parse(in);
    REQUIRE(vectors["cbpe"].size() >= 5);
    for (const auto& c : vectors["cbpe"]) {
        INFO("case " << c["name"].get<std::string>());
        std::vector<double> score;
        std::vector<bool> predicted;
        for (const auto& v : c["score"]) score.push_back(v.get<double>());
        for (const auto& v : c["y_pred"]) predicted.push_back(v.get<int>() == 1);
        const auto estimate = mp::estimate_cbpe(score, predicted);
        REQUIRE(estimate.ok());
        for (const auto& [name, expected] : c["expected"].items()) {
            INFO("metric " << name);
            const auto* metric = estimate.find(name);
            REQUIRE(metric != nullptr);
            if (expected.is_null()) {
                CHECK_FALSE(metric->value.has_value());
                CHECK_FALSE(metric->absent_reason.empty());
            } else {
                REQUIRE(metric->value.has_value());
                INFO("actual " << *metric->value << " expected " << expected.get<double>());
                CHECK(close(*metric->value, expected.get<double>()));
            }
        }
    }
}

TEST_CASE("isotonic calibration matches sklearn's IsotonicRegression", "[cbpe][vectors]") {
    std::ifstream in(mw::testing::detector_vectors_dir + "performance_cbpe.json");
    REQUIRE(in);
    const json vectors = json::parse(in);
    REQUIRE(vectors["isotonic"].size() >= 5);
    for (const auto& c : vectors["isotonic"]) {
        INFO("case " << c["name"].get<std::string>());
        const auto fit = mp::fit_isotonic(c["x"].get<std::vector<double>>(), c["y"].get<std::vector<double>>());
        REQUIRE(fit.ok());
        const auto query = c["query"].get<std::vector<double>>();
        const auto expected = c["expected"].get<std::vector<double>>();
        for (std::size_t i = 0; i < query.size(); ++i) {
            INFO("query " << query[i] << " actual " << fit.calibration.apply(query[i]) << " expected " << expected[i]);
            CHECK(close(fit.calibration.apply(query[i]), expected[i]));
        }
    }
}

TEST_CASE("pool adjacent violators on a small known case", "[cbpe]") {
    const auto fit = mp::fit_isotonic({1, 2, 3, 4}, {1, 3, 2, 4});
    REQUIRE(fit.ok());
    CHECK(fit.calibration.apply(2) == 2.5);
    CHECK(fit.calibration.apply(3) == 2.5);
    CHECK(fit.calibration.apply(1.5) == 1.75);
    CHECK(fit.calibration.apply(0) == 1.0);
    CHECK(fit.calibration.apply(9) == 4.0);
    CHECK(mp::fit_isotonic({1, 2}, {1}).error == "x has 2 values and y 1; they must pair up");
    CHECK(mp::fit_isotonic({1, std::nan("")}, {0, 1}).error == "x[1]: nan is not a finite number");
}

TEST_CASE("the expected confusion matrix adds each row's probabilities", "[cbpe]") {
    const auto c = mp::expected_confusion({0.9, 0.2, 0.6, 0.1}, {true, false, true, false});
    CHECK(c.tp == Approx(1.5));
    CHECK(c.fp == Approx(0.5));
    CHECK(c.fn == Approx(0.3));
    CHECK(c.tn == Approx(1.7));
    CHECK(mp::estimate_cbpe({0.5}, {true, false}).error ==
          "score has 1 values and predicted_positive 2; they must pair up");
    CHECK(mp::estimate_cbpe({1.5}, {true}).error == "score[0]: 1.5 is not a probability in [0, 1]");
}

TEST_CASE("on calibrated streams the estimated accuracy covers the realised one", "[cbpe]") {
    constexpr int seeds = 200;
    constexpr std::size_t n = 1000;
    int within_two = 0;
    int within_three = 0;
    for (int seed = 1; seed <= seeds; ++seed) {
        const Stream s = calibrated_stream(static_cast<std::uint64_t>(seed), n, 2.0, 2.0);
        const auto estimate = mp::estimate_cbpe(s.score, s.predicted);
        const auto* accuracy = estimate.find("accuracy");
        REQUIRE(accuracy->value.has_value());
        REQUIRE(accuracy->standard_error.has_value());
        const double gap = std::abs(*accuracy->value - s.realised_accuracy());
        within_two += gap <= 2 * *accuracy->standard_error ? 1 : 0;
        within_three += gap <= 3 * *accuracy->standard_error ? 1 : 0;
    }
    CHECK(within_two >= seeds * 95 / 100);
    CHECK(within_three >= seeds * 99 / 100);
}

TEST_CASE("CBPE sees the drop when scores move toward 0.5", "[cbpe]") {
    // Reference: confident scores, labels known. The scores are calibrated
    // by construction, so no calibration is fitted.
    const Stream reference = calibrated_stream(7, 5000, 2.0, 2.0);
    const auto fit = mp::fit_cbpe(reference.score, reference.predicted, reference.actual, mp::CbpeOptions{false});
    REQUIRE(fit.ok());

    mp::PerformanceWindow window;
    for (std::size_t i = 0; i < reference.score.size(); ++i) {
        window.y_pred.push_back(reference.predicted[i] ? "1" : "0");
        window.y_true.push_back(std::string(reference.actual[i] ? "1" : "0"));
        window.score.push_back(reference.score[i]);
    }
    mp::PerformanceSpec spec;
    spec.positive_class = "1";
    const auto bands = mp::fit_reference_band(window, spec, 500, {"accuracy"});
    REQUIRE(bands.ok());
    mp::MetricThreshold threshold;
    threshold.metric = "accuracy";
    threshold.reference_band = true;

    // Same distribution: no finding triggered.
    const Stream same = calibrated_stream(8, 500, 2.0, 2.0);
    auto estimate = mp::estimate_cbpe(same.score, same.predicted, &fit.reference);
    auto findings = mp::evaluate_thresholds(mp::to_metric_set(estimate), true, {threshold}, bands.bands, {});
    REQUIRE(findings.size() == 1);
    CHECK_FALSE(findings[0].triggered);
    CHECK(findings[0].method == "cbpe");

    // Scores near 0.5 (Beta(20, 20)): the true accuracy falls to about 0.56.
    const Stream shifted = calibrated_stream(9, 500, 20.0, 20.0);
    estimate = mp::estimate_cbpe(shifted.score, shifted.predicted, &fit.reference);
    const auto* accuracy = estimate.find("accuracy");
    REQUIRE(accuracy->value.has_value());
    CHECK(std::abs(*accuracy->value - shifted.realised_accuracy()) < 3 * *accuracy->standard_error);
    findings = mp::evaluate_thresholds(mp::to_metric_set(estimate), true, {threshold}, bands.bands, {});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].triggered);
    CHECK(findings[0].statistic == *accuracy->value);
    CHECK(findings[0].threshold == Approx(bands.bands[0].mean - 3 * bands.bands[0].sd));
}

TEST_CASE("isotonic calibration on the reference corrects uncalibrated scores", "[cbpe]") {
    // An underconfident model: it reports 0.5 + 0.4 (p - 0.5), monotone in the
    // truth, so rankings and the decision (score > 0.5) are right but the
    // values are squeezed toward 0.5: taken as probabilities they predict an
    // accuracy near 0.575 where the truth is near 0.69.
    const auto squeeze = [](double p) { return 0.5 + 0.4 * (p - 0.5); };
    // Calibration noise widens the spread of the estimate a little beyond
    // the reference standard error, so coverage is counted over seeds.
    constexpr int seeds = 20;
    int calibrated_within_three = 0;
    int raw_beyond_five = 0;
    for (int seed = 1; seed <= seeds; ++seed) {
        const Stream reference = make_stream(1000 + static_cast<std::uint64_t>(seed), 5000, 2.0, 2.0, squeeze);
        const Stream current = make_stream(2000 + static_cast<std::uint64_t>(seed), 2000, 2.0, 2.0, squeeze);

        mp::CbpeOptions without;
        without.isotonic_calibration = false;
        const auto raw_fit = mp::fit_cbpe(reference.score, reference.predicted, reference.actual, without);
        const auto calibrated_fit = mp::fit_cbpe(reference.score, reference.predicted, reference.actual);
        REQUIRE(raw_fit.ok());
        REQUIRE(calibrated_fit.ok());
        CHECK_FALSE(raw_fit.reference.calibration.has_value());
        REQUIRE(calibrated_fit.reference.calibration.has_value());

        const double realised = current.realised_accuracy();
        const auto raw = mp::estimate_cbpe(current.score, current.predicted, &raw_fit.reference);
        const auto calibrated = mp::estimate_cbpe(current.score, current.predicted, &calibrated_fit.reference);
        const double se = *calibrated.find("accuracy")->standard_error;
        calibrated_within_three += std::abs(*calibrated.find("accuracy")->value - realised) < 3 * se ? 1 : 0;
        raw_beyond_five += std::abs(*raw.find("accuracy")->value - realised) > 5 * se ? 1 : 0;
    }
    CHECK(calibrated_within_three >= 18);
    CHECK(raw_beyond_five == seeds);
}

TEST_CASE("sampling error follows NannyML's reference components", "[cbpe]") {
    // Reference: 4 rows, 3 correct; 2 predicted positive, of which 1 true.
    const auto fit = mp::fit_cbpe({0.9, 0.8, 0.2, 0.1}, {true, true, false, false}, {true, false, false, false},
                                  mp::CbpeOptions{false});
    REQUIRE(fit.ok());
    std::vector<double> score(100, 0.7);
    std::vector<bool> predicted(100, true);
    const auto estimate = mp::estimate_cbpe(score, predicted, &fit.reference);
    // accuracy: sd of {1, 0, 1, 1} = sqrt(3/16), fraction 1.
    CHECK(*estimate.find("accuracy")->standard_error == Approx(std::sqrt(3.0 / 16.0) / 10.0).epsilon(1e-12));
    // precision: sd of {1, 0} = 0.5 over the 2 of 4 predicted positives.
    CHECK(*estimate.find("precision")->standard_error == Approx(0.5 / std::sqrt(100 * 0.5)).epsilon(1e-12));
    // Without a reference: the binomial sqrt(a (1 - a) / n) for accuracy only.
    const auto plain = mp::estimate_cbpe(score, predicted);
    CHECK(*plain.find("accuracy")->standard_error == Approx(std::sqrt(0.7 * 0.3 / 100)).epsilon(1e-12));
    CHECK_FALSE(plain.find("precision")->standard_error.has_value());
}
