// The anomaly detectors by name, each with its table of numeric options
// (key, default, range, help), so configuration and `--param k=v` are
// validated in one place and `modelwatch anomaly --help` is generated from it.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detectors/anomaly_detector.h"

namespace mw::anomaly {

struct AnomalyOption {
    std::string_view key;
    double default_value;
    double min_value;  // inclusive
    double max_value;  // inclusive
    bool integer;      // a count: the value must be a whole number
    std::string_view help;
};

// Every option of a method, filled with its default unless set; only the
// registry builds these, after validating each value against its row.
class AnomalyParams {
public:
    explicit AnomalyParams(std::map<std::string, double, std::less<>> values) : values_(std::move(values)) {}
    double get(std::string_view key) const;  // throws std::out_of_range for a key the table lacks (a bug)

private:
    std::map<std::string, double, std::less<>> values_;
};

struct AnomalyMethod {
    std::string_view name;
    std::string_view help;
    std::span<const AnomalyOption> options;
    // Checks between options that one row cannot express; empty when fine.
    std::string (*check)(const AnomalyParams& params);
    std::unique_ptr<AnomalyDetector> (*make)(const AnomalyParams& params);
};

// The methods, in the order `--help` lists them; the first is the default.
std::span<const AnomalyMethod> anomaly_methods();

struct AnomalyDetectorResult {
    std::unique_ptr<AnomalyDetector> detector;  // null when `error` is set
    std::string error;                          // names the method or option at fault
};

// Builds `method` with `settings` (key, value-as-text) over its defaults.
AnomalyDetectorResult make_anomaly_detector(std::string_view method,
                                            const std::vector<std::pair<std::string, std::string>>& settings);

}  // namespace mw::anomaly
