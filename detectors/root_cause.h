// What explains a performance drop: when a window's metric (realised, or
// estimated by CBPE) falls below its threshold, the segments and features of
// the window ranked by how much of the drop from the reference each explains,
// and whether any one explains enough to be named (docs/monitoring.md, "Root
// cause of a performance drop").
//
// Segments are each value of a segment attribute or categorical feature
// (the most frequent over window and reference together, the others pooled
// into one "(other values)" segment, so that a value that vanished from the
// window still counts) and each of a numeric feature's reference quantile
// bins (a value held by at least 1/numeric_bins of the reference, as the 0
// of a zero-inflated feature, is a bin of its own; a missing value is a
// segment of its own). A segment's contribution is the change of its
// share-weighted gap against the rest of the window between reference and
// window (the two-group metric-change decomposition):
//   D = M_ref - M_win = delta_rest + c_s,
//   c_s = r (mu_s - mu_rest) - w (m_s - m_rest)
// with r, w the segment's share of the reference and of the window, mu and m
// the metric on the segment and on the rest there. Shares are taken over
// the metric's own rows on both sides: every row for accuracy, the
// predicted positives for precision, the actual positives for recall (under
// CBPE, their expected number: the sum of calibrated scores). delta_rest is
// what the rest of the window lost, so c_s is the part of the drop the
// segment's rows carry beyond it: its excess loss times its share plus the
// effect of its share changing (Kitagawa 1955, "Components of a difference
// between two rates", JASA 50:1168-1194). A feature's contribution is its
// drift weighted by the metric across its bins, the part of the drop the
// shift of its distribution alone would cause if each bin kept its
// reference metric:
//   c_f = sum_b (w_b - r_b) (M_ref - mu_b).
// Both are oriented so that a positive contribution worsens the metric; the
// explained share is c / D. Exact for metrics that are ratios of sums over
// rows (accuracy, precision, recall, and the means over rows brier, log
// loss, mae, mape), an approximation for the others.
//
// Only a drop is explained: a window whose metric improved on the reference
// (a two-sided threshold crossed upwards) gets no ranking, and says so. A
// cause is named only when the drop itself is beyond sampling error and an
// item explains at least `cause_share` of it beyond sampling error (the
// one-sided lower bound of its contribution at `confidence` is at least
// cause_share times the drop) while its contribution is beyond sampling
// error after a Bonferroni correction over every candidate; otherwise the
// ranking says there is no single cause. Segments with fewer than
// `min_segment_rows` rows, or whose rest of the window has fewer, are
// suppressed: counted, never shown (the rest's metric would give the
// segment's away); a reference share or metric over fewer reference rows is
// not shown either. The work is bounded by `max_columns` and
// `time_budget_ms`: columns past either are left out and counted in the
// evidence. Pure computation, no I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "detectors/cbpe.h"
#include "detectors/performance_metrics.h"

namespace mw::rootcause {

// One feature or attribute of a set of rows, one entry per row.
struct Column {
    std::string name;
    bool attribute = false;            // a segment attribute (not a model input)
    bool numeric = false;
    std::vector<double> numbers;       // numeric: NaN when missing
    std::vector<std::string> texts;    // otherwise: "" when missing
};

// The rows of the window or of the reference. Realised ranking: the labelled
// rows (callers leave out rows without an outcome). Estimated ranking: every
// row, with y_pred and score (no labels).
struct RankingRows {
    performance::PerformanceWindow outcomes;
    std::vector<Column> columns;  // matched by name between window and reference
    std::size_t size() const;
};

struct RankingOptions {
    std::string metric = "accuracy";  // a registry name (detectors/performance_metric.h)
    performance::PerformanceSpec spec;
    // Estimated (CBPE) ranking of the window; the reference is always realised.
    const performance::CbpeReference* cbpe = nullptr;
    // Rows a shown segment, its rest, and a shown reference share need: the
    // model's performance.min_segment_rows, as its segment-gap findings.
    std::size_t min_segment_rows = 100;
    std::size_t numeric_bins = 5;        // reference quantile bins per numeric feature
    // The most frequent values over window and reference together; the
    // others share one "(other values)" segment, and their number is counted.
    std::size_t max_values_per_column = 20;
    std::size_t max_columns = 100;       // columns compared; the others are left out, counted
    // Columns are compared until this much time has passed (the first always
    // is); the rest are left out, named. 0: no limit.
    std::uint32_t time_budget_ms = 2000;
    // The clock the budget is measured on; injected by tests so that what
    // the budget leaves out does not depend on the machine's load.
    std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
    double cause_share = 0.5;  // of the drop, for the best-ranked item to be named
    double alpha = 0.05;       // family-wise, one-sided (Bonferroni over the candidates)
    double confidence = 0.95;  // of the shown intervals
    std::size_t bootstrap_replicates = 200;  // intervals of metrics that are not proportions
    std::uint64_t seed = 20261206;
    std::size_t listed = 10;  // items kept in the ranking
    std::size_t named = 3;    // causes put in words
};

// The window's drift verdict on a feature, from the drift methods already run on it.
struct FeatureDrift {
    std::string feature;
    std::string method;
    double statistic = 0;
    double p_value = -1;
    bool drifted = false;
};

struct MetricInterval {
    double lower = 0;
    double upper = 0;
    // "wilson" (proportions), "cbpe_wilson" (their CBPE estimates), "normal"
    // (means over rows), "delta" (delta-method standard errors,
    // detectors/metric_standard_error.h), "cbpe_normal", "bootstrap" (the rest)
    std::string method;
};

enum class CauseKind { segment, feature };

struct Cause {
    CauseKind kind = CauseKind::segment;
    std::string column;
    std::string value;           // segment: "Private", "[37, 48)" or "(missing)"; feature: empty
    bool attribute = false;
    bool numeric_bin = false;    // value is a range of a numeric feature ("in [37, 48)")
    double window_share = 0;     // segments: its share of the window (of the metric's rows)
    std::optional<double> reference_share;  // ... and of the reference; absent below min_segment_rows there
    double shift = 0;            // features: total variation distance between its bins' shares
    std::size_t window_rows = 0;
    std::optional<double> window_metric;  // segments
    std::optional<MetricInterval> window_interval;
    std::optional<double> reference_metric;  // absent when the reference has too few rows of it
    double contribution = 0;     // metric units, positive worsens
    std::optional<double> standard_error;  // of the contribution; absent when the metric has none (CBPE roc_auc)
    double explained_share = 0;  // contribution / drop
    double explained_share_lower = 0;  // the lower bound of the contribution's interval / drop
    double z = 0;                // contribution over its standard error (0 without one)
    bool significant = false;    // z beyond the Bonferroni-corrected quantile
    std::optional<FeatureDrift> drift;  // features, when the window's drift verdict was handed in

    std::string name() const;  // "segment workclass=Private", "feature age"
};

// A feature over the recent windows: NannyML's correlation ranker (Pearson
// correlation of the feature's drift statistic with the metric, worsening
// direction positive) and the alert-count ranking (windows flagging it).
struct HistoryWindow {
    double metric = 0;
    std::vector<FeatureDrift> drift;
};
struct HistoryRank {
    std::string feature;
    std::optional<double> correlation;  // absent below history_min_windows finite pairs or with a constant series
    std::size_t windows = 0;
    std::size_t alerts = 0;             // windows whose drift verdict flagged it
};

struct Ranking {
    std::string error;  // why nothing could be ranked ("reference: no labelled rows")
    std::string metric;
    bool estimated = false;
    bool lower_is_better = false;
    double reference_value = 0;
    double window_value = 0;
    std::optional<MetricInterval> window_interval;
    double drop = 0;  // oriented: positive is worse
    bool improved = false;  // the metric is better than the reference: nothing to explain
    bool drop_significant = false;
    std::size_t candidates = 0;   // segments and features compared
    std::size_t suppressed = 0;   // segments below min_segment_rows, never shown
    std::size_t values_left_out = 0;  // categorical values pooled into "(other values)"
    std::size_t columns_left_out = 0;  // past max_columns or the time budget, not compared
    std::vector<std::string> columns_not_compared;  // their names, in the window's column order
    bool time_budget_reached = false;
    std::vector<Cause> ranked;    // best first, at most `listed`
    bool single_cause = false;
    std::vector<std::string> causes;  // up to `named` causes in plain words; empty without one
    std::string summary;              // one line: the causes, or why none is named
    std::vector<HistoryRank> correlation_ranking;  // by |correlation|, then alerts
    std::vector<HistoryRank> alert_count_ranking;  // by alerts

    bool ok() const { return error.empty(); }
};

// Ranks what explains the window's drop from the reference on options.metric.
Ranking rank_causes(const RankingRows& window, const RankingRows& reference, const RankingOptions& options,
                    const std::vector<FeatureDrift>& drift = {});

// Windows with a finite drift statistic and metric a correlation needs.
inline constexpr std::size_t history_min_windows = 5;

// Adds the second opinions from the recent windows (oldest first). Their
// metric values must be of the ranking's own kind: realised values for a
// realised ranking, CBPE estimates for an estimated one (a series mixing the
// two correlates with when labels arrived); the evidence says which
// ("correlation_values").
void rank_by_history(Ranking& ranking, const std::vector<HistoryWindow>& history);

// The ranking as finding evidence.
nlohmann::json to_json(const Ranking& ranking);

}  // namespace mw::rootcause
