#include <cmath>
#include <fstream>
#include <random>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "examples/elec2/elec2_data.h"
#include "examples/elec2/logistic_model.h"
#include "examples/elec2/tests/temporary_directory.h"

using namespace mw::elec2;

namespace {

// Rows whose labels follow a known logistic model in the raw features:
// logit p(UP) = intercept + sum coefficients[j] * x_j, x_j uniform on [0, 1).
std::vector<LabelledRow> synthetic_rows(std::size_t n, double intercept, const Features& coefficients) {
    std::mt19937_64 generator(20240501);  // std::mt19937_64's sequence is fixed by the standard
    auto uniform = [&] { return static_cast<double>(generator() >> 11) * 0x1.0p-53; };
    std::vector<LabelledRow> rows(n);
    for (auto& row : rows) {
        double z = intercept;
        for (std::size_t j = 0; j < feature_count; ++j) {
            row.features[j] = uniform();
            z += coefficients[j] * row.features[j];
        }
        row.up = uniform() < 1.0 / (1.0 + std::exp(-z));
    }
    return rows;
}

}  // namespace

TEST_CASE("the fit recovers the coefficients that generated the labels") {
    const Features truth = {2.0, -3.0, 1.5, 0.0, -1.0, 4.0, -2.5};
    const double intercept = -0.5;
    const auto rows = synthetic_rows(40000, intercept, truth);
    const LogisticModel model = fit_logistic_model(rows);

    // Back from standardised to raw coefficients: b_j = w_j / sd_j,
    // b_0 = w_0 - sum_j w_j mean_j / sd_j.
    double raw_intercept = model.weights[0];
    for (std::size_t j = 0; j < feature_count; ++j) {
        const double raw = model.weights[j + 1] / model.sds[j];
        raw_intercept -= raw * model.means[j];
        INFO("feature " << feature_names[j]);
        // The standard error of each coefficient here is about 0.06.
        CHECK(raw == Approx(truth[j]).margin(0.25));
    }
    CHECK(raw_intercept == Approx(intercept).margin(0.3));
}

TEST_CASE("the fit on the first 2000 Elec2 rows matches scipy's minimiser of the same objective") {
    std::ifstream in(std::string(MODELWATCH_SOURCE_DIR) + "/examples/elec2/tests/vectors/reference_fit.json");
    const auto reference = nlohmann::json::parse(in);
    const auto rows = load_elec2_stream(std::string(MODELWATCH_SOURCE_DIR) + "/data/elec2/elec2.csv.gz");
    REQUIRE(rows.ok());
    const std::vector<LabelledRow> training(rows.value.begin(), rows.value.begin() + reference["rows"].get<int>());
    FitOptions options;
    options.ridge = reference["ridge"].get<double>();
    const LogisticModel model = fit_logistic_model(training, options);
    for (std::size_t j = 0; j < feature_count; ++j) {
        CHECK(model.means[j] == Approx(reference["means"][j].get<double>()).epsilon(1e-12));
        CHECK(model.sds[j] == Approx(reference["sds"][j].get<double>()).epsilon(1e-12));
    }
    for (std::size_t j = 0; j <= feature_count; ++j)
        CHECK(model.weights[j] == Approx(reference["weights"][j].get<double>()).margin(1e-6));
    for (std::size_t i = 0; i < 5; ++i)
        CHECK(predict_up_probability(model, training[i].features) ==
              Approx(reference["probe_up_probabilities"][i].get<double>()).epsilon(1e-6));
}

TEST_CASE("a saved model loads back identical and predicts the same") {
    testing::TemporaryDirectory directory;
    LogisticModel model = fit_logistic_model(synthetic_rows(500, 0.3, {1, 2, 3, 4, 5, 6, 7}));
    model.version = "v1700000000-42";
    model.trained_on = {{"rows", 500}};
    const std::string path = directory.file("model.json");
    REQUIRE(save_model(model, path).empty());
    const auto loaded = load_model(path);
    REQUIRE(loaded.ok());
    CHECK(loaded.value.version == model.version);
    CHECK(loaded.value.trained_on == model.trained_on);
    CHECK(loaded.value.means == model.means);
    CHECK(loaded.value.sds == model.sds);
    CHECK(loaded.value.weights == model.weights);
    const Features probe = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7};
    CHECK(predict_up_probability(loaded.value, probe) == predict_up_probability(model, probe));
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("loading refuses files that are not a usable model") {
    testing::TemporaryDirectory directory;
    const std::string path = directory.file("model.json");
    LogisticModel model;
    model.version = "v1";
    model.sds.fill(1.0);
    nlohmann::json good = to_json(model);

    SECTION("missing file") { CHECK_FALSE(load_model(directory.file("absent.json")).ok()); }
    SECTION("not JSON") {
        testing::write_text(path, "{\"version\": ");
        CHECK(load_model(path).error == path + ": not valid JSON");
    }
    SECTION("too few weights") {
        good["weights"] = {1, 2, 3};
        testing::write_text(path, good.dump());
        CHECK(load_model(path).error == path + ": \"weights\" must be an array of 8 numbers");
    }
    SECTION("a zero standard deviation") {
        good["sds"][2] = 0;
        testing::write_text(path, good.dump());
        CHECK(load_model(path).error == path + ": \"sds\"[2] must be positive");
    }
    SECTION("other features") {
        good["features"][0] = "date";
        testing::write_text(path, good.dump());
        CHECK_FALSE(load_model(path).ok());
    }
    SECTION("no version") {
        good.erase("version");
        testing::write_text(path, good.dump());
        CHECK(load_model(path).error == path + ": \"version\" must be a non-empty string");
    }
    SECTION("the unchanged model loads") {
        testing::write_text(path, good.dump());
        CHECK(load_model(path).ok());
    }
}
