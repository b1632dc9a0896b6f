#include "detectors/root_cause.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "detectors/metric_standard_error.h"
#include "detectors/performance_metric.h"
#include "detectors/segment_gaps.h"
#include "stats/descriptive.h"

namespace mw::rootcause {
namespace {

constexpr const char* missing_segment = "(missing)";
constexpr const char* other_values_segment = "(other values)";

// A metric on one set of rows: its value and standard error (none when the
// metric has no sampling model, as CBPE's roc_auc).
struct SetValue {
    double value = 0;
    std::optional<double> se;
};

// Sums over a subset of rows of a metric that is a ratio of sums, for which
// the rest of a set is the total minus the segment (no pass over the rows).
struct Counts {
    double successes = 0;  // for a mean over rows: the sum of the per-row values
    double trials = 0;
    double squares = 0;    // for a mean over rows: the sum of squared per-row values
    std::size_t rows = 0;  // rows with a trial weight above 0
    Counts operator-(const Counts& o) const {
        return {successes - o.successes, trials - o.trials, squares - o.squares, rows - o.rows};
    }
};

// How a metric's value on any subset of a set's rows is had.
//   proportion: accuracy, precision and recall are ratios of per-row sums,
//     success / trial, the same under CBPE with expected counts (the row's
//     calibrated score p in place of its label: TP += p when predicted
//     positive, and so on, as detectors/cbpe.h): precision's trials are the
//     predicted positives, recall's the (expected) actual positives. Wilson
//     intervals and binomial standard errors over the subset's own
//     (expected) trials.
//   mean: a mean over rows of a per-row loss (the registry's mean_over_rows
//     metrics): normal intervals from the per-row values' variance within
//     the subset.
//   computed: any other metric, computed on the subset through the registry
//     (compute_performance; the subset's delta-method standard error and a
//     normal interval for rmse, r2, f1, roc_auc and ece, else the whole
//     set's bootstrap error scaled and percentile intervals) or CBPE
//     (estimate_cbpe, its standard error over the subset's own expected
//     trials; none for roc_auc).
enum class MetricForm { proportion, mean, computed };

// The values a metric can take, for clipping normal intervals: its
// registry entry's (unclipped for a name the registry does not know).
performance::MetricRange metric_range(const std::string& metric) {
    constexpr double infinity = std::numeric_limits<double>::infinity();
    const auto* entry = performance::find_performance_metric(metric);
    return entry != nullptr ? entry->range : performance::MetricRange{-infinity, infinity};
}

class SetMetric {
public:
    SetMetric(const RankingRows& rows, const RankingOptions& options, bool estimated, const char* set_name)
        : rows_(rows), options_(options), estimated_(estimated), set_name_(set_name) {
        const auto& o = rows.outcomes;
        const std::string& metric = options.metric;
        const bool classification = options.spec.task == performance::Task::classification;
        const auto* entry = performance::find_performance_metric(metric);
        if (classification && (metric == "accuracy" || metric == "precision" || metric == "recall"))
            form_ = MetricForm::proportion;
        else if (!estimated && entry != nullptr && entry->mean_over_rows &&
                 (classification ? o.score.size() == rows.size() : o.target.size() == rows.size()))
            form_ = MetricForm::mean;
        influence_ = form_ == MetricForm::computed && !estimated && performance::has_influence_standard_error(metric);
        trial_.assign(rows.size(), 1.0);
        success_.assign(rows.size(), 0.0);
        if (form_ == MetricForm::computed) return;
        const auto& positive = options.spec.positive_class;
        for (std::size_t r = 0; r < rows.size(); ++r) {
            if (form_ == MetricForm::mean) {
                success_[r] = row_loss(r, *entry);
                continue;
            }
            const bool predicted = o.y_pred[r] == positive;
            // The probability that the row is positive: its label, or its calibrated score.
            double p = o.y_true[r] && *o.y_true[r] == positive ? 1.0 : 0.0;
            if (estimated)
                p = options.cbpe != nullptr && options.cbpe->calibration ? options.cbpe->calibration->apply(o.score[r])
                                                                           : o.score[r];
            if (metric == "accuracy") trial_[r] = 1, success_[r] = predicted ? p : 1 - p;
            if (metric == "precision") trial_[r] = predicted ? 1 : 0, success_[r] = predicted ? p : 0;
            if (metric == "recall") trial_[r] = p, success_[r] = predicted ? p : 0;
        }
    }

    MetricForm form() const { return form_; }
    bool summed() const { return form_ != MetricForm::computed; }
    double trial(std::size_t row) const { return trial_[row]; }

    Counts counts(const std::vector<std::size_t>& subset) const {
        Counts counts;
        for (const auto r : subset) {
            counts.trials += trial_[r], counts.successes += success_[r];
            counts.squares += success_[r] * success_[r];
            counts.rows += 1;
        }
        return counts;
    }

    std::optional<SetValue> of_counts(const Counts& counts) const {
        if (counts.trials <= 0 || counts.rows == 0) return std::nullopt;
        const double value = counts.successes / counts.trials;
        if (form_ == MetricForm::mean) {
            const double n = counts.trials;
            const double variance = n > 1 ? std::max(0.0, (counts.squares - n * value * value) / (n - 1)) : 0.0;
            return SetValue{value, std::sqrt(variance / n)};
        }
        // Shrunk towards 1/2 by half a success (Agresti and Coull 1998) so
        // that a segment with no failures still has a standard error.
        const double shrunk = (counts.successes + 0.5) / (counts.trials + 1);
        return SetValue{value, std::sqrt(shrunk * (1 - shrunk) / counts.trials)};
    }

    // The metric on `subset` (indices into the rows); nothing when undefined there.
    std::optional<SetValue> of_rows(const std::vector<std::size_t>& subset) const {
        if (summed()) return of_counts(counts(subset));
        const auto value = compute(subset);
        if (!value || estimated_) return value;
        // The subset's own delta-method standard error where the metric has
        // one (detectors/metric_standard_error.h: rmse, r2, f1, roc_auc, ece);
        // empty where the subset gives it no sampling model (fewer than two
        // rows of a class for roc_auc, a constant target for r2), which
        // leaves the item untested rather than tested on a made-up error.
        if (influence_) return SetValue{value->value, performance::metric_standard_error(
                                                          options_.metric, rows_.outcomes, options_.spec, subset)};
        // Otherwise (the macro and weighted averages, average_precision) the
        // bootstrap standard error of the whole set, scaled to the subset's
        // size: the variance is taken as equal across segments.
        return SetValue{value->value, whole_se() * std::sqrt(static_cast<double>(rows_.size()) /
                                                             static_cast<double>(std::max<std::size_t>(subset.size(), 1)))};
    }

    // Empty when the metric has no interval here (no standard error).
    std::optional<MetricInterval> interval(const std::vector<std::size_t>& subset, const std::string& name) const {
        const double z = segments::two_sided_z(options_.confidence);
        if (form_ == MetricForm::proportion) {
            const auto c = counts(subset);
            if (c.trials <= 0) return std::nullopt;
            const auto bounds = segments::wilson_interval(c.successes, c.trials, z);
            return MetricInterval{bounds.lower, bounds.upper, estimated_ ? "cbpe_wilson" : "wilson"};
        }
        if (form_ == MetricForm::mean || estimated_ || influence_) {
            const auto value = of_rows(subset);
            if (!value || !value->se) return std::nullopt;
            // A delta-method interval stays within the metric's range (a
            // roc_auc of 0.98 with a standard error of 0.02 is not above 1).
            const auto range = metric_range(options_.metric);
            return MetricInterval{std::max(range.min, value->value - z * *value->se),
                                  std::min(range.max, value->value + z * *value->se),
                                  estimated_ ? "cbpe_normal" : influence_ ? "delta" : "normal"};
        }
        const auto replicates = bootstrap(subset, name);
        if (replicates.size() < 2) return std::nullopt;
        const double tail = (1 - options_.confidence) / 2 * 100;
        return MetricInterval{performance::percentile_linear(replicates, tail),
                              performance::percentile_linear(replicates, 100 - tail), "bootstrap"};
    }

private:
    // The loss of one row, through the registry's function on that row alone.
    double row_loss(std::size_t r, const performance::PerformanceMetric& entry) const {
        const auto& o = rows_.outcomes;
        performance::MetricRows one;
        one.rows = 1;
        if (options_.spec.task == performance::Task::classification) {
            one.is_positive.push_back(o.y_true[r] && *o.y_true[r] == options_.spec.positive_class);
            one.score.push_back(r < o.score.size() ? o.score[r] : std::nan(""));
        } else {
            one.target.push_back(r < o.target.size() && o.target[r] ? *o.target[r] : std::nan(""));
            one.predicted_value.push_back(o.predicted_value[r]);
        }
        std::string reason;
        return entry.compute(one, reason).value_or(std::nan(""));
    }

    std::optional<SetValue> compute(const std::vector<std::size_t>& subset) const {
        if (subset.empty()) return std::nullopt;
        const auto& o = rows_.outcomes;
        if (estimated_) {
            std::vector<double> score;
            std::vector<bool> predicted;
            for (const auto r : subset) {
                score.push_back(o.score[r]);
                predicted.push_back(o.y_pred[r] == options_.spec.positive_class);
            }
            const auto estimate = performance::estimate_cbpe(score, predicted, options_.cbpe);
            const auto* metric = estimate.ok() ? estimate.find(options_.metric) : nullptr;
            if (metric == nullptr || !metric->value) return std::nullopt;
            return SetValue{*metric->value, cbpe_se(estimate)};
        }
        performance::PerformanceWindow part;
        const auto take = [&](const auto& column, auto& out) {
            if (column.empty()) return;
            for (const auto r : subset) out.push_back(column[r]);
        };
        take(o.y_pred, part.y_pred);
        take(o.y_true, part.y_true);
        take(o.score, part.score);
        take(o.predicted_value, part.predicted_value);
        take(o.target, part.target);
        auto spec = options_.spec;
        spec.segment_name.clear();
        const auto report = performance::compute_performance(part, spec);
        const auto* metric = report.ok() ? report.overall.find(options_.metric) : nullptr;
        if (metric == nullptr || !metric->value) return std::nullopt;
        return SetValue{*metric->value, 0.0};
    }

    // NannyML's standard error sd / sqrt(trials) with the reference's
    // per-observation sd, over the subset's own expected trials (TP + FP +
    // FN for F1) rather than n times the reference's fraction, which
    // understates it for a segment rarely predicted positive. None for a
    // metric without a component (roc_auc).
    std::optional<double> cbpe_se(const performance::CbpeEstimate& estimate) const {
        if (options_.cbpe == nullptr) return std::nullopt;
        const auto& c = estimate.confusion;
        for (const auto& component : options_.cbpe->sampling_error) {
            if (component.metric != options_.metric) continue;
            const double trials = options_.metric == "f1" ? c.tp + c.fp + c.fn
                                                          : static_cast<double>(estimate.n) * component.fraction;
            if (trials > 0) return component.sd / std::sqrt(trials);
        }
        return std::nullopt;
    }

    std::vector<double> bootstrap(const std::vector<std::size_t>& subset, const std::string& name) const {
        std::vector<double> replicates;
        if (subset.empty()) return replicates;
        // Seeded per set and subset name, so a ranking is reproducible and
        // the window's and the reference's draws differ.
        std::mt19937_64 rng(options_.seed ^ std::hash<std::string>{}(set_name_ + ":" + name));
        std::uniform_int_distribution<std::size_t> pick(0, subset.size() - 1);
        std::vector<std::size_t> drawn(subset.size());
        for (std::size_t b = 0; b < options_.bootstrap_replicates; ++b) {
            for (auto& r : drawn) r = subset[pick(rng)];
            if (const auto value = compute(drawn)) replicates.push_back(value->value);
        }
        return replicates;
    }

    double whole_se() const {
        if (whole_se_) return *whole_se_;
        std::vector<std::size_t> all(rows_.size());
        for (std::size_t r = 0; r < all.size(); ++r) all[r] = r;
        const auto replicates = bootstrap(all, "whole");
        whole_se_ = replicates.size() < 2 ? 0.0 : stats::finite_sample_sd(replicates);
        return *whole_se_;
    }

    const RankingRows& rows_;
    const RankingOptions& options_;
    bool estimated_ = false;
    std::string set_name_;
    MetricForm form_ = MetricForm::computed;
    bool influence_ = false;  // a computed metric with a per-subset delta-method standard error
    std::vector<double> trial_;
    std::vector<double> success_;
    mutable std::optional<double> whole_se_;
};

// A column's rows cut into bins: categorical values or reference quantile
// bins of a numeric feature, the same cuts for window and reference.
struct Binning {
    std::vector<std::string> labels;
    std::vector<int> window_bin;     // per window row
    std::vector<int> reference_bin;  // per reference row
    std::size_t values_left_out = 0;  // values pooled into the "(other values)" bin
};

// The cuts as text, with as many significant digits as it takes for
// neighbouring cuts to read differently (Elec2's prices differ in the 4th).
std::vector<std::string> cut_texts(const std::vector<double>& cuts) {
    std::vector<std::string> texts;
    for (int digits = 4; digits <= 17; ++digits) {
        texts.clear();
        for (const double cut : cuts) texts.push_back(fmt::format("{:.{}g}", cut, digits));
        if (std::adjacent_find(texts.begin(), texts.end()) == texts.end()) break;
    }
    return texts;
}

Binning bin_numeric(const Column& window, const Column& reference, std::size_t bins) {
    Binning binning;
    std::vector<double> finite;
    for (const double v : reference.numbers)
        if (std::isfinite(v)) finite.push_back(v);
    std::sort(finite.begin(), finite.end());
    std::vector<double> cuts;
    bool atom_at_minimum = false;  // the lowest bin holds only the minimum ("= 0")
    if (!finite.empty()) {
        const double minimum = finite.front();
        // A value held by 1/bins of the rows or more at the minimum (the 0
        // of a zero-inflated feature: Adult's capital_gain is 92% zeros)
        // makes every quantile cut below the next value equal it; cut at the
        // next distinct value instead, so the atom and the rest are two bins.
        const auto above = std::upper_bound(finite.begin(), finite.end(), minimum);
        if (above != finite.end() && static_cast<double>(above - finite.begin()) * static_cast<double>(bins) >=
                                         static_cast<double>(finite.size())) {
            cuts.push_back(*above);
            atom_at_minimum = true;
        }
        for (std::size_t b = 1; b < bins; ++b) {
            const double cut = performance::percentile_linear(finite, 100.0 * static_cast<double>(b) / static_cast<double>(bins));
            // Repeated values make repeated quantiles; a cut at the minimum leaves an empty bin.
            if ((cuts.empty() || cut > cuts.back()) && cut > minimum) cuts.push_back(cut);
        }
        if (atom_at_minimum) binning.labels.push_back("= " + cut_texts({minimum}).front());
    }
    const auto texts = cut_texts(cuts);
    for (std::size_t b = atom_at_minimum ? 1 : 0; b <= cuts.size(); ++b) {
        if (cuts.empty())
            binning.labels.push_back("any value");
        else if (b == 0)
            binning.labels.push_back("< " + texts[0]);
        else if (b == cuts.size())
            binning.labels.push_back(">= " + texts.back());
        else
            binning.labels.push_back(fmt::format("in [{}, {})", texts[b - 1], texts[b]));
    }
    const int missing = static_cast<int>(binning.labels.size());
    binning.labels.push_back(missing_segment);
    const auto bin_of = [&](double v) {
        if (!std::isfinite(v)) return missing;
        return static_cast<int>(std::upper_bound(cuts.begin(), cuts.end(), v) - cuts.begin());
    };
    for (const double v : window.numbers) binning.window_bin.push_back(bin_of(v));
    for (const double v : reference.numbers) binning.reference_bin.push_back(bin_of(v));
    return binning;
}

// Bins over the values of window and reference together: a value that
// vanished from the window (a broken upstream join, a country whose traffic
// stopped) is a bin whose share fell to 0. Values come from clients: only
// the most frequent get a bin of their own, the others share one.
Binning bin_categorical(const Column& window, const Column& reference, std::size_t max_values) {
    Binning binning;
    std::map<std::string, std::size_t> frequency;
    for (const auto& v : window.texts) ++frequency[v];
    for (const auto& v : reference.texts) ++frequency[v];
    std::vector<std::pair<std::string, std::size_t>> by_frequency(frequency.begin(), frequency.end());
    std::stable_sort(by_frequency.begin(), by_frequency.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::map<std::string, int> index;
    int other = -1;
    for (const auto& [value, count] : by_frequency) {
        if (index.size() >= max_values) {
            if (other < 0) other = static_cast<int>(binning.labels.size()), binning.labels.push_back(other_values_segment);
            index.emplace(value, other);
            ++binning.values_left_out;
            continue;
        }
        index.emplace(value, static_cast<int>(binning.labels.size()));
        // A literal value that reads as one of the pooled bins' labels is quoted.
        const bool reserved = value == missing_segment || value == other_values_segment;
        binning.labels.push_back(value.empty() ? missing_segment : reserved ? "\"" + value + "\"" : value);
    }
    for (const auto& v : window.texts) binning.window_bin.push_back(index.at(v));
    for (const auto& v : reference.texts) binning.reference_bin.push_back(index.at(v));
    return binning;
}

// The rows of each bin over one set: the rows the metric counts (its
// trials, for a proportion: under CBPE every row with an expected trial).
struct BinRows {
    std::vector<std::vector<std::size_t>> in;
    std::vector<std::size_t> all;
    std::vector<double> weight;  // per bin, the metric's trials (rows, for a computed metric)
    double total_weight = 0;
};

BinRows rows_by_bin(const std::vector<int>& bins, std::size_t labels, const SetMetric& metric) {
    BinRows rows;
    rows.in.resize(labels);
    rows.weight.assign(labels, 0.0);
    for (std::size_t r = 0; r < bins.size(); ++r) {
        const double weight = metric.trial(r);
        if (!(weight > 0)) continue;
        rows.all.push_back(r);
        rows.in[static_cast<std::size_t>(bins[r])].push_back(r);
        rows.weight[static_cast<std::size_t>(bins[r])] += weight;
        rows.total_weight += weight;
    }
    return rows;
}

std::vector<std::size_t> rest_of(const std::vector<std::size_t>& all, const std::vector<std::size_t>& in) {
    std::vector<std::size_t> rest;
    std::set_difference(all.begin(), all.end(), in.begin(), in.end(), std::back_inserter(rest));
    return rest;
}

// A segment's metric and its rest's, on one set: from sums for a ratio
// metric, else over the rows.
struct Split {
    std::optional<SetValue> in;
    std::optional<SetValue> rest;
};

Split split(const SetMetric& metric, const BinRows& rows, std::size_t bin, const Counts& total) {
    const auto& in = rows.in[bin];
    if (metric.summed()) {
        const auto counts = metric.counts(in);
        return {metric.of_counts(counts), metric.of_counts(total - counts)};
    }
    return {metric.of_rows(in), metric.of_rows(rest_of(rows.all, in))};
}

std::string metric_text(double value) { return fmt::format("{:.3g}", value); }

std::string describe(const Cause& cause, const std::string& metric) {
    const int percent = static_cast<int>(std::lround(cause.explained_share * 100));
    if (cause.kind == CauseKind::feature) {
        std::string text = fmt::format("feature {}: the shift of its distribution (total variation {:.2f})", cause.column,
                                       cause.shift);
        if (cause.drift)
            text += fmt::format(", {} by {}", cause.drift->drifted ? "drifted" : "not flagged", cause.drift->method);
        return text + fmt::format(", {}% of the drop", percent);
    }
    std::string text = cause.name() + ": " + metric;
    if (cause.window_metric) {
        text += " " + metric_text(*cause.window_metric);
        if (cause.window_interval)
            text += fmt::format(" [{}, {}]", metric_text(cause.window_interval->lower),
                                metric_text(cause.window_interval->upper));
    }
    text += cause.reference_metric ? " vs " + metric_text(*cause.reference_metric) + " in reference"
                                   : " (too few reference rows to compare)";
    text += fmt::format(", {:.0f}% of the window", cause.window_share * 100);
    if (cause.reference_share) text += fmt::format(" vs {:.0f}% of the reference", *cause.reference_share * 100);
    return text + fmt::format(", {}% of the drop", percent);
}

// The standard normal quantile of 1 - tail (scipy.stats.norm.isf).
double upper_quantile(double tail) { return segments::two_sided_z(1 - 2 * tail); }

}  // namespace

std::size_t RankingRows::size() const {
    return std::max(outcomes.y_pred.size(), outcomes.predicted_value.size());
}

std::string Cause::name() const {
    if (kind == CauseKind::feature) return "feature " + column;
    return "segment " + column + (numeric_bin && value != missing_segment ? " " : "=") + value;
}

Ranking rank_causes(const RankingRows& window, const RankingRows& reference, const RankingOptions& options,
                    const std::vector<FeatureDrift>& drift) {
    Ranking ranking;
    ranking.metric = options.metric;
    ranking.estimated = options.cbpe != nullptr;
    const auto* entry = performance::find_performance_metric(options.metric);
    if (entry == nullptr) {
        ranking.error = fmt::format("metric \"{}\" is not in the registry", options.metric);
        return ranking;
    }
    ranking.lower_is_better = entry->lower_is_better;
    const double sign = entry->lower_is_better ? -1.0 : 1.0;  // a positive oriented change worsens
    if (window.size() == 0 || reference.size() == 0) {
        ranking.error = window.size() == 0 ? "window: no rows" : "reference: no labelled rows";
        return ranking;
    }
    if (ranking.estimated && window.outcomes.score.size() != window.size()) {
        ranking.error = "window: an estimated ranking needs a score on every row";
        return ranking;
    }
    const SetMetric window_metric(window, options, ranking.estimated, "window");
    const SetMetric reference_metric(reference, options, false, "reference");

    std::vector<std::size_t> window_all, reference_all;
    for (std::size_t r = 0; r < window.size(); ++r)
        if (window_metric.trial(r) > 0) window_all.push_back(r);
    for (std::size_t r = 0; r < reference.size(); ++r)
        if (reference_metric.trial(r) > 0) reference_all.push_back(r);
    const auto whole_window = window_metric.of_rows(window_all);
    const auto whole_reference = reference_metric.of_rows(reference_all);
    if (!whole_window || !whole_reference) {
        ranking.error = fmt::format("{}: {} is undefined on its rows", whole_window ? "reference" : "window", options.metric);
        return ranking;
    }
    ranking.window_value = whole_window->value;
    ranking.reference_value = whole_reference->value;
    ranking.window_interval = window_metric.interval(window_all, "whole");
    ranking.drop = sign * (whole_reference->value - whole_window->value);
    const std::string values = fmt::format("{} {} vs {} in reference", options.metric, metric_text(ranking.window_value),
                                           metric_text(ranking.reference_value));
    // Only a drop is explained: a threshold crossed upwards (label leakage,
    // an easier mix of traffic) is not a failure to find the cause of.
    if (ranking.drop <= 0) {
        ranking.improved = true;
        ranking.summary = fmt::format("no cause named: {} {} on the reference ({}); only a drop is explained",
                                      options.metric, ranking.drop < 0 ? "improved" : "did not change", values);
        return ranking;
    }
    if (!whole_window->se || !whole_reference->se) {
        ranking.summary = fmt::format("no cause named: the drop from the reference ({}) has no standard error "
                                      "(CBPE gives {} none), so it cannot be told from sampling error",
                                      values, options.metric);
        return ranking;
    }
    const double drop_se = std::hypot(*whole_reference->se, *whole_window->se);
    ranking.drop_significant = ranking.drop > upper_quantile(options.alpha) * drop_se;

    std::vector<Cause> candidates;
    std::vector<std::vector<std::size_t>> candidate_rows;  // the window rows of each segment, for its interval
    const std::size_t min_rows = options.min_segment_rows;
    const auto started = options.clock();
    std::size_t columns_compared = 0;
    bool columns_capped = false;  // columns left out for max_columns
    for (const auto& column : window.columns) {
        // A column is compared with the reference's column of the same name,
        // type and role (an attribute is never compared with a feature).
        const auto other = std::find_if(reference.columns.begin(), reference.columns.end(), [&](const Column& c) {
            return c.name == column.name && c.numeric == column.numeric && c.attribute == column.attribute;
        });
        if (other == reference.columns.end()) continue;
        // The work is bounded: a column count and a time budget, checked
        // between columns (the first is always compared).
        const bool over_count = columns_compared >= options.max_columns;
        const bool over_time =
            !over_count && options.time_budget_ms > 0 && columns_compared > 0 &&
            std::chrono::duration_cast<std::chrono::milliseconds>(options.clock() - started).count() >= options.time_budget_ms;
        if (over_count || over_time) {
            columns_capped = columns_capped || over_count;
            ++ranking.columns_left_out;
            ranking.columns_not_compared.push_back(column.name);
            ranking.time_budget_reached = ranking.time_budget_reached || over_time;
            continue;
        }
        ++columns_compared;
        const auto binning = column.numeric ? bin_numeric(column, *other, options.numeric_bins)
                                            : bin_categorical(column, *other, options.max_values_per_column);
        ranking.values_left_out += binning.values_left_out;
        const auto in_window = rows_by_bin(binning.window_bin, binning.labels.size(), window_metric);
        const auto in_reference = rows_by_bin(binning.reference_bin, binning.labels.size(), reference_metric);
        const auto window_total = window_metric.counts(in_window.all);
        const auto reference_total = reference_metric.counts(in_reference.all);
        const double n_window = in_window.total_weight;
        const double n_reference = in_reference.total_weight;
        if (!(n_window > 0) || !(n_reference > 0)) continue;

        // The feature: sum over bins of (w_b - r_b) * a_b, a_b = M_ref - mu_b
        // (0 for a bin the reference has too few rows of). Its variance: the
        // window's and the reference's multinomial share noise, plus the
        // reference bins' metric noise.
        double mix = 0, shift = 0, window_a = 0, window_a2 = 0, reference_a = 0, reference_a2 = 0, metric_var = 0;
        bool mix_se_known = true;
        for (std::size_t b = 0; b < binning.labels.size(); ++b) {
            const std::size_t window_rows = in_window.in[b].size();
            const std::size_t reference_rows = in_reference.in[b].size();
            const double w = in_window.weight[b] / n_window;
            const double r = in_reference.weight[b] / n_reference;
            shift += std::abs(w - r) / 2;
            if (window_rows == 0 && reference_rows == 0) continue;
            const auto s = split(window_metric, in_window, b, window_total);
            const auto mu = split(reference_metric, in_reference, b, reference_total);
            // A group, or the rest beside it, below the minimum is never
            // shown: with the whole set's value beside them, the rest's
            // metric would give the group's away.
            const bool reference_shown =
                reference_rows >= min_rows && in_reference.all.size() - reference_rows >= min_rows;
            const bool known = reference_shown && mu.in && mu.rest;

            const bool window_shown = window_rows >= min_rows && in_window.all.size() - window_rows >= min_rows;
            if (window_rows > 0 && !window_shown) ++ranking.suppressed;
            if (window_shown && s.in && s.rest) {
                Cause cause;
                cause.column = column.name;
                cause.attribute = column.attribute;
                cause.value = binning.labels[b];
                cause.numeric_bin = column.numeric;
                cause.window_share = w;
                if (reference_shown) cause.reference_share = r;
                cause.window_rows = window_rows;
                cause.window_metric = s.in->value;
                const double window_gap = w * (s.in->value - s.rest->value);
                std::optional<double> variance;
                if (s.in->se && s.rest->se) variance = w * w * (*s.in->se * *s.in->se + *s.rest->se * *s.rest->se);
                double reference_gap = 0;
                if (known) {
                    cause.reference_metric = mu.in->value;
                    reference_gap = r * (mu.in->value - mu.rest->value);
                    if (variance) *variance += r * r * (*mu.in->se * *mu.in->se + *mu.rest->se * *mu.rest->se);
                }
                cause.contribution = sign * (reference_gap - window_gap);
                if (variance && *variance > 0) {
                    cause.standard_error = std::sqrt(*variance);
                    cause.z = cause.contribution / *cause.standard_error;
                }
                candidates.push_back(std::move(cause));
                candidate_rows.push_back(in_window.in[b]);
            }
            if (!known) continue;
            const double a = sign * (whole_reference->value - mu.in->value);
            mix += (w - r) * a;
            window_a += w * a, window_a2 += w * a * a;
            reference_a += r * a, reference_a2 += r * a * a;
            if (mu.in->se)
                metric_var += (w - r) * (w - r) * *mu.in->se * *mu.in->se;
            else
                mix_se_known = false;
        }
        if (column.attribute) continue;  // attributes are not model inputs: segments only
        Cause feature;
        feature.kind = CauseKind::feature;
        feature.column = column.name;
        feature.shift = shift;
        feature.contribution = mix;
        const double variance = (window_a2 - window_a * window_a) / n_window +
                                (reference_a2 - reference_a * reference_a) / n_reference + metric_var;
        if (mix_se_known && variance > 0) {
            feature.standard_error = std::sqrt(variance);
            feature.z = mix / *feature.standard_error;
        }
        for (const auto& verdict : drift)
            if (verdict.feature == column.name) feature.drift = verdict;
        candidates.push_back(std::move(feature));
        candidate_rows.emplace_back();
    }
    ranking.candidates = candidates.size();

    // Ranked by the lower bound of the contribution's interval: between a
    // segment and a larger one holding it whose other rows did not change
    // (both carry the same drop), the smaller, exact one has the smaller
    // error. No item explains more than all of the drop: a point estimate
    // past the drop's own upper bound is noise or offsetting changes
    // elsewhere (a segment of 90% of the rows, as capital_gain = 0, beside a
    // small rest that changed), so the bound is taken from the contribution
    // capped there. An item without a standard error has no lower bound and
    // ranks by its point estimate after every item with one.
    const double bound_z = upper_quantile((1 - options.confidence) / 2);
    const double significant_z = upper_quantile(options.alpha / static_cast<double>(std::max<std::size_t>(candidates.size(), 1)));
    const double drop_upper = ranking.drop + bound_z * drop_se;
    std::vector<std::size_t> order(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        order[i] = i;
        auto& c = candidates[i];
        const double capped = std::min(c.contribution, drop_upper);
        const double lower = c.standard_error ? capped - bound_z * *c.standard_error : capped;
        c.explained_share = c.contribution / ranking.drop;
        c.explained_share_lower = lower / ranking.drop;
        c.significant = c.standard_error && c.z >= significant_z;
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto& x = candidates[a];
        const auto& y = candidates[b];
        if (x.standard_error.has_value() != y.standard_error.has_value()) return x.standard_error.has_value();
        return x.explained_share_lower > y.explained_share_lower;
    });
    for (std::size_t k = 0; k < order.size() && k < options.listed; ++k) {
        auto cause = candidates[order[k]];
        if (cause.kind == CauseKind::segment)
            cause.window_interval = window_metric.interval(candidate_rows[order[k]], cause.name());
        ranking.ranked.push_back(std::move(cause));
    }

    std::string left_out;
    if (ranking.columns_left_out > 0) {
        // The names, as many as a line holds; the evidence has them all.
        std::string names;
        for (std::size_t i = 0; i < ranking.columns_not_compared.size() && i < 5; ++i)
            names += (i > 0 ? ", " : "") + ranking.columns_not_compared[i];
        if (ranking.columns_not_compared.size() > 5)
            names += fmt::format(" and {} more", ranking.columns_not_compared.size() - 5);
        std::string why;
        if (ranking.time_budget_reached) why = fmt::format("time budget of {} ms", options.time_budget_ms);
        if (columns_capped) why += (why.empty() ? "" : ", ") + fmt::format("at most {} columns", options.max_columns);
        left_out = fmt::format("; {} columns not compared ({}): {}", ranking.columns_left_out, why, names);
    }
    const auto percent = static_cast<int>(std::lround(options.cause_share * 100));
    if (!ranking.drop_significant) {
        ranking.summary = fmt::format("no cause named: the drop from the reference ({}) is within its sampling error{}",
                                      values, left_out);
        return ranking;
    }
    // A single cause explains at least cause_share of the drop beyond
    // sampling error: the one-sided lower bound of its contribution at
    // `confidence` is at least cause_share times the drop, not its point estimate
    // (two causes of half the drop each would otherwise name one of them
    // about half the time), and it is significant after Bonferroni. Any
    // listed item may qualify, not only the first: a tight item explaining
    // less can rank above a wider one explaining more.
    // A segment is not single when another value of its column (disjoint
    // rows) also carries at least half as much, significantly: a drop split
    // between day=3 and day=7 is two causes, however the halves fall.
    const double share_z = upper_quantile(1 - options.confidence);  // one-sided: "at least"
    const auto rivalled = [&](const Cause& c) {
        return c.kind == CauseKind::segment && std::any_of(candidates.begin(), candidates.end(), [&](const Cause& other) {
                   return other.kind == CauseKind::segment && other.column == c.column && other.value != c.value &&
                          other.significant && other.explained_share >= options.cause_share / 2;
               });
    };
    const auto qualifies = [&](const Cause& c) {
        const double capped = std::min(c.contribution, drop_upper);
        return c.significant && capped - share_z * c.standard_error.value_or(0) >= options.cause_share * ranking.drop &&
               !rivalled(c);
    };
    const auto single = std::find_if(ranking.ranked.begin(), ranking.ranked.end(), qualifies);
    ranking.single_cause = single != ranking.ranked.end();
    if (!ranking.single_cause) {
        ranking.summary = fmt::format(
            "no single cause: no segment or feature explains at least {}% of the drop beyond sampling error ({}){}",
            percent, values, left_out);
        if (!ranking.ranked.empty())
            ranking.summary += fmt::format("; ranked first: {}, {}% of the drop", ranking.ranked.front().name(),
                                           std::lround(ranking.ranked.front().explained_share * 100));
        return ranking;
    }
    // The single cause first; then other significant items explaining at
    // least half as much (a feature and its bin, or a confounded feature,
    // often carry the same drop, so their shares overlap).
    ranking.causes.push_back(describe(*single, options.metric));
    for (const auto& cause : ranking.ranked) {
        if (ranking.causes.size() >= options.named) break;
        if (&cause == &*single) continue;
        if (cause.significant && cause.explained_share >= options.cause_share / 2)
            ranking.causes.push_back(describe(cause, options.metric) + " (overlapping the causes above)");
    }
    ranking.summary = values + "; " + ranking.causes.front() + left_out;
    return ranking;
}

void rank_by_history(Ranking& ranking, const std::vector<HistoryWindow>& history) {
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> series;
    std::map<std::string, std::size_t> alerts;
    const double sign = ranking.lower_is_better ? 1.0 : -1.0;  // the worsening direction is positive
    for (const auto& window : history) {
        for (const auto& verdict : window.drift) {
            auto& [statistic, metric] = series[verdict.feature];
            alerts[verdict.feature] += verdict.drifted ? 1 : 0;
            // Only finite pairs count towards the windows a correlation needs.
            if (!std::isfinite(verdict.statistic) || !std::isfinite(window.metric)) continue;
            statistic.push_back(verdict.statistic);
            metric.push_back(sign * window.metric);
        }
    }
    for (const auto& [feature, pair] : series) {
        HistoryRank rank;
        rank.feature = feature;
        rank.windows = pair.first.size();
        rank.alerts = alerts[feature];
        if (rank.windows >= history_min_windows) {
            const double r = stats::pearson_correlation(pair.first, pair.second);
            if (std::isfinite(r)) rank.correlation = r;
        }
        ranking.correlation_ranking.push_back(rank);
    }
    ranking.alert_count_ranking = ranking.correlation_ranking;
    // NannyML's CorrelationRanker orders by the absolute correlation.
    std::stable_sort(ranking.correlation_ranking.begin(), ranking.correlation_ranking.end(), [](const auto& a, const auto& b) {
        return std::abs(a.correlation.value_or(0)) > std::abs(b.correlation.value_or(0));
    });
    std::stable_sort(ranking.alert_count_ranking.begin(), ranking.alert_count_ranking.end(),
                     [](const auto& a, const auto& b) { return a.alerts > b.alerts; });
}

nlohmann::json to_json(const Ranking& ranking) {
    using nlohmann::json;
    if (!ranking.ok()) return {{"error", ranking.error}};
    json ranked = json::array();
    for (const auto& c : ranking.ranked) {
        json item{{"kind", c.kind == CauseKind::segment ? "segment" : "feature"},
                  {"name", c.name()},
                  {"column", c.column},
                  {"contribution", c.contribution},
                  {"standard_error", c.standard_error ? json(*c.standard_error) : json(nullptr)},
                  {"explained_share", c.explained_share},
                  {"explained_share_lower", c.explained_share_lower},
                  {"z", c.z},
                  {"significant", c.significant}};
        if (c.kind == CauseKind::segment) {
            item["value"] = c.value;
            item["attribute"] = c.attribute;
            item["window_share"] = c.window_share;
            item["reference_share"] = c.reference_share ? json(*c.reference_share) : json(nullptr);
            item["window_rows"] = c.window_rows;
            item["window_metric"] = c.window_metric ? json(*c.window_metric) : json(nullptr);
            item["reference_metric"] = c.reference_metric ? json(*c.reference_metric) : json(nullptr);
            if (c.window_interval)
                item["interval"] = {c.window_interval->lower, c.window_interval->upper, c.window_interval->method};
        } else {
            item["shift"] = c.shift;
            if (c.drift)
                item["drift"] = {{"method", c.drift->method}, {"statistic", c.drift->statistic},
                                 {"p_value", c.drift->p_value}, {"drifted", c.drift->drifted}};
        }
        ranked.push_back(std::move(item));
    }
    const auto history = [](const std::vector<HistoryRank>& ranks) {
        json out = json::array();
        for (const auto& r : ranks)
            out.push_back({{"feature", r.feature}, {"correlation", r.correlation ? json(*r.correlation) : json(nullptr)},
                           {"windows", r.windows}, {"alerts", r.alerts}});
        return out;
    };
    json out{{"metric", ranking.metric},
             {"estimated", ranking.estimated},
             {"reference_value", ranking.reference_value},
             {"window_value", ranking.window_value},
             {"drop", ranking.drop},
             {"improved", ranking.improved},
             {"drop_significant", ranking.drop_significant},
             {"candidates", ranking.candidates},
             {"suppressed_segments", ranking.suppressed},
             {"values_left_out", ranking.values_left_out},
             {"columns_left_out", ranking.columns_left_out},
             {"columns_not_compared", ranking.columns_not_compared},
             {"time_budget_reached", ranking.time_budget_reached},
             {"single_cause", ranking.single_cause},
             {"causes", ranking.causes},
             {"summary", ranking.summary},
             {"ranked", std::move(ranked)},
             {"correlation_values", ranking.estimated ? "estimated" : "realised"},
             {"correlation_ranking", history(ranking.correlation_ranking)},
             {"alert_count_ranking", history(ranking.alert_count_ranking)}};
    if (ranking.window_interval)
        out["window_interval"] = {ranking.window_interval->lower, ranking.window_interval->upper,
                                  ranking.window_interval->method};
    return out;
}

}  // namespace mw::rootcause
