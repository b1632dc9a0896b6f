#include "detectors/anomaly_registry.h"

#include "detectors/anomaly_contextual.h"
#include "detectors/anomaly_ensemble.h"
#include "detectors/anomaly_robust.h"
#include "detectors/anomaly_windowed_gaussian.h"

namespace mw::anomaly {

namespace {

constexpr AnomalyMethod method_table[] = {
    {{"ensemble", "the larger of the robust and contextual detectors' scores, each with its defaults",
      EnsembleDetector::options},
     EnsembleDetector::make},
    {{"robust", "robust residuals of the best of level, previous-value, daily and weekly baselines",
      RobustDetector::options, RobustDetector::check},
     RobustDetector::make},
    {{"contextual", "novelty of the next value level after the last few (context model as CAD OSE), by anomaly likelihood",
      ContextualDetector::options},
     ContextualDetector::make},
    {{"windowed_gaussian", "NAB's windowed-Gaussian baseline, as published (a reference for the benchmark)",
      WindowedGaussianDetector::options},
     WindowedGaussianDetector::make},
};

}  // namespace

std::span<const AnomalyMethod> anomaly_methods() { return method_table; }

AnomalyDetectorResult make_anomaly_detector(std::string_view method_name, std::span<const std::string> assignments) {
    const AnomalyMethod* method = config::find_component(anomaly_methods(), method_name);
    if (method == nullptr) return {nullptr, config::unknown_component("anomaly detector", method_name, anomaly_methods())};
    auto parsed = config::configure(method->info, assignments);
    if (!parsed.ok()) return {nullptr, config::joined(parsed.errors)};
    return {method->make(parsed.settings), {}};
}

}  // namespace mw::anomaly
