#include "detectors/segment_gaps.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stats/special_functions.h"

namespace mw::segments {

namespace {

struct Counts {
    std::size_t rows = 0;
    std::uint64_t positive = 0;
    std::uint64_t metric_trials = 0;
    std::uint64_t metric_successes = 0;
};

RateGap compare(std::string metric, std::uint64_t segment_successes, std::uint64_t segment_trials,
                std::uint64_t rest_successes, std::uint64_t rest_trials, const SegmentGapOptions& options, double z) {
    RateGap gap;
    gap.metric = std::move(metric);
    gap.segment_successes = segment_successes;
    gap.segment_trials = segment_trials;
    gap.rest_successes = rest_successes;
    gap.rest_trials = rest_trials;
    if (segment_trials < options.min_segment_rows || rest_trials < options.min_segment_rows || segment_trials == 0 ||
        rest_trials == 0) {
        gap.too_small = true;
        return gap;
    }
    gap.segment_rate = static_cast<double>(segment_successes) / static_cast<double>(segment_trials);
    gap.rest_rate = static_cast<double>(rest_successes) / static_cast<double>(rest_trials);
    gap.gap = gap.segment_rate - gap.rest_rate;
    gap.interval = newcombe_difference_interval(segment_successes, segment_trials, rest_successes, rest_trials, z);
    gap.excludes_zero = gap.interval.lower > 0 || gap.interval.upper < 0;
    gap.triggered = gap.excludes_zero && std::fabs(gap.gap) >= options.min_gap;
    return gap;
}

const std::string* attribute_value(const SegmentRow& row, const std::string& attribute) {
    for (const auto& [name, value] : row.attributes)
        if (name == attribute) return &value;
    return nullptr;
}

}  // namespace

double two_sided_z(double confidence) {
    if (!(confidence > 0 && confidence < 1)) return std::numeric_limits<double>::quiet_NaN();
    // Bisection on the normal cdf: it is monotone, and 200 halvings of
    // [0, 40] reach the resolution of a double.
    const double target = 0.5 + confidence / 2;
    double low = 0;
    double high = 40;
    for (int i = 0; i < 200 && high - low > 0; ++i) {
        const double middle = (low + high) / 2;
        if (stats::normal_cdf(middle) < target)
            low = middle;
        else
            high = middle;
    }
    return (low + high) / 2;
}

// Wilson (1927): the roots in p of (p_hat - p)^2 = z^2 p (1 - p) / n, i.e.
// centre (p_hat + z^2 / 2n) / (1 + z^2 / n) and half-width
// z sqrt(p_hat (1 - p_hat) / n + z^2 / 4n^2) / (1 + z^2 / n).
Interval wilson_interval(double successes, double trials, double z) {
    const double n = trials;
    const double p = successes / n;
    const double z2 = z * z;
    const double denominator = 1 + z2 / n;
    const double centre = (p + z2 / (2 * n)) / denominator;
    const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator;
    return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Interval newcombe_difference_interval(std::uint64_t successes1, std::uint64_t trials1, std::uint64_t successes2,
                                      std::uint64_t trials2, double z) {
    const double p1 = static_cast<double>(successes1) / static_cast<double>(trials1);
    const double p2 = static_cast<double>(successes2) / static_cast<double>(trials2);
    const Interval a = wilson_interval(static_cast<double>(successes1), static_cast<double>(trials1), z);
    const Interval b = wilson_interval(static_cast<double>(successes2), static_cast<double>(trials2), z);
    const double d = p1 - p2;
    return {d - std::hypot(p1 - a.lower, b.upper - p2), d + std::hypot(a.upper - p1, p2 - b.lower)};
}

const SegmentGapResult* SegmentGapReport::find(std::string_view attribute, std::string_view value) const {
    for (const auto& segment : segments)
        if (segment.attribute == attribute && segment.value == value) return &segment;
    return nullptr;
}

SegmentGapReport evaluate_segment_gaps(const std::vector<SegmentRow>& rows, const SegmentGapOptions& options) {
    SegmentGapReport report;
    report.rows = rows.size();
    report.confidence = options.confidence;
    report.min_gap = options.min_gap;
    report.min_segment_rows = options.min_segment_rows;
    report.metric_name = options.metric_name;
    const double z = two_sided_z(options.confidence);

    for (const auto& attribute : options.attributes) {
        std::map<std::string, Counts> by_value;
        Counts total;
        for (const auto& row : rows) {
            const std::string* value = attribute_value(row, attribute);
            if (value == nullptr) continue;
            for (Counts* counts : {&by_value[*value], &total}) {
                ++counts->rows;
                counts->positive += row.predicted_positive;
                if (row.metric_success) {
                    ++counts->metric_trials;
                    counts->metric_successes += *row.metric_success;
                }
            }
        }

        // The most frequent values are kept; the report lists them by value.
        std::vector<const std::pair<const std::string, Counts>*> kept;
        for (const auto& entry : by_value) kept.push_back(&entry);
        std::stable_sort(kept.begin(), kept.end(),
                         [](const auto* a, const auto* b) { return a->second.rows > b->second.rows; });
        const std::size_t left_out = kept.size() > options.max_segments_per_attribute
                                         ? kept.size() - options.max_segments_per_attribute
                                         : 0;
        kept.resize(kept.size() - left_out);
        std::sort(kept.begin(), kept.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
        report.segments_left_out.push_back(left_out);

        for (const auto* entry : kept) {
            const Counts& segment = entry->second;
            SegmentGapResult result;
            result.attribute = attribute;
            result.value = entry->first;
            result.rows = segment.rows;
            result.rest_rows = total.rows - segment.rows;
            result.too_small = result.rows < options.min_segment_rows || result.rest_rows < options.min_segment_rows;
            if (!result.too_small) {
                result.gaps.push_back(compare("prediction_rate", segment.positive, segment.rows,
                                              total.positive - segment.positive, result.rest_rows, options, z));
                result.gaps.push_back(compare(options.metric_name, segment.metric_successes, segment.metric_trials,
                                              total.metric_successes - segment.metric_successes,
                                              total.metric_trials - segment.metric_trials, options, z));
            }
            report.segments.push_back(std::move(result));
        }
    }
    return report;
}

double rounded_rate(double value) {
    return std::isfinite(value) ? std::round(value / published_rate_step) * published_rate_step : value;
}

std::vector<Finding> to_findings(const SegmentGapReport& report, const std::string& model,
                                 std::int64_t window_start_us, std::int64_t window_end_us) {
    std::vector<Finding> findings;
    const auto too_small = [&](const SegmentGapResult& segment, const std::string& metric) {
        findings.push_back({.model = model,
                            .kind = "segment_gap",
                            .subject = fmt::format("{}={}:{}", segment.attribute, segment.value, metric),
                            .method = "too_small",
                            .threshold = static_cast<double>(report.min_segment_rows),
                            .triggered = false,
                            .severity = Severity::info,
                            .window_start_us = window_start_us,
                            .window_end_us = window_end_us,
                            // The segment is named, not described: how many rows
                            // a handful of people make up is itself about them.
                            .evidence_json = nlohmann::json{{"too_small", true},
                                                            {"suppressed", true},
                                                            {"min_segment_rows", report.min_segment_rows}}
                                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
    };
    for (const auto& segment : report.segments) {
        if (segment.too_small) {
            too_small(segment, "prediction_rate");
            too_small(segment, report.metric_name);
            continue;
        }
        for (const auto& gap : segment.gaps) {
            if (gap.too_small) {
                too_small(segment, gap.metric);
                continue;
            }
            Finding finding;
            finding.model = model;
            finding.kind = "segment_gap";
            finding.subject = fmt::format("{}={}:{}", segment.attribute, segment.value, gap.metric);
            finding.method = "newcombe_wilson";
            finding.statistic = rounded_rate(gap.gap);
            finding.threshold = report.min_gap;
            finding.triggered = gap.triggered;
            finding.severity = gap.triggered ? Severity::warning : Severity::info;
            finding.window_start_us = window_start_us;
            finding.window_end_us = window_end_us;
            // Rates and the interval only, to two decimals: counts (the
            // segment's, the rest's) would let a reader subtract the compared
            // segments from the window's rows and recover a suppressed one,
            // and exact rates give their counts away as fractions.
            finding.evidence_json = nlohmann::json{{"segment_rate", rounded_rate(gap.segment_rate)},
                                                   {"rest_rate", rounded_rate(gap.rest_rate)},
                                                   {"lower", rounded_rate(gap.interval.lower)},
                                                   {"upper", rounded_rate(gap.interval.upper)},
                                                   {"confidence", report.confidence},
                                                   {"rounded_to", published_rate_step}}
                                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            findings.push_back(std::move(finding));
        }
    }
    return findings;
}

std::vector<Finding> segment_drift_findings(const drift::DatasetDriftResult& result, double drift_share,
                                            const std::string& model, std::int64_t window_start_us,
                                            std::int64_t window_end_us, std::size_t min_segment_rows) {
    std::vector<Finding> findings;
    for (const auto& segment : result.segments) {
        if (!segment.error.empty()) continue;
        if (segment.current_rows < min_segment_rows || segment.reference_rows < min_segment_rows) {
            // Named, never described, like a segment gap's small segment.
            findings.push_back({.model = model,
                                .kind = "segment_drift",
                                .subject = fmt::format("{}={}", result.segment_column, segment.value),
                                .method = "too_small",
                                .threshold = static_cast<double>(min_segment_rows),
                                .triggered = false,
                                .severity = Severity::info,
                                .window_start_us = window_start_us,
                                .window_end_us = window_end_us,
                                .evidence_json = nlohmann::json{{"too_small", true},
                                                                {"suppressed", true},
                                                                {"min_segment_rows", min_segment_rows}}
                                                     .dump()});
            continue;
        }
        const auto& verdict = segment.verdict;
        nlohmann::json drifted_features = nlohmann::json::array();
        for (const auto& feature : verdict.features)
            if (feature.drifted) drifted_features.push_back(feature.feature);
        Finding finding;
        finding.model = model;
        finding.kind = "segment_drift";
        finding.subject = fmt::format("{}={}", result.segment_column, segment.value);
        finding.method = "dataset_drift_share";
        finding.statistic = verdict.share;
        finding.threshold = drift_share;
        finding.triggered = verdict.dataset_drift && !result.overall.dataset_drift;
        finding.severity = finding.triggered ? Severity::warning : Severity::info;
        finding.window_start_us = window_start_us;
        finding.window_end_us = window_end_us;
        finding.evidence_json = nlohmann::json{{"segment_drift", verdict.dataset_drift},
                                               {"overall_drift", result.overall.dataset_drift},
                                               {"overall_share", result.overall.share},
                                               {"drifted_features", std::move(drifted_features)}}
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        findings.push_back(std::move(finding));
    }
    return findings;
}

}  // namespace mw::segments
