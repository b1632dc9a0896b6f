#include "detectors/root_cause.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "detectors/performance_metric.h"
#include "detectors/segment_gaps.h"
#include "stats/descriptive.h"

namespace mw::rootcause {
namespace {

constexpr const char* missing_segment = "(missing)";

// A metric on one set of rows: its value and standard error.
struct SetValue {
    double value = 0;
    double se = 0;
};

// Counts of a proportion metric, for which the rest of a set is the total
// minus the segment (no pass over the rows).
struct Counts {
    double successes = 0;
    double trials = 0;
};

// The metric of one set of rows (window or reference) on any subset of them.
// Accuracy, precision and recall are proportions: counted, Wilson intervals
// (segments::wilson_interval, as statsmodels) and binomial standard errors.
// Other realised metrics go through the registry (compute_performance) with
// bootstrap percentile intervals; CBPE estimates through estimate_cbpe with
// its own standard errors.
class SetMetric {
public:
    SetMetric(const RankingRows& rows, const RankingOptions& options, bool estimated)
        : rows_(rows), options_(options), estimated_(estimated) {
        const auto& o = rows.outcomes;
        const std::string& metric = options.metric;
        proportion_ = !estimated && options.spec.task == performance::Task::classification &&
                      (metric == "accuracy" || metric == "precision" || metric == "recall");
        if (!proportion_) return;
        trial_.resize(rows.size());
        success_.resize(rows.size());
        const auto& positive = options.spec.positive_class;
        for (std::size_t r = 0; r < rows.size(); ++r) {
            const bool correct = o.y_true[r] && *o.y_true[r] == o.y_pred[r];
            const bool predicted = o.y_pred[r] == positive;
            const bool actual = o.y_true[r] && *o.y_true[r] == positive;
            if (metric == "accuracy") trial_[r] = true, success_[r] = correct;
            if (metric == "precision") trial_[r] = predicted, success_[r] = predicted && actual;
            if (metric == "recall") trial_[r] = actual, success_[r] = predicted && actual;
        }
    }

    bool proportion() const { return proportion_; }
    bool trial(std::size_t row) const { return trial_[row]; }
    bool success(std::size_t row) const { return success_[row]; }

    std::optional<SetValue> of_counts(const Counts& counts) const {
        if (counts.trials < 1) return std::nullopt;
        const double p = counts.successes / counts.trials;
        // Shrunk towards 1/2 by half a success (Agresti and Coull 1998) so
        // that a segment with no failures still has a standard error.
        const double shrunk = (counts.successes + 0.5) / (counts.trials + 1);
        return SetValue{p, std::sqrt(shrunk * (1 - shrunk) / counts.trials)};
    }

    // The metric on `subset` (indices into the rows); nothing when undefined there.
    std::optional<SetValue> of_rows(const std::vector<std::size_t>& subset) const {
        if (proportion_) {
            Counts counts;
            for (const auto r : subset) counts.trials += trial_[r], counts.successes += success_[r];
            return of_counts(counts);
        }
        const auto value = compute(subset);
        if (!value) return std::nullopt;
        if (estimated_) return value;
        // Bootstrap standard error of the whole set, scaled to the subset's size.
        return SetValue{value->value, whole_se() * std::sqrt(static_cast<double>(rows_.size()) /
                                                             static_cast<double>(std::max<std::size_t>(subset.size(), 1)))};
    }

    MetricInterval interval(const std::vector<std::size_t>& subset, const std::string& name) const {
        const double z = segments::two_sided_z(options_.confidence);
        if (proportion_) {
            Counts counts;
            for (const auto r : subset) counts.trials += trial_[r], counts.successes += success_[r];
            const auto bounds = segments::wilson_interval(static_cast<std::uint64_t>(counts.successes),
                                                          static_cast<std::uint64_t>(counts.trials), z);
            return {bounds.lower, bounds.upper, "wilson"};
        }
        if (estimated_) {
            const auto value = compute(subset);
            if (!value) return {};
            return {value->value - z * value->se, value->value + z * value->se, "cbpe_normal"};
        }
        const auto replicates = bootstrap(subset, name);
        if (replicates.size() < 2) return {};
        const double tail = (1 - options_.confidence) / 2 * 100;
        return {performance::percentile_linear(replicates, tail), performance::percentile_linear(replicates, 100 - tail),
                "bootstrap"};
    }

private:
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
            return SetValue{*metric->value, metric->standard_error.value_or(0)};
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
        return SetValue{*metric->value, 0};
    }

    std::vector<double> bootstrap(const std::vector<std::size_t>& subset, const std::string& name) const {
        std::vector<double> replicates;
        if (subset.empty()) return replicates;
        // Seeded per set, so a ranking is reproducible and sets do not share draws.
        std::mt19937_64 rng(options_.seed ^ std::hash<std::string>{}(name));
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
    bool proportion_ = false;
    std::vector<bool> trial_;
    std::vector<bool> success_;
    mutable std::optional<double> whole_se_;
};

// A column's rows cut into bins: categorical values or reference quantile
// bins of a numeric feature, the same cuts for window and reference.
struct Binning {
    std::vector<std::string> labels;
    std::vector<int> window_bin;     // per window row, -1: in no shown bin (a value left out)
    std::vector<int> reference_bin;  // per reference row
    std::size_t values_left_out = 0;
};

std::string number_text(double value) { return fmt::format("{:.4g}", value); }

Binning bin_numeric(const Column& window, const Column& reference, std::size_t bins) {
    Binning binning;
    std::vector<double> finite;
    for (const double v : reference.numbers)
        if (std::isfinite(v)) finite.push_back(v);
    std::vector<double> cuts;
    if (!finite.empty()) {
        for (std::size_t b = 1; b < bins; ++b) {
            const double cut = performance::percentile_linear(finite, 100.0 * static_cast<double>(b) / static_cast<double>(bins));
            // Repeated values make repeated quantiles; a cut at the minimum leaves an empty bin.
            if ((cuts.empty() || cut > cuts.back()) && cut > *std::min_element(finite.begin(), finite.end()))
                cuts.push_back(cut);
        }
    }
    for (std::size_t b = 0; b <= cuts.size(); ++b) {
        if (cuts.empty())
            binning.labels.push_back("any value");
        else if (b == 0)
            binning.labels.push_back("< " + number_text(cuts[0]));
        else if (b == cuts.size())
            binning.labels.push_back(">= " + number_text(cuts.back()));
        else
            binning.labels.push_back(fmt::format("in [{}, {})", number_text(cuts[b - 1]), number_text(cuts[b])));
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

Binning bin_categorical(const Column& window, const Column& reference, std::size_t max_values) {
    Binning binning;
    std::map<std::string, std::size_t> frequency;
    for (const auto& v : window.texts) ++frequency[v];
    std::vector<std::pair<std::string, std::size_t>> by_frequency(frequency.begin(), frequency.end());
    std::stable_sort(by_frequency.begin(), by_frequency.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    // Values come from clients: only the most frequent get a bin of their own.
    std::map<std::string, int> index;
    for (const auto& [value, count] : by_frequency) {
        if (index.size() >= max_values) {
            ++binning.values_left_out;
            continue;
        }
        index.emplace(value, static_cast<int>(binning.labels.size()));
        binning.labels.push_back(value.empty() ? missing_segment : value);
    }
    const auto bin_of = [&](const std::string& v) {
        const auto found = index.find(v);
        return found == index.end() ? -1 : found->second;
    };
    for (const auto& v : window.texts) binning.window_bin.push_back(bin_of(v));
    for (const auto& v : reference.texts) binning.reference_bin.push_back(bin_of(v));
    return binning;
}

// The rows of each bin, and of the rest of the column's rows, over one set.
struct BinRows {
    std::vector<std::vector<std::size_t>> in;
    std::vector<std::size_t> all;  // rows the metric counts (its trials, for a proportion)
};

BinRows rows_by_bin(const std::vector<int>& bins, std::size_t labels, const SetMetric& metric) {
    BinRows rows;
    rows.in.resize(labels);
    for (std::size_t r = 0; r < bins.size(); ++r) {
        if (metric.proportion() && !metric.trial(r)) continue;
        rows.all.push_back(r);
        if (bins[r] >= 0) rows.in[static_cast<std::size_t>(bins[r])].push_back(r);
    }
    return rows;
}

std::vector<std::size_t> rest_of(const std::vector<std::size_t>& all, const std::vector<std::size_t>& in) {
    std::vector<std::size_t> rest;
    std::set_difference(all.begin(), all.end(), in.begin(), in.end(), std::back_inserter(rest));
    return rest;
}

// A segment's metric and its rest's, on one set: from counts for a
// proportion, else over the rows.
struct Split {
    std::optional<SetValue> in;
    std::optional<SetValue> rest;
};

Split split(const SetMetric& metric, const BinRows& rows, std::size_t bin, const Counts& total) {
    const auto& in = rows.in[bin];
    if (metric.proportion()) {
        Counts counts;
        for (const auto r : in) counts.trials += 1, counts.successes += metric.success(r);
        return {metric.of_counts(counts), metric.of_counts({total.successes - counts.successes, total.trials - counts.trials})};
    }
    return {metric.of_rows(in), metric.of_rows(rest_of(rows.all, in))};
}

Counts total_counts(const SetMetric& metric, const BinRows& rows) {
    Counts total;
    if (!metric.proportion()) return total;
    for (const auto r : rows.all) total.trials += 1, total.successes += metric.success(r);
    return total;
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
    text += fmt::format(", {:.0f}% of the window vs {:.0f}%", cause.window_share * 100, cause.reference_share * 100);
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
    const SetMetric window_metric(window, options, ranking.estimated);
    const SetMetric reference_metric(reference, options, false);

    std::vector<std::size_t> window_all, reference_all;
    for (std::size_t r = 0; r < window.size(); ++r)
        if (!window_metric.proportion() || window_metric.trial(r)) window_all.push_back(r);
    for (std::size_t r = 0; r < reference.size(); ++r)
        if (!reference_metric.proportion() || reference_metric.trial(r)) reference_all.push_back(r);
    const auto whole_window = window_metric.of_rows(window_all);
    const auto whole_reference = reference_metric.of_rows(reference_all);
    if (!whole_window || !whole_reference) {
        ranking.error = fmt::format("{}: {} is undefined on its rows", whole_window ? "reference" : "window", options.metric);
        return ranking;
    }
    ranking.window_value = whole_window->value;
    ranking.reference_value = whole_reference->value;
    ranking.window_interval = window_metric.interval(window_all, "window");
    ranking.drop = sign * (whole_reference->value - whole_window->value);
    const double drop_se = std::hypot(whole_reference->se, whole_window->se);
    ranking.drop_significant = ranking.drop > 0 && ranking.drop > upper_quantile(options.alpha) * drop_se;

    std::vector<Cause> candidates;
    std::vector<std::vector<std::size_t>> candidate_rows;  // the window rows of each segment, for its interval
    const double min_rows = static_cast<double>(options.min_segment_rows);
    for (const auto& column : window.columns) {
        const auto other = std::find_if(reference.columns.begin(), reference.columns.end(),
                                        [&](const Column& c) { return c.name == column.name && c.numeric == column.numeric; });
        if (other == reference.columns.end()) continue;
        const auto binning = column.numeric ? bin_numeric(column, *other, options.numeric_bins)
                                            : bin_categorical(column, *other, options.max_values_per_column);
        ranking.values_left_out += binning.values_left_out;
        const auto in_window = rows_by_bin(binning.window_bin, binning.labels.size(), window_metric);
        const auto in_reference = rows_by_bin(binning.reference_bin, binning.labels.size(), reference_metric);
        const auto window_total = total_counts(window_metric, in_window);
        const auto reference_total = total_counts(reference_metric, in_reference);
        const double n_window = static_cast<double>(in_window.all.size());
        const double n_reference = static_cast<double>(in_reference.all.size());
        if (n_window == 0 || n_reference == 0) continue;

        // The feature: sum over bins of (w_b - r_b) * a_b, a_b = M_ref - mu_b
        // (0 for a bin the reference has too few rows of). Its variance: the
        // window's and the reference's multinomial share noise, plus the
        // reference bins' metric noise.
        double mix = 0, shift = 0, window_a = 0, window_a2 = 0, reference_a = 0, reference_a2 = 0, metric_var = 0;
        for (std::size_t b = 0; b < binning.labels.size(); ++b) {
            const double nw = static_cast<double>(in_window.in[b].size());
            const double nr = static_cast<double>(in_reference.in[b].size());
            const double w = nw / n_window;
            const double r = nr / n_reference;
            shift += std::abs(w - r) / 2;
            if (nw == 0 && nr == 0) continue;
            const auto s = split(window_metric, in_window, b, window_total);
            const auto mu = split(reference_metric, in_reference, b, reference_total);
            const bool known = nr >= min_rows && mu.in && mu.rest;

            // The segment, when the window has enough rows of it to show.
            if (nw > 0 && nw < min_rows) ++ranking.suppressed;
            if (nw >= min_rows && s.in && s.rest) {
                Cause cause;
                cause.column = column.name;
                cause.attribute = column.attribute;
                cause.value = binning.labels[b];
                cause.numeric_bin = column.numeric;
                cause.window_share = w;
                cause.reference_share = r;
                cause.window_rows = in_window.in[b].size();
                cause.window_metric = s.in->value;
                const double window_gap = w * (s.in->value - s.rest->value);
                double variance = w * w * (s.in->se * s.in->se + s.rest->se * s.rest->se);
                double reference_gap = 0;
                if (known) {
                    cause.reference_metric = mu.in->value;
                    reference_gap = r * (mu.in->value - mu.rest->value);
                    variance += r * r * (mu.in->se * mu.in->se + mu.rest->se * mu.rest->se);
                }
                cause.contribution = sign * (reference_gap - window_gap);
                cause.z = variance > 0 ? cause.contribution / std::sqrt(variance) : 0;
                candidates.push_back(std::move(cause));
                candidate_rows.push_back(in_window.in[b]);
            }
            if (!known) continue;
            const double a = sign * (whole_reference->value - mu.in->value);
            mix += (w - r) * a;
            window_a += w * a, window_a2 += w * a * a;
            reference_a += r * a, reference_a2 += r * a * a;
            metric_var += (w - r) * (w - r) * mu.in->se * mu.in->se;
        }
        if (column.attribute) continue;  // attributes are not model inputs: segments only
        Cause feature;
        feature.kind = CauseKind::feature;
        feature.column = column.name;
        feature.shift = shift;
        feature.contribution = mix;
        const double variance = (window_a2 - window_a * window_a) / n_window +
                                (reference_a2 - reference_a * reference_a) / n_reference + metric_var;
        feature.z = variance > 0 ? mix / std::sqrt(variance) : 0;
        for (const auto& verdict : drift)
            if (verdict.feature == column.name) feature.drift = verdict;
        candidates.push_back(std::move(feature));
        candidate_rows.emplace_back();
    }
    ranking.candidates = candidates.size();

    // Ranked by the lower 95% bound of the contribution: between a segment
    // and a larger one holding it whose other rows did not change (both
    // carry the same drop), the smaller, exact one has the smaller error.
    const double bound_z = upper_quantile((1 - options.confidence) / 2);
    const double significant_z = upper_quantile(options.alpha / static_cast<double>(std::max<std::size_t>(candidates.size(), 1)));
    std::vector<std::size_t> order(candidates.size());
    std::vector<double> lower_bound(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        order[i] = i;
        auto& c = candidates[i];
        const double se = c.z != 0 ? c.contribution / c.z : 0;
        lower_bound[i] = c.contribution - bound_z * se;
        c.explained_share = ranking.drop > 0 ? c.contribution / ranking.drop : 0;
        c.significant = c.z >= significant_z;
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lower_bound[a] > lower_bound[b]; });
    for (std::size_t k = 0; k < order.size() && k < options.listed; ++k) {
        auto cause = candidates[order[k]];
        if (cause.kind == CauseKind::segment)
            cause.window_interval = window_metric.interval(candidate_rows[order[k]], cause.name());
        ranking.ranked.push_back(std::move(cause));
    }

    const auto percent = static_cast<int>(std::lround(options.cause_share * 100));
    const std::string values = fmt::format("{} {} vs {} in reference", options.metric, metric_text(ranking.window_value),
                                           metric_text(ranking.reference_value));
    if (!ranking.drop_significant) {
        ranking.summary = fmt::format("no cause named: {}, a change within sampling error", values);
        return ranking;
    }
    const auto qualifies = [&](const Cause& c) { return c.significant && c.explained_share >= options.cause_share; };
    ranking.single_cause = !ranking.ranked.empty() && qualifies(ranking.ranked.front());
    if (!ranking.single_cause) {
        ranking.summary = fmt::format("no single cause: no segment or feature explains more than {}% of the drop ({})",
                                      percent, values);
        return ranking;
    }
    // Named besides the first: other items explaining at least half as much
    // (a feature and its bin, or a confounded feature, often carry the same drop).
    for (const auto& cause : ranking.ranked) {
        if (ranking.causes.size() >= options.named) break;
        if (cause.significant && cause.explained_share >= options.cause_share / 2)
            ranking.causes.push_back(describe(cause, options.metric));
    }
    ranking.summary = values + "; " + ranking.causes.front();
    return ranking;
}

void rank_by_history(Ranking& ranking, const std::vector<HistoryWindow>& history) {
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> series;
    std::map<std::string, std::size_t> alerts;
    const double sign = ranking.lower_is_better ? 1.0 : -1.0;  // the worsening direction is positive
    for (const auto& window : history) {
        for (const auto& verdict : window.drift) {
            auto& [statistic, metric] = series[verdict.feature];
            statistic.push_back(verdict.statistic);
            metric.push_back(sign * window.metric);
            alerts[verdict.feature] += verdict.drifted ? 1 : 0;
        }
    }
    for (const auto& [feature, pair] : series) {
        HistoryRank rank;
        rank.feature = feature;
        rank.windows = pair.first.size();
        rank.alerts = alerts[feature];
        if (rank.windows >= 3) {
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
                  {"explained_share", c.explained_share},
                  {"z", c.z},
                  {"significant", c.significant}};
        if (c.kind == CauseKind::segment) {
            item["value"] = c.value;
            item["attribute"] = c.attribute;
            item["window_share"] = c.window_share;
            item["reference_share"] = c.reference_share;
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
             {"drop_significant", ranking.drop_significant},
             {"candidates", ranking.candidates},
             {"suppressed_segments", ranking.suppressed},
             {"values_left_out", ranking.values_left_out},
             {"single_cause", ranking.single_cause},
             {"causes", ranking.causes},
             {"summary", ranking.summary},
             {"ranked", std::move(ranked)},
             {"correlation_ranking", history(ranking.correlation_ranking)},
             {"alert_count_ranking", history(ranking.alert_count_ranking)}};
    if (ranking.window_interval)
        out["window_interval"] = {ranking.window_interval->lower, ranking.window_interval->upper,
                                  ranking.window_interval->method};
    return out;
}

}  // namespace mw::rootcause
