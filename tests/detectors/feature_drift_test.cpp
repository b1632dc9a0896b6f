#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "detectors/feature_drift.h"
#include "stats/chi_squared.h"
#include "stats/distances.h"
#include "stats/ks_test.h"
#include "tests/support/random_samples.h"

using namespace mw::drift;

namespace {

ColumnData numeric_column(const std::string& name, std::vector<double> values) {
    return ColumnData{name, true, std::move(values), {}};
}

ColumnData text_column(const std::string& name, std::vector<std::string> values) {
    return ColumnData{name, false, {}, std::move(values)};
}

// Repeats `levels` cyclically to n values.
std::vector<double> cycle(const std::vector<double>& levels, std::size_t n) {
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = levels[i % levels.size()];
    return out;
}

std::vector<std::string> cycle_text(const std::vector<std::string>& levels, std::size_t n) {
    std::vector<std::string> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = levels[i % levels.size()];
    return out;
}

DriftOptions legacy() {
    DriftOptions options;
    options.mode = DriftMode::legacy;
    return options;
}

// Evaluates one feature and decides its verdict alone.
FeatureDriftResult run_one(const ColumnData& reference, const ColumnData& current, const DriftOptions& options,
                           FeatureMethodChoice choice = {}) {
    const FittedFeature fitted = fit_feature(reference, choice, options);
    std::vector<FeatureDriftResult> results{evaluate_feature(fitted, current, options)};
    NoiseBaselineCache cache;
    decide_drift(results, {&fitted}, {&cache}, options);
    return results.front();
}

}  // namespace

TEST_CASE("auto method: Evidently's rule, each branch (legacy mode)", "[drift][feature]") {
    const auto options = legacy();
    const FeatureMethodChoice automatic;
    // Reference of at most 1000 rows.
    CHECK(fit_feature(numeric_column("x", mw::testing::normal_sample(1000, 0, 1, 1)), automatic, options).method == &drift_method("ks"));
    const auto five = fit_feature(numeric_column("x", cycle({1, 2, 3, 4, 5}, 1000)), automatic, options);
    CHECK(five.method == &drift_method("chi2"));
    CHECK(five.categorical);
    CHECK(fit_feature(numeric_column("x", cycle({0, 1}, 500)), automatic, options).method == &drift_method("z"));
    CHECK(fit_feature(text_column("c", cycle_text({"a", "b", "c"}, 500)), automatic, options).method ==
          &drift_method("chi2"));
    CHECK(fit_feature(text_column("c", cycle_text({"no", "yes"}, 500)), automatic, options).method == &drift_method("z"));
    // Larger references: distances.
    const auto wide = fit_feature(numeric_column("x", mw::testing::normal_sample(1001, 0, 1, 2)), automatic, options);
    CHECK(wide.method == &drift_method("wasserstein"));
    CHECK(wide.threshold == 0.1);
    CHECK(fit_feature(numeric_column("x", cycle({1, 2, 3, 4, 5}, 2000)), automatic, options).method ==
          &drift_method("jensenshannon"));
    CHECK(fit_feature(text_column("c", cycle_text({"a", "b"}, 2000)), automatic, options).method ==
          &drift_method("jensenshannon"));
    // Six distinct values are numeric.
    CHECK(fit_feature(numeric_column("x", cycle({1, 2, 3, 4, 5, 6}, 600)), automatic, options).method ==
          &drift_method("ks"));
}

TEST_CASE("auto method in robust mode keeps the tests on large references", "[drift][feature]") {
    const DriftOptions robust;
    const FeatureMethodChoice automatic;
    CHECK(fit_feature(numeric_column("x", mw::testing::normal_sample(5000, 0, 1, 3)), automatic, robust).method == &drift_method("ks"));
    CHECK(fit_feature(text_column("c", cycle_text({"a", "b", "c"}, 5000)), automatic, robust).method ==
          &drift_method("chi2"));
    CHECK(fit_feature(text_column("c", cycle_text({"a", "b"}, 5000)), automatic, robust).method == &drift_method("z"));
}

TEST_CASE("in robust mode a column's kind is its type, never its number of distinct values", "[drift][feature]") {
    const DriftOptions robust;
    const FeatureMethodChoice automatic;
    for (const std::vector<double>& levels : {std::vector<double>{0, 1}, {1, 2, 3, 4, 5}, {0.003467}}) {
        const auto fitted = fit_feature(numeric_column("x", cycle(levels, 600)), automatic, robust);
        CHECK(fitted.method == &drift_method("ks"));
        CHECK_FALSE(fitted.categorical);
    }
    // Elec2's vicprice: constant in the reference, varying in the current
    // window. Compared as numbers, with the constant reference reported.
    const auto result = run_one(numeric_column("vicprice", std::vector<double>(500, 0.003467)),
                                numeric_column("vicprice", cycle({0.003467, 0.0021, 0.0045}, 300)), robust);
    REQUIRE(result.ok());
    CHECK_FALSE(result.categorical);
    CHECK(result.reference_distinct == 1);
    REQUIRE(result.reference_quantiles.size() == std::size(report_quantile_levels));
    CHECK(result.reference_quantiles[2] == 0.003467);
    CHECK(result.current_quantiles[0] == Approx(0.0021));
    CHECK(result.current_quantiles[4] == Approx(0.0045));
    CHECK(result.bin_labels.front() != "(unseen)");
}

TEST_CASE("forced methods and thresholds; impossible choices are errors", "[drift][feature]") {
    const DriftOptions options;
    const auto psi = fit_feature(numeric_column("x", mw::testing::normal_sample(100, 0, 1, 4)), {&drift_method("psi"), 0.25}, options);
    CHECK(psi.method == &drift_method("psi"));
    CHECK(psi.threshold == 0.25);
    CHECK(psi.psi_edges.size() == 9);
    CHECK(fit_feature(text_column("c", cycle_text({"a", "b"}, 10)), {&drift_method("ks"), {}}, options).error ==
          "method ks needs a numeric column");
    CHECK(fit_feature(text_column("c", cycle_text({"a", "b", "c"}, 9)), {&drift_method("z"), {}}, options).error ==
          "method z needs a binary column, the reference has 3 distinct values");
    CHECK(fit_feature(numeric_column("x", {NAN, NAN}), {}, options).error == "no reference values (all missing)");
    // KS forced on a numeric column with few values compares the values, not categories.
    CHECK_FALSE(fit_feature(numeric_column("x", cycle({0, 1, 2}, 30)), {&drift_method("ks"), {}}, options).categorical);
}

TEST_CASE("statistics and p-values are those of stats/ on the same data", "[drift][feature]") {
    const auto options = legacy();
    const auto ref = mw::testing::normal_sample(800, 0, 1, 5);
    auto cur = mw::testing::normal_sample(700, 0.2, 1.1, 6);
    cur.push_back(NAN);  // a missing value is dropped and counted
    const std::vector<double> cur_values(cur.begin(), cur.end() - 1);

    const auto ks = run_one(numeric_column("x", ref), numeric_column("x", cur), options, {&drift_method("ks"), {}});
    const auto expected_ks = mw::stats::ks_2samp(ref, cur_values);
    CHECK(ks.statistic == expected_ks.statistic);
    CHECK(*ks.p_value == expected_ks.p_value);
    CHECK(ks.current_missing == 1);
    CHECK(ks.current_rows == 700);
    CHECK(ks.drifted == (expected_ks.p_value < 0.05));

    const auto w = run_one(numeric_column("x", ref), numeric_column("x", cur), options, {&drift_method("wasserstein"), {}});
    CHECK(w.statistic == Approx(mw::stats::normalized_wasserstein_distance(ref, cur_values).value).epsilon(1e-12));
    CHECK(w.effect_size == w.statistic);
    CHECK_FALSE(w.p_value.has_value());

    const auto psi = run_one(numeric_column("x", ref), numeric_column("x", cur), options, {&drift_method("psi"), {}});
    CHECK(psi.statistic == Approx(mw::stats::psi_numeric(ref, cur_values).value).epsilon(1e-12));

    // chi2 on categories: the 2 x K table of counts.
    const auto cat_ref = cycle_text({"a", "a", "b", "c"}, 400);  // a 200, b 100, c 100
    const auto cat_cur = cycle_text({"a", "b", "c"}, 300);       // 100 each
    const auto chi = run_one(text_column("c", cat_ref), text_column("c", cat_cur), options);
    REQUIRE(chi.method == &drift_method("chi2"));
    const std::vector<double> table{200, 100, 100, 100, 100, 100};
    const auto expected_chi = mw::stats::chi2_contingency(table, 2, 3);
    CHECK(chi.statistic == expected_chi.statistic);
    CHECK(*chi.p_value == expected_chi.p_value);
    const std::vector<double> r{200, 100, 100}, c{100, 100, 100};
    CHECK(chi.effect_size == Approx(mw::stats::jensen_shannon_distance(r, c).value).epsilon(1e-12));
}

TEST_CASE("categories never seen in the reference go to an explicit unseen bin", "[drift][feature]") {
    const auto options = legacy();
    const auto ref = text_column("c", cycle_text({"a", "b"}, 1000));
    const auto cur = text_column("c", cycle_text({"a", "b", "zeta", "zeta", "omega", ""}, 600));
    for (auto method : {&drift_method("chi2"), &drift_method("psi"), &drift_method("kl"), &drift_method("jensenshannon"),
                        &drift_method("hellinger"), &drift_method("tvd")}) {
        INFO(to_string(method));
        const auto result = run_one(ref, cur, options, {method, {}});
        REQUIRE(result.ok());
        CHECK(std::isfinite(result.statistic));
        CHECK(result.drifted);
        REQUIRE(result.unseen_categories.size() == 2);
        CHECK(result.unseen_categories[0].value == "zeta");
        CHECK(result.unseen_categories[0].count == 200);
        CHECK(result.unseen_categories[1].value == "omega");
        CHECK(result.unseen_categories[1].count == 100);
        CHECK(result.current_missing == 100);
        CHECK(result.bin_labels.back() == "(unseen)");
        CHECK(result.reference_shares.back() == 0.0);
    }
    // PSI on one column per category (omega and zeta apart), as Evidently bins categories.
    const std::vector<double> r{500, 500, 0, 0}, c{100, 100, 100, 200};
    CHECK(run_one(ref, cur, options, {&drift_method("psi"), {}}).statistic ==
          Approx(mw::stats::psi(r, c, options.psi_epsilon).value).epsilon(1e-12));
    // Many unseen values: the most frequent are named, all are counted.
    std::vector<std::string> many = cycle_text({"a", "b"}, 100);
    for (int i = 0; i < 50; ++i) many.push_back("new" + std::to_string(i));
    many.push_back("new7");
    const auto capped = run_one(ref, text_column("c", many), options, {&drift_method("jensenshannon"), {}});
    CHECK(capped.unseen_distinct == 50);
    CHECK(capped.unseen_rows == 51);
    REQUIRE(capped.unseen_categories.size() == max_reported_unseen);
    CHECK(capped.unseen_categories[0].value == "new7");
    CHECK(capped.unseen_categories[0].count == 2);
    // The unseen share in the z-test is counted with the failures and still named.
    const auto z = run_one(ref, cur, options, {&drift_method("z"), {}});
    REQUIRE(z.ok());
    CHECK(std::isfinite(z.statistic));
    CHECK(z.unseen_categories.size() == 2);
}

// Vectors from scripts/gen_stats_vectors.py: scipy's chi2_contingency on the
// table with one column per category, every unseen category its own column.
TEST_CASE("chi2 on categories matches scipy's chi2_contingency, one column per unseen category", "[drift][feature]") {
    std::ifstream in(std::string(MODELWATCH_SOURCE_DIR) + "/tests/detectors/vectors/drift_chi2_categories.json");
    REQUIRE(in);
    const auto vectors = nlohmann::json::parse(in);
    REQUIRE(vectors.at("cases").size() >= 20);
    for (const auto& c : vectors.at("cases")) {
        INFO(c.at("name").get<std::string>());
        auto expand = [](const nlohmann::json& counts) {
            std::vector<std::string> values;
            for (const auto& [category, n] : counts.items())
                values.insert(values.end(), n.get<std::size_t>(), category);
            return values;
        };
        const auto result = run_one(text_column("c", expand(c.at("reference"))),
                                    text_column("c", expand(c.at("current"))), legacy(), {&drift_method("chi2"), {}});
        REQUIRE(result.ok());
        CHECK(result.statistic == Approx(c.at("statistic").get<double>()).epsilon(1e-9).margin(1e-12));
        const double p = c.at("p_value").get<double>();
        // The brief's p-value criterion: 1e-6 absolute or relative.
        CHECK(std::fabs(*result.p_value - p) <= std::max(1e-6 * std::fabs(p), 1e-6));
        CHECK(result.unseen_distinct == c.at("unseen_distinct").get<std::size_t>());
        CHECK(result.unseen_rows == c.at("unseen_rows").get<std::size_t>());
    }
}

TEST_CASE("Bonferroni and Benjamini-Hochberg against hand-computed values", "[drift][feature]") {
    const std::vector<double> p{0.01, 0.04, 0.03, 0.005};
    // Bonferroni: min(1, 4 p).
    const auto bonferroni = adjust_p_values(p, Correction::bonferroni);
    CHECK(bonferroni[0] == Approx(0.04));
    CHECK(bonferroni[1] == Approx(0.16));
    CHECK(bonferroni[2] == Approx(0.12));
    CHECK(bonferroni[3] == Approx(0.02));
    // BH: sorted 0.005, 0.01, 0.03, 0.04 -> 4p/j = 0.02, 0.02, 0.04, 0.04; running minimum from the top.
    const auto bh = adjust_p_values(p, Correction::benjamini_hochberg);
    CHECK(bh[0] == Approx(0.02));
    CHECK(bh[1] == Approx(0.04));
    CHECK(bh[2] == Approx(0.04));
    CHECK(bh[3] == Approx(0.02));
    // Step-up monotonicity: 0.2 at rank 4 of 4 stays 0.2; 3p/j for 0.012 (rank 2) = 0.024 > 0.018 of rank 3.
    const std::vector<double> q{0.2, 0.012, 0.018, 0.001, NAN};
    const auto bh2 = adjust_p_values(q, Correction::benjamini_hochberg);
    CHECK(bh2[0] == Approx(0.2));
    CHECK(bh2[1] == Approx(0.024));  // min(4*0.012/2, 4*0.018/3, 0.2) = min(0.024, 0.024, 0.2)
    CHECK(bh2[2] == Approx(0.024));
    CHECK(bh2[3] == Approx(0.004));
    CHECK(std::isnan(bh2[4]));
    CHECK(adjust_p_values({0.6, 0.7}, Correction::bonferroni) == std::vector<double>{1.0, 1.0});
    CHECK(adjust_p_values(p, Correction::none) == p);
}

TEST_CASE("the noise baseline is fitted once per window size and reproducible", "[drift][feature]") {
    const DriftOptions options;
    const auto fitted = fit_feature(numeric_column("x", mw::testing::normal_sample(2000, 0, 1, 7)), {}, options);
    NoiseBaselineCache cache;
    const NoiseBaseline& first = cache.get(fitted, 100, options);
    const NoiseBaseline& again = cache.get(fitted, 100, options);
    CHECK(&first == &again);
    CHECK(first.resamples == 50);
    CHECK(first.limit == first.mean + 3 * first.sd);
    const auto recomputed = compute_noise_baseline(fitted, 100, 50, 3.0, options.seed);
    CHECK(recomputed.mean == first.mean);
    // Smaller windows are noisier: W1 of a resample of n shrinks like 1/sqrt(n).
    const auto large = compute_noise_baseline(fitted, 1600, 50, 3.0, options.seed);
    CHECK(large.mean < first.mean / 2);
    CHECK(first.mean > 0.05);
}

TEST_CASE("large windows: a tiny shift flags plain KS but not the default mode; a real shift does",
          "[drift][feature]") {
    constexpr std::size_t n = 200'000;
    const auto reference = numeric_column("x", mw::testing::normal_sample(n, 10, 1, 11));
    // A 0.5% multiplicative shift of a N(10, 1) variable: +0.05 sd in the mean.
    auto tiny_values = mw::testing::normal_sample(n, 10, 1, 12);
    for (auto& v : tiny_values) v *= 1.005;
    const auto tiny = numeric_column("x", tiny_values);

    DriftOptions plain = legacy();
    const auto plain_ks = run_one(reference, tiny, plain, {&drift_method("ks"), {}});
    CHECK(*plain_ks.p_value < 1e-10);
    CHECK(plain_ks.drifted);

    const DriftOptions robust;
    const auto robust_tiny = run_one(reference, tiny, robust);
    CHECK(robust_tiny.method == &drift_method("ks"));
    CHECK(robust_tiny.test_significant);  // the test alone would still flag it
    CHECK(robust_tiny.effect_size < robust.effect_floor);
    CHECK_FALSE(robust_tiny.drifted);
    REQUIRE(robust_tiny.noise.has_value());
    CHECK(robust_tiny.noise->sample_rows == n);

    auto shifted_values = mw::testing::normal_sample(n, 10.3, 1, 13);  // 0.3 sd
    const auto robust_shift = run_one(reference, numeric_column("x", shifted_values), robust);
    CHECK(robust_shift.effect_size > 0.25);
    CHECK(robust_shift.effect_size > robust_shift.noise->limit);
    CHECK(robust_shift.drifted);
}

TEST_CASE("small windows: the noise baseline suppresses an effect above the floor that is only noise",
          "[drift][feature]") {
    // 12 rows from the reference distribution: W1 noise at that size is about 0.3 sd,
    // above the 0.1 floor; a disabled noise gate lets the floor alone decide.
    const auto reference = numeric_column("x", mw::testing::normal_sample(5000, 0, 1, 21));
    DriftOptions options;
    options.correction = Correction::none;
    options.effect_floor = 0.0;
    const FittedFeature fitted = fit_feature(reference, {&drift_method("wasserstein"), 0.1}, options);
    NoiseBaselineCache cache;
    const auto& noise = cache.get(fitted, 12, options);
    CHECK(noise.mean > 0.15);
    const auto current = numeric_column("x", mw::testing::normal_sample(12, 0, 1, 22));
    std::vector<FeatureDriftResult> results{evaluate_feature(fitted, current, options)};
    REQUIRE(results[0].effect_size > 0.1);
    REQUIRE(results[0].effect_size < noise.limit);
    decide_drift(results, {&fitted}, {&cache}, options);
    CHECK(results[0].test_significant);
    CHECK_FALSE(results[0].drifted);
}

TEST_CASE("every statistic has a definition naming its conventions", "[drift][feature]") {
    const DriftOptions options;
    CHECK(statistic_definition(drift_method("wasserstein"), false, options).find("max(population sd") !=
          std::string::npos);
    CHECK(statistic_definition(drift_method("jensenshannon"), true, options).find("natural log") != std::string::npos);
    CHECK(statistic_definition(drift_method("psi"), false, options).find("epsilon = 0.0001") != std::string::npos);
    CHECK(statistic_definition(drift_method("psi"), false, options).find("10 bins") != std::string::npos);
    for (auto name : {"ks", "chi2", "z", "wasserstein", "psi", "jensenshannon", "hellinger", "tvd", "kl", "energy",
                      "anderson", "cvm", "ttest"}) {
        const auto* method = parse_drift_method(name);
        REQUIRE(method != nullptr);
        CHECK(std::string(to_string(method)) == name);
        CHECK_FALSE(statistic_definition(*method, false, options).empty());
    }
    CHECK(parse_drift_method("bogus") == nullptr);
}
