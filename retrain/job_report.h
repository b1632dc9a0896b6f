// The report a training job hands back (docs/retraining.md): written by an
// exec job to $MODELWATCH_REPORT, or POSTed by an external system to
// /v1/jobs/{id}/report. Both paths use parse_job_report, so the contract is
// checked in one place:
//
//   {"version": 1,
//    "challenger_version": "2024-06-01.1",
//    "artifact": "s3://models/churn/2024-06-01.1" (a path or URI),
//    "metrics": {"accuracy": 0.81, ...},           the challenger on the holdout
//    "champion_metrics": {"accuracy": 0.74, ...},  the champion on the same holdout
//    "fairness": {"passed": true, "details": {...}}  (optional)}
//
// Unknown top-level keys are allowed (a trainer may add its own notes).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mw::retrain {

// A report larger than this is rejected unread: it is a summary, not data.
inline constexpr std::size_t max_job_report_bytes = 1 << 20;
// Deeper nesting is rejected before parsing: the report is kept by writing
// it back out, and that recurses once per level (core/json_nesting.h).
inline constexpr std::size_t max_job_report_depth = 64;

struct JobReport {
    std::string challenger_version;
    std::string artifact;
    std::map<std::string, double> metrics;           // at least one, all finite
    std::map<std::string, double> champion_metrics;  // may be empty (first model); all finite
    std::optional<bool> fairness_passed;             // absent when the job reported no fairness check
    std::string fairness_details_json = "{}";        // a JSON object
    std::string json;                                // the report as received, for retrain_jobs.report
};

struct JobReportParse {
    std::optional<JobReport> report;
    // Empty when `report` is set; otherwise names the field and what is wrong,
    // e.g. "metrics.accuracy: expected a finite number, got \"high\"".
    std::string error;
};

JobReportParse parse_job_report(std::string_view text);

}  // namespace mw::retrain
