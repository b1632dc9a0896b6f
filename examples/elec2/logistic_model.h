// Logistic regression on the Elec2 features: standardised inputs (means and
// population standard deviations of the training rows, as
// sklearn.preprocessing.StandardScaler), weights fitted by Newton's method
// (IRLS) with a small ridge, saved as JSON:
//   {"version": "...", "trained_on": {...}, "features": [...],
//    "means": [7], "sds": [7], "weights": [intercept, 7 coefficients]}
// where the coefficients apply to the standardised features.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "examples/elec2/elec2_data.h"
#include "examples/elec2/result.h"

namespace mw::elec2 {

struct LogisticModel {
    std::string version;
    nlohmann::json trained_on = nlohmann::json::object();  // free-form provenance
    Features means{};
    Features sds{};
    std::array<double, feature_count + 1> weights{};  // [0] is the intercept
};

struct FitOptions {
    // L2 penalty on every weight, as scripts/replay_elec2.py: it keeps the
    // Hessian invertible when a column is constant (vicprice is 0 for the
    // first months) and the weights finite when the classes are separable.
    double ridge = 1e-3;
    int max_iterations = 50;
    double tolerance = 1e-10;  // stop when the largest Newton step is below this
};

// Fits on the rows (at least one of each class is not required, but the
// caller should ensure it for a useful model). The version and provenance are
// left empty for the caller.
LogisticModel fit_logistic_model(const std::vector<LabelledRow>& rows, const FitOptions& options = {});

// p(UP | features).
double predict_up_probability(const LogisticModel& model, const Features& features);

nlohmann::json to_json(const LogisticModel& model);
Result<LogisticModel> model_from_json(const nlohmann::json& json);

// Writes the JSON to a temporary beside `path`, fsyncs it and renames it over
// `path`, so a reader sees the old model or the new one, never a mix.
// Returns "" on success, otherwise what failed.
std::string save_model(const LogisticModel& model, const std::string& path);
Result<LogisticModel> load_model(const std::string& path);

}  // namespace mw::elec2
