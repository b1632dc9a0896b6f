#include "daemon/detector_options.h"

#include <stdexcept>

namespace mw::daemon {

drift::DriftOptions drift_options(const config::DriftConfig& config) {
    drift::DriftOptions options;
    // The mode and the correction were checked against their registries when the configuration was loaded.
    const auto mode = drift::parse_drift_mode(config.mode);
    if (!mode) throw std::logic_error("unregistered drift mode " + config.mode);
    options.mode = *mode;
    // Method names were checked when the configuration was loaded.
    options.default_choice.method = drift::parse_drift_method(config.method);
    options.default_choice.threshold = config.threshold;
    for (const auto& feature : config.features)
        options.per_feature[feature.name] = {
            drift::parse_drift_method(feature.method), feature.threshold};
    const auto correction = drift::parse_correction(config.correction);
    if (!correction) throw std::logic_error("unregistered correction " + config.correction);
    options.correction = *correction;
    options.effect_floor = config.effect_floor;
    options.noise_resamples = config.noise_resamples;
    options.drift_share = config.drift_share;
    return options;
}

performance::PerformanceSpec performance_spec(const config::ModelOptions& options, const std::string& segment) {
    performance::PerformanceSpec spec;
    const auto& schema = options.schema;
    spec.task = schema.prediction_type == PredictionType::regression ? performance::Task::regression
                                                                      : performance::Task::classification;
    spec.positive_class = !options.performance.positive_class.empty() ? options.performance.positive_class
                          : !schema.classes.empty()                   ? schema.classes.front()
                                                                      : std::string("1");
    spec.classes = schema.classes;
    spec.segment_name = segment;
    return spec;
}

std::vector<performance::MetricThreshold> metric_thresholds(const config::PerformanceConfig& config) {
    std::vector<performance::MetricThreshold> thresholds;
    for (const auto& configured : config.thresholds) {
        performance::MetricThreshold threshold;
        threshold.metric = configured.metric;
        threshold.lower = configured.min;
        threshold.upper = configured.max;
        threshold.max_drop = configured.max_drop;
        threshold.reference_band = configured.band_sd > 0;
        threshold.band_k = configured.band_sd;
        thresholds.push_back(std::move(threshold));
    }
    return thresholds;
}

}  // namespace mw::daemon
