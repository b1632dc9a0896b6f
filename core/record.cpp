#include "core/record.h"

namespace mw {

const char* to_string(FeatureType type) {
    switch (type) {
        case FeatureType::numeric: return "numeric";
        case FeatureType::categorical: return "categorical";
        case FeatureType::boolean: return "boolean";
    }
    return "?";
}

const char* to_string(PredictionType type) {
    switch (type) {
        case PredictionType::binary: return "binary";
        case PredictionType::multiclass: return "multiclass";
        case PredictionType::regression: return "regression";
        case PredictionType::score: return "score";
    }
    return "?";
}

const char* to_string(RecordKind kind) {
    switch (kind) {
        case RecordKind::prediction: return "prediction";
        case RecordKind::outcome: return "outcome";
    }
    return "?";
}

int ModelSchema::feature_index(std::string_view feature_name) const {
    for (std::size_t i = 0; i < features.size(); ++i)
        if (features[i].name == feature_name) return static_cast<int>(i);
    return -1;
}

}  // namespace mw
