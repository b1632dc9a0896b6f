// The anomaly detectors by name (STYLE.md section 2): one explicit table of
// entries, each its name, summary, option table (config::SettingRow, the
// configuration's own row type) and factory, so the config loader, `--param
// k=v` and `modelwatch anomaly --help` validate and describe from one place.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "config/component.h"
#include "detectors/anomaly_detector.h"

namespace mw::anomaly {

struct AnomalyMethod {
    config::ComponentInfo info;
    std::unique_ptr<AnomalyDetector> (*make)(const config::Settings& settings);
};

// The methods, in the order `--help` lists them; the first is the default.
std::span<const AnomalyMethod> anomaly_methods();

struct AnomalyDetectorResult {
    std::unique_ptr<AnomalyDetector> detector;  // null when `error` is set
    std::string error;                          // names the method or option at fault
};

// Builds `method` from "key=value" assignments over its defaults.
AnomalyDetectorResult make_anomaly_detector(std::string_view method, std::span<const std::string> assignments);

}  // namespace mw::anomaly
