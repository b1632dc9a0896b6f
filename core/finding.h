// A finding is what a detector concluded about one window of one model: the
// value handed to the alert router and the retrain policy, and stored as is.
#pragma once

#include <cstdint>
#include <string>

namespace mw {

enum class Severity { info, warning, critical };
const char* to_string(Severity);

struct Finding {
    std::string model;
    std::string kind;     // "feature_drift", "dataset_drift", "concept_drift", "performance", ...
    std::string subject;  // feature, segment or metric name; empty for the whole model
    std::string method;   // "ks", "psi", "adwin", ...
    double statistic = 0;
    double threshold = 0;
    double p_value = -1;  // negative when the method has none
    bool triggered = false;
    Severity severity = Severity::warning;
    std::int64_t window_start_us = 0;
    std::int64_t window_end_us = 0;
    std::string evidence_json = "{}";  // method-specific details, a JSON object
};

}  // namespace mw
