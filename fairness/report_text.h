// Wording shared by the HTML and Markdown reports: numbers as people read
// them, the audit's overall status, and a plain-language sentence for each
// disparity, so both formats say the same thing the same way.
#pragma once

#include <string>

#include "fairness/audit.h"

namespace mw::fairness {

enum class AuditStatus { pass, review, fail };
// fail: some gap is beyond tolerance and statistically clear; review: some gap
// is beyond tolerance but not clearly; pass otherwise.
AuditStatus audit_status(const VerdictCounts& counts);
const char* to_string(AuditStatus status);  // "pass", "review", "fail"

std::string format_percent(double rate);  // "37.2%", "n/a" for NaN
std::string format_ratio(double ratio);   // "0.83", "n/a"
std::string format_signed_points(double difference);  // "+4.1 pp", "n/a"
std::string format_judged(const DisparityValue& value);  // the judged value: ratio or points
std::string format_judged_interval(const DisparityValue& value);  // "0.80-0.91", "not computed"
std::string format_band(const DisparityValue& value);  // "0.80 to 1.25", "at most 10.0 pp"
std::string verdict_phrase(Verdict verdict);  // "within tolerance", ...

// Plain sentences on what a disparity means and its verdict, naming the group
// and the grouping's reference group (or, for a between-groups value, whose
// `group` is empty, the grouping).
std::string explain(const DisparityValue& value, const GroupingResult& grouping);

}  // namespace mw::fairness
