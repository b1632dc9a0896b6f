// One fairness audit: groups the rows by each sensitive attribute and by
// their intersection, computes group metrics, disparities with bootstrap
// intervals, and verdicts. A pure function of its input, so the offline CLI
// and the daemon's scheduled audits produce the same numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fairness/audit_data.h"
#include "fairness/bootstrap.h"
#include "fairness/data_bias.h"
#include "fairness/disparities.h"
#include "fairness/group_metrics.h"

namespace mw::fairness {

struct AuditOptions {
    std::vector<std::string> sensitive_attributes;
    // attribute -> value of the reference group; attributes without one use
    // the largest eligible group. An intersection uses the configured values
    // when every one of its attributes has one.
    std::map<std::string, std::string> reference_values;
    bool intersections = true;  // also audit the intersection of all attributes
    // Also suppress the groups that would let a reader recover a small one by
    // subtraction (fairness/suppression.h). Off only to compare the metrics
    // with a reference implementation that knows no such rule.
    bool complementary_suppression = true;
    GroupMetricsOptions metrics;
    Tolerance tolerance;
    BootstrapOptions bootstrap;
};

// Where the audited rows came from, stated in every report.
struct DataWindow {
    std::string source;       // "adult_predictions.csv" or "model credit, joined records"
    std::string description;  // "all rows of the file" or "2026-11-18T00:00Z to 2026-11-25T00:00Z"
    std::uint64_t rows = 0;
    std::uint64_t rows_rejected = 0;
    std::string positive_label;
};

struct GroupingResult {
    std::vector<std::string> attributes;
    std::vector<GroupMetrics> groups;
    GroupingDisparities disparities;
};

// One past audit's between-groups judged values, for the trend chart.
struct HistoryPoint {
    std::string label;  // when the audit ran, as people read it
    std::string grouping;  // attributes joined by " x "
    DisparityMetric metric = DisparityMetric::demographic_parity;
    double judged_value = 0;
};

struct AuditResult {
    std::string model;
    std::string generated_at;  // RFC 3339, UTC
    AuditOptions options;
    DataWindow window;
    bool has_scores = false;
    GroupMetrics overall;
    std::vector<GroupingResult> groupings;
    std::vector<HistoryPoint> history;
    // Representation and label balance against a reference window, when one is given.
    std::vector<RepresentationShift> representation;
};

struct AuditRun {
    AuditResult result;
    std::string error;  // empty on success; otherwise what was wrong, e.g. an unknown reference group
    bool ok() const { return error.empty(); }
};

AuditRun run_audit(const AuditData& data, const AuditOptions& options);

// "sex" or "sex x race".
std::string grouping_name(const std::vector<std::string>& attributes);

struct VerdictCounts {
    std::size_t within = 0;
    std::size_t beyond_clear = 0;
    std::size_t beyond_unclear = 0;
    std::size_t not_evaluable = 0;
};
// Counts the verdicts of the between-groups and to-reference values of every grouping.
VerdictCounts count_verdicts(const AuditResult& result);

}  // namespace mw::fairness
