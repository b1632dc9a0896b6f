#include "core/finding_kinds.h"

#include <stdexcept>

#include <fmt/format.h>

namespace mw {

namespace {

// feature_drift is summed up by dataset_drift, so it alerts only when named;
// segment_drift, prediction_drift and label_drift are evidence beside the
// kinds that page (dataset_drift, performance), so they alert only when named too.
constexpr FindingKind kinds[] = {
    {"feature_drift", "window close", "feature, or `feature[attr=value]` per segment", "`detectors/dataset_drift.cpp`",
     false},
    {"dataset_drift", "window close", "empty, or `[attr=value]`", "same", true},
    {"multivariate_drift", "window close", "empty (PCA reconstruction error)", "same", true},
    {"segment_drift", "window close", "`attr=value`, triggered when the segment drifts while the whole does not",
     "`detectors/segment_gaps.cpp`", false},
    {"prediction_drift", "window close", "`score`, `prediction`", "`daemon/window_detectors.cpp`", false},
    {"data_quality", "window close",
     "`feature:check`, or the check alone for `duplicate_ids` and `malformed_rows`", "`detectors/data_quality.cpp`",
     true},
    {"anomaly", "window close", "the operational series (below)", "`detectors/anomaly_*.cpp`", true},
    {"performance", "window close (CBPE, method `cbpe`) and once labelled (method `realised`)",
     "metric, or `metric[attr=value]`", "`detectors/performance_thresholds.cpp`", true},
    {"label_drift", "once labelled, when the reference has outcomes", "`label`", "`daemon/performance_judgement.cpp`", false},
    {"segment_gap", "once labelled",
     "`attr=value:prediction_rate` or `attr=value:accuracy`; method `too_small` when a side has fewer than 100 rows",
     "`detectors/segment_gaps.cpp`", true},
    {"concept_drift", "once labelled", "`error` (classification), `absolute_error` (regression)",
     "`detectors/{adwin,ddm,...}.cpp`", true},
    {"fairness", "each audit", "`metric group [reference]`", "`fairness/audit_runner.cpp`", true},
    {"retrain_breaker", "the retrain breaker opens", "empty", "`retrain/policy_store.cpp`", true},
};

}  // namespace

std::span<const FindingKind> finding_kinds() { return kinds; }

bool is_finding_kind(std::string_view name) {
    for (const auto& kind : kinds)
        if (kind.name == name) return true;
    return false;
}

std::string_view finding_kind(std::string_view name) {
    for (const auto& kind : kinds)
        if (kind.name == name) return kind.name;
    throw std::logic_error(fmt::format("finding kind \"{}\" is not in core/finding_kinds.cpp", name));
}

std::vector<std::string> default_alerting_kinds() {
    std::vector<std::string> names;
    for (const auto& kind : kinds)
        if (kind.alerts_by_default) names.emplace_back(kind.name);
    return names;
}

std::string finding_kind_table_markdown() {
    std::string text = "| kind | when | subject | source | alerts by default |\n|---|---|---|---|---|\n";
    for (const auto& kind : kinds)
        text += fmt::format("| `{}` | {} | {} | {} | {} |\n", kind.name, kind.when, kind.subject, kind.source,
                            kind.alerts_by_default ? "yes" : "no");
    return text;
}

}  // namespace mw
