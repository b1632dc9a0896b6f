// How well a model predicts labelled rows: the figures a retraining gate
// compares between the challenger and the champion on the same holdout.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "examples/elec2/elec2_data.h"
#include "examples/elec2/logistic_model.h"

namespace mw::elec2 {

struct Metrics {
    std::size_t rows = 0;
    double accuracy = 0;  // share of rows where p(UP) >= 0.5 matches the label
    double log_loss = 0;  // sklearn.metrics.log_loss, probabilities clipped to [1e-15, 1 - 1e-15]
    double brier = 0;     // sklearn.metrics.brier_score_loss with UP as the positive class
};

// The metrics of probabilities p(UP) against labels; both of the same size, not empty.
Metrics score_probabilities(const std::vector<double>& up_probabilities, const std::vector<bool>& up_labels);

Metrics evaluate(const LogisticModel& model, const std::vector<LabelledRow>& rows);

nlohmann::json to_json(const Metrics& metrics);

}  // namespace mw::elec2
