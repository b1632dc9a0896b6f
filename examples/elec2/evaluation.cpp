#include "examples/elec2/evaluation.h"

#include <algorithm>
#include <cmath>

namespace mw::elec2 {

Metrics score_probabilities(const std::vector<double>& up_probabilities, const std::vector<bool>& up_labels) {
    Metrics metrics;
    metrics.rows = up_probabilities.size();
    if (metrics.rows == 0) return metrics;
    // The clipping bound of sklearn.metrics.log_loss (eps=1e-15 in scikit-learn 1.2).
    constexpr double eps = 1e-15;
    double correct = 0, log_loss = 0, brier = 0;
    for (std::size_t i = 0; i < metrics.rows; ++i) {
        const double p = up_probabilities[i];
        const double y = up_labels[i] ? 1.0 : 0.0;
        if ((p >= 0.5) == up_labels[i]) correct += 1;
        const double clipped = std::clamp(p, eps, 1 - eps);
        log_loss -= y * std::log(clipped) + (1 - y) * std::log(1 - clipped);
        brier += (p - y) * (p - y);
    }
    const double n = static_cast<double>(metrics.rows);
    metrics.accuracy = correct / n;
    metrics.log_loss = log_loss / n;
    metrics.brier = brier / n;
    return metrics;
}

Metrics evaluate(const LogisticModel& model, const std::vector<LabelledRow>& rows) {
    std::vector<double> probabilities;
    std::vector<bool> labels;
    probabilities.reserve(rows.size());
    labels.reserve(rows.size());
    for (const auto& row : rows) {
        probabilities.push_back(predict_up_probability(model, row.features));
        labels.push_back(row.up);
    }
    return score_probabilities(probabilities, labels);
}

nlohmann::json to_json(const Metrics& metrics) {
    return {{"rows", metrics.rows},
            {"accuracy", metrics.accuracy},
            {"log_loss", metrics.log_loss},
            {"brier", metrics.brier}};
}

}  // namespace mw::elec2
