// Data quality of one window of predictions against a reference: per declared
// feature the missing rate, values of the wrong JSON type, numbers outside the
// reference's range, categories never seen in the reference, reference
// categories that vanished, a feature that became constant, a feature that is
// constant in the reference itself; for the window the
// undeclared features, declared features that never carry a value, rows that
// are not objects, and duplicate prediction ids.
//
// Input rows are the `features` jsonb of the predictions table, parsed with
// nlohmann::json (one JSON object per prediction), with the ModelSchema that
// declares the features. The store writes every declared feature, null when
// it was absent, so absent and null are the same thing here: missing.
// A value's type follows the ingest parser (collectors/ingest_parser.h):
//   numeric      a finite number
//   boolean      true or false
//   categorical  a string, or an integer (an integral double up to 2^53 counts
//                as that integer), compared as its decimal text
// anything else (a string in a numeric feature, an object, ...) is a type
// error: neither missing nor a valid value.
//
// Pure computation, no I/O: the caller reads the rows and stores the report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/finding.h"
#include "core/record.h"

namespace mw::quality {

// What a reference keeps of one declared feature.
struct FeatureReference {
    std::string name;
    FeatureType type = FeatureType::numeric;
    std::size_t rows = 0;         // every reference row
    std::size_t missing = 0;      // absent or null
    std::size_t type_errors = 0;  // present with the wrong JSON type
    std::size_t distinct_values = 0;
    // Numeric features with at least one valid value: the range, and the
    // quantiles at QualityReference::range_quantile and 1 - range_quantile
    // (numpy.quantile's default "linear" method).
    double min = 0;
    double max = 0;
    double quantile_low = 0;
    double quantile_high = 0;
    // Categorical and boolean features ("true"/"false"): count per category.
    std::map<std::string, std::size_t, std::less<>> categories;

    std::size_t valid() const { return rows - missing - type_errors; }
    double missing_rate() const;
};

struct QualityReference {
    std::size_t rows = 0;
    double range_quantile = 0.001;
    std::vector<FeatureReference> features;  // in schema order

    const FeatureReference* find(std::string_view name) const;
};

// Fits the reference of every feature `schema` declares from `rows` (feature
// objects; a row that is not an object counts as missing every feature).
// `range_quantile` (clamped into [0, 0.5], NaN read as 0) sets the quantile
// range kept beside [min, max].
QualityReference fit_quality_reference(const ModelSchema& schema, const std::vector<nlohmann::json>& rows,
                                       double range_quantile = 0.001);

// A stable JSON text for storing a reference, and its inverse. Parsing checks
// every field and names the first one at fault ("features[2].categories: ...").
std::string to_json(const QualityReference& reference);

struct QualityReferenceParse {
    std::optional<QualityReference> reference;
    std::string error;

    bool ok() const { return error.empty(); }
};
QualityReferenceParse parse_quality_reference(std::string_view text);

// Thresholds of the checks: a check triggers when its statistic passes the
// threshold in the direction given. The defaults are those of issue 4.
struct DataQualityOptions {
    // missing_rate: triggered when window rate - reference rate > this.
    double missing_rate_increase = 0.05;
    // type_error_rate: type errors / rows; triggered when > this.
    double type_error_rate = 0.0;
    // out_of_range_share: valid numbers outside the reference range / valid
    // numbers; triggered when > this. The range is [min, max], or
    // [quantile_low, quantile_high] when use_quantile_range is set.
    double out_of_range_share = 0.01;
    bool use_quantile_range = false;
    // new_category_share: valid values in categories absent from the
    // reference / valid values; triggered when > this.
    double new_category_share = 0.01;
    // vanished_categories: reference categories with a share >= this that the
    // window does not contain; triggered when their number > max_vanished.
    double vanished_min_reference_share = 0.01;
    std::size_t max_vanished_categories = 0;
    // A category only counts as vanished when the window is big enough to
    // expect it: reference share * valid window values >= this. Without this a
    // 1% category is absent from a 50-row window by chance 60% of the time.
    double vanished_min_expected_count = 5.0;
    // constant_feature: one distinct valid value in the window while the
    // reference had more than one; constant_reference: one distinct valid
    // value in the reference (triggered on every window until it is reset).
    bool check_constant = true;
    // undeclared_feature: rows carrying a feature the schema does not declare;
    // triggered when > this. One check per name, the most frequent
    // max_reported_values names (the metrics count all of them).
    std::size_t max_undeclared_rows = 0;
    // duplicate_ids: rows whose id occurred earlier in the window; triggered when > this.
    std::size_t max_duplicate_ids = 0;
    // Names (categories, ids, features) listed in the evidence of one check.
    std::size_t max_reported_values = 20;
};

// One evaluated check. `feature` is empty for checks of the whole window.
struct QualityCheck {
    std::string feature;
    std::string check;  // missing_rate, type_error_rate, out_of_range_share, ...
    double statistic = 0;
    double threshold = 0;
    bool triggered = false;
    nlohmann::json evidence = nlohmann::json::object();

    // "<feature>:<check>", or the check alone for the whole window.
    std::string subject() const;
};

// A plain number for storage and export, whether or not any check triggered.
// Feature names here are declared ones only, so metric labels stay bounded.
struct QualityMetric {
    std::string name;
    std::string feature;  // empty for the whole window
    double value = 0;
};

struct QualityReport {
    std::size_t rows = 0;
    std::vector<QualityCheck> checks;
    std::vector<QualityMetric> metrics;

    const QualityCheck* find(std::string_view feature, std::string_view check) const;
    std::optional<double> metric(std::string_view name, std::string_view feature = {}) const;
};

// Evaluates one window. `ids` are the prediction ids parallel to `rows`
// (empty: the duplicate check is skipped). Features `schema` declares but
// `reference` lacks, or with another type there, get only the checks that
// need no reference (type errors, declared feature absent). An empty window
// gives a report with rows = 0 and no checks.
QualityReport evaluate_quality(const QualityReference& reference, const ModelSchema& schema,
                               const std::vector<nlohmann::json>& rows, const std::vector<std::string>& ids,
                               const DataQualityOptions& options);

// Findings of kind "data_quality" (core/finding.h), one per check: subject
// "<feature>:<check>", method = the check, severity warning when triggered
// and info otherwise (so the alert router can resolve).
std::vector<Finding> to_findings(const QualityReport& report, const std::string& model, std::int64_t window_start_us,
                                 std::int64_t window_end_us);

}  // namespace mw::quality
