#include "config/config.h"

#include <algorithm>

namespace mw::config {

const ModelOptions* Config::find_model(std::string_view name) const {
    for (const auto& model : models)
        if (model.schema.name == name) return &model;
    return nullptr;
}

bool operator==(const ModelOptions& a, const ModelOptions& b) {
    // The schema is core vocabulary without a comparison of its own. A member
    // added to ModelOptions must be added here, or a reload changing it is ignored.
    const auto& x = a.schema;
    const auto& y = b.schema;
    const bool same_features = std::equal(
        x.features.begin(), x.features.end(), y.features.begin(), y.features.end(),
        [](const FeatureSpec& f, const FeatureSpec& g) { return f.name == g.name && f.type == g.type; });
    return x.name == y.name && same_features && x.prediction_type == y.prediction_type &&
           x.attributes == y.attributes && x.classes == y.classes && x.privacy == y.privacy && a.tokens == b.tokens &&
           a.reference == b.reference && a.window == b.window && a.drift == b.drift &&
           a.performance == b.performance && a.concept_drift == b.concept_drift && a.anomaly == b.anomaly &&
           a.retrain == b.retrain && a.audits == b.audits && a.store_raw == b.store_raw;
}

}  // namespace mw::config
