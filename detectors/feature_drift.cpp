#include "detectors/feature_drift.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <span>

#include <fmt/format.h>

#include "detectors/drift_sample_methods.h"
#include "stats/bootstrap_wasserstein.h"
#include "stats/distances.h"
#include "stats/huge_pages.h"
#include "stats/sorting.h"

namespace mw::drift {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

std::string category_key(double value) {
    return fmt::format("{}", value);
}

// How many rows hold each code of a text column (0 for a dictionary entry
// no row holds any more).
std::vector<std::size_t> rows_per_code(const TextColumn& texts) {
    std::vector<std::size_t> rows(texts.distinct(), 0);
    for (const std::uint32_t code : texts.codes()) ++rows[code];
    return rows;
}

double population_sd(std::span<const double> values) {
    if (values.empty()) return 0;
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    double sum_squares = 0;
    for (double v : values) sum_squares += (v - mean) * (v - mean);
    return std::sqrt(sum_squares / static_cast<double>(values.size()));
}

// FNV-1a of the feature name: each feature gets its own reproducible stream.
std::uint64_t name_hash(std::string_view name) {
    std::uint64_t hash = 1469598103934665603ull;
    for (unsigned char c : name) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    return hash;
}

// numpy.quantile(values, level) with the default method 'linear' on sorted values.
double quantile_sorted(std::span<const double> sorted, double level) {
    const double h = static_cast<double>(sorted.size() - 1) * level;
    const auto low = static_cast<std::size_t>(std::floor(h));
    if (low + 1 >= sorted.size()) return sorted.back();
    return sorted[low] + (h - static_cast<double>(low)) * (sorted[low + 1] - sorted[low]);
}

std::vector<double> shares(const std::vector<double>& counts) {
    const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
    std::vector<double> out(counts.size(), 0.0);
    if (total > 0)
        for (std::size_t i = 0; i < counts.size(); ++i) out[i] = counts[i] / total;
    return out;
}

// The method's statistic on one view of the feature.
void set_statistic(FeatureDriftResult& result, const DriftStatistic& computed) {
    result.statistic = computed.statistic;
    if (computed.p_value) result.p_value = computed.p_value;
    if (!computed.error.empty()) result.error = computed.error;
}

void evaluate_categorical(const FittedFeature& feature, const ColumnData& current, const DriftOptions& options,
                          FeatureDriftResult& result) {
    std::vector<double> current_counts(feature.categories.size(), 0.0);
    std::map<std::string, std::size_t> unseen;
    auto count = [&](std::string_view key, std::size_t rows) {
        const auto found = feature.category_index.find(key);
        if (found != feature.category_index.end())
            current_counts[found->second] += static_cast<double>(rows);
        else
            unseen[std::string(key)] += rows;
    };
    if (current.numeric) {
        for (double v : current.numbers) {
            if (std::isnan(v)) {
                ++result.current_missing;
                continue;
            }
            count(category_key(v), 1);
        }
    } else {
        // Rows per dictionary code, then each distinct text looked up once.
        const std::vector<std::size_t> rows = rows_per_code(current.texts);
        for (std::uint32_t code = 0; code < rows.size(); ++code) {
            if (rows[code] == 0) continue;
            if (current.texts.text(code).empty())
                result.current_missing += rows[code];
            else
                count(current.texts.text(code), rows[code]);
        }
    }
    // The table every statistic is computed on: one column per reference
    // category, then one per category seen only in the current window
    // (reference count 0), in sorted order, as scipy's chi2_contingency and
    // Evidently's category binning see them. Pooling the unseen categories
    // into one column would lower chi-squared's degrees of freedom and change
    // PSI and KL; the report's chart alone pools them into "(unseen)".
    std::vector<double> reference_counts = feature.category_counts;
    const std::size_t seen_columns = reference_counts.size();
    for (const auto& [value, n] : unseen) {
        reference_counts.push_back(0);
        current_counts.push_back(static_cast<double>(n));
        result.unseen_categories.push_back({value, n});
        result.unseen_rows += n;
    }
    result.unseen_distinct = result.unseen_categories.size();
    std::sort(result.unseen_categories.begin(), result.unseen_categories.end(),
              [](const UnseenCategory& a, const UnseenCategory& b) {
                  return a.count != b.count ? a.count > b.count : a.value < b.value;
              });
    if (result.unseen_categories.size() > max_reported_unseen) result.unseen_categories.resize(max_reported_unseen);

    const double current_total = std::accumulate(current_counts.begin(), current_counts.end(), 0.0);
    result.current_rows = static_cast<std::size_t>(current_total);
    if (result.current_rows == 0) {
        result.error = "no current values (all missing)";
        return;
    }
    result.effect_size = stats::jensen_shannon_distance(reference_counts, current_counts).value;

    // The chart: the reference categories and one pooled "(unseen)" bar.
    result.bin_labels = feature.categories;
    std::vector<double> chart_current(current_counts.begin(), current_counts.begin() + seen_columns);
    std::vector<double> chart_reference = feature.category_counts;
    if (!unseen.empty()) {
        result.bin_labels.push_back("(unseen)");
        chart_reference.push_back(0);
        chart_current.push_back(static_cast<double>(result.unseen_rows));
    }
    result.reference_shares = shares(chart_reference);
    result.current_shares = shares(chart_current);

    set_statistic(result, feature.method->on_counts({reference_counts, current_counts}, options));
}

void evaluate_numeric(const FittedFeature& feature, const ColumnData& current, const DriftOptions& options,
                      FeatureDriftResult& result) {
    if (!current.numeric) {
        result.error = "the current column is not numeric";
        return;
    }
    std::vector<double> values;
    values.reserve(current.numbers.size());
    stats::prefer_huge_pages(values.data(), values.capacity() * sizeof(double));
    for (double v : current.numbers) {
        if (std::isnan(v))
            ++result.current_missing;
        else
            values.push_back(v);
    }
    result.current_rows = values.size();
    if (values.empty()) {
        result.error = "no current values (all missing)";
        return;
    }
    stats::sort_ascending(values);
    const std::span<const double> reference = feature.sorted_values;
    result.effect_size = normalized_wasserstein(reference, values, feature.population_sd);
    for (double level : report_quantile_levels) {
        result.reference_quantiles.push_back(quantile_sorted(reference, level));
        result.current_quantiles.push_back(quantile_sorted(values, level));
    }

    if (feature.method->on_samples != nullptr)
        set_statistic(result, feature.method->on_samples({reference, values, feature.population_sd}, options));
    else
        set_statistic(result, feature.method->on_counts(
                                  {feature.psi_reference_counts, stats::bin_counts(values, feature.psi_edges)}, options));

    // The report's chart: 20 equal-width bins over the pooled range.
    const double low = std::min(reference.front(), values.front());
    const double high = std::max(reference.back(), values.back());
    constexpr std::size_t chart_bins = 20;
    const auto edges = stats::equal_width_bin_edges(low, high > low ? high : low + 1, chart_bins);
    result.reference_shares = shares(stats::bin_counts(reference, edges));
    result.current_shares = shares(stats::bin_counts(values, edges));
    result.bin_labels.push_back(fmt::format("{:.4g}", low));
    for (double edge : edges) result.bin_labels.push_back(fmt::format("{:.4g}", edge));
}

}  // namespace

namespace {

constexpr CorrectionEntry correction_table[] = {
    {{"benjamini_hochberg", "Benjamini-Hochberg step-up (false discovery rate)"}, Correction::benjamini_hochberg},
    {{"bonferroni", "Bonferroni: m times each p-value (family-wise error)"}, Correction::bonferroni},
    {{"none", "p-values as computed"}, Correction::none},
    {{"bh", "benjamini_hochberg"}, Correction::benjamini_hochberg},
    {{"fdr_bh", "benjamini_hochberg (statsmodels' name)"}, Correction::benjamini_hochberg},
};

constexpr DriftModeEntry drift_mode_table[] = {
    {{"robust", "corrected p-value AND effect size above a floor and above the noise of reference resamples"},
     DriftMode::robust},
    {{"legacy", "Evidently's plain rule: the test or distance alone"}, DriftMode::legacy},
};

}  // namespace

std::span<const CorrectionEntry> corrections() { return correction_table; }

const char* to_string(Correction correction) {
    for (const auto& entry : correction_table)
        if (entry.correction == correction) return entry.info.name.data();
    return "none";
}

std::optional<Correction> parse_correction(std::string_view name) {
    const auto* entry = config::find_component(corrections(), name);
    return entry ? std::optional(entry->correction) : std::nullopt;
}

std::span<const DriftModeEntry> drift_modes() { return drift_mode_table; }

std::optional<DriftMode> parse_drift_mode(std::string_view name) {
    const auto* entry = config::find_component(drift_modes(), name);
    return entry ? std::optional(entry->mode) : std::nullopt;
}

std::vector<double> adjust_p_values(const std::vector<double>& p_values, Correction correction) {
    std::vector<double> adjusted = p_values;
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < p_values.size(); ++i)
        if (!std::isnan(p_values[i])) order.push_back(i);
    const double m = static_cast<double>(order.size());
    if (correction == Correction::none || order.empty()) return adjusted;
    if (correction == Correction::bonferroni) {
        for (std::size_t i : order) adjusted[i] = std::min(1.0, p_values[i] * m);
        return adjusted;
    }
    // Benjamini & Hochberg (JRSS B 57(1), 1995), step-up: walk from the
    // largest p-value down, keeping the running minimum of m p_(j) / j.
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
    double running = 1.0;
    for (std::size_t rank = order.size(); rank >= 1; --rank) {
        const std::size_t i = order[rank - 1];
        running = std::min(running, p_values[i] * m / static_cast<double>(rank));
        adjusted[i] = running;
    }
    return adjusted;
}

MethodSelection select_drift_method(const FeatureMethodChoice& choice, bool numeric_column,
                                    std::size_t reference_rows, std::size_t distinct_values,
                                    const DriftOptions& options) {
    // Evidently's distinct-value rule, legacy mode only (see the header).
    const bool few_values = options.mode == DriftMode::legacy && distinct_values <= options.max_categorical_distinct;
    const DriftMethod* method = choice.method;
    if (method == nullptr || method->selects_per_feature()) {
        const bool numeric_view = numeric_column && !few_values;
        const bool small = reference_rows <= options.small_reference_rows;
        if (options.mode == DriftMode::robust || small)
            method = &drift_method(numeric_view ? "ks" : (distinct_values == 2 ? "z" : "chi2"));
        else
            method = &drift_method(numeric_view ? "wasserstein" : "jensenshannon");
    }
    MethodSelection selection{method, choice.threshold.value_or(default_threshold(*method)), false, {}};
    if (method->numeric_only() && !numeric_column) {
        selection.error = fmt::format("method {} needs a numeric column", method->info.name);
        return selection;
    }
    selection.categorical = !numeric_column || method->categories_only || (few_values && !method->numeric_only());
    if (method->fits != nullptr) selection.error = method->fits(distinct_values);
    return selection;
}

FittedFeature fit_feature(const ColumnData& reference, const FeatureMethodChoice& choice, const DriftOptions& options) {
    FittedFeature fitted;
    fitted.name = reference.name;
    fitted.method = &drift_method("ks");  // what a reference without values reports
    std::vector<double> values;
    std::map<std::string, std::size_t> counts;
    if (reference.numeric) {
        values.reserve(reference.numbers.size());
        stats::prefer_huge_pages(values.data(), values.capacity() * sizeof(double));
        for (double v : reference.numbers) {
            if (std::isnan(v))
                ++fitted.reference_missing;
            else
                values.push_back(v);
        }
        stats::sort_ascending(values);
        for (std::size_t i = 0; i < values.size(); ++i)
            if (i == 0 || values[i] != values[i - 1]) ++fitted.distinct_values;
        fitted.reference_rows = values.size();
    } else {
        const std::vector<std::size_t> rows = rows_per_code(reference.texts);
        for (std::uint32_t code = 0; code < rows.size(); ++code) {
            if (rows[code] == 0) continue;
            if (reference.texts.text(code).empty())
                fitted.reference_missing += rows[code];
            else
                counts[std::string(reference.texts.text(code))] += rows[code];
        }
        fitted.distinct_values = counts.size();
        fitted.reference_rows = reference.texts.size() - fitted.reference_missing;
    }
    if (fitted.reference_rows == 0) {
        fitted.error = "no reference values (all missing)";
        return fitted;
    }

    const MethodSelection selection = select_drift_method(choice, reference.numeric, fitted.reference_rows,
                                                          fitted.distinct_values, options);
    fitted.method = selection.method;
    fitted.threshold = selection.threshold;
    fitted.categorical = selection.categorical;
    if (!selection.error.empty()) {
        fitted.error = selection.error;
        return fitted;
    }

    if (reference.numeric) {
        fitted.population_sd = population_sd(values);
        if (fitted.categorical) {
            for (double v : values) ++counts[category_key(v)];
        } else {
            fitted.psi_edges = stats::quantile_bin_edges(values, options.psi_bins);
            fitted.psi_reference_counts = stats::bin_counts(values, fitted.psi_edges);
        }
        fitted.sorted_values = std::move(values);
    }
    if (fitted.categorical) {
        for (const auto& [key, n] : counts) {
            fitted.category_index.emplace(key, fitted.categories.size());
            fitted.categories.push_back(key);
            fitted.category_counts.push_back(static_cast<double>(n));
        }
    }
    return fitted;
}

NoiseBaseline compute_noise_baseline(const FittedFeature& feature, std::size_t sample_rows, std::size_t resamples,
                                     double sd_multiplier, std::uint64_t seed) {
    NoiseBaseline baseline;
    baseline.sample_rows = sample_rows;
    baseline.resamples = resamples;
    if (resamples == 0 || sample_rows == 0 || !feature.error.empty()) return baseline;
    const std::uint64_t stream_seed = seed ^ name_hash(feature.name);
    std::vector<double> effects;
    effects.reserve(resamples);
    if (feature.categorical) {
        // Multinomial resample of the reference's category shares, drawn as
        // one binomial per category conditioned on the draws left (count_i ~
        // Binomial(rows left, share_i / share left)): k draws per resample
        // instead of one per row, with the same distribution.
        std::mt19937_64 rng(stream_seed);
        const double total = std::accumulate(feature.category_counts.begin(), feature.category_counts.end(), 0.0);
        std::vector<double> counts(feature.category_counts.size());
        for (std::size_t b = 0; b < resamples; ++b) {
            auto rows_left = static_cast<std::int64_t>(sample_rows);
            double share_left = total;
            for (std::size_t c = 0; c < counts.size(); ++c) {
                std::int64_t drawn = rows_left;
                if (c + 1 < counts.size() && rows_left > 0) {
                    const double p = std::clamp(feature.category_counts[c] / share_left, 0.0, 1.0);
                    drawn = std::binomial_distribution<std::int64_t>(rows_left, p)(rng);
                }
                counts[c] = static_cast<double>(drawn);
                rows_left -= drawn;
                share_left -= feature.category_counts[c];
            }
            effects.push_back(stats::jensen_shannon_distance(feature.category_counts, counts).value);
        }
    } else {
        // Bootstrap resamples of the sorted reference, drawn as counts per
        // reference position and walked once against it (see
        // stats/bootstrap_wasserstein.h): no resample is materialised.
        const double sd = std::max(feature.population_sd, wasserstein_reference_sd_floor);
        for (const double distance :
             stats::bootstrap_wasserstein_distances(feature.sorted_values, sample_rows, resamples, stream_seed))
            effects.push_back(distance / sd);
    }
    baseline.mean = std::accumulate(effects.begin(), effects.end(), 0.0) / static_cast<double>(effects.size());
    if (effects.size() > 1) {
        double sum_squares = 0;
        for (double e : effects) sum_squares += (e - baseline.mean) * (e - baseline.mean);
        baseline.sd = std::sqrt(sum_squares / static_cast<double>(effects.size() - 1));
    }
    baseline.limit = baseline.mean + sd_multiplier * baseline.sd;
    return baseline;
}

const NoiseBaseline& NoiseBaselineCache::get(const FittedFeature& feature, std::size_t sample_rows,
                                             const DriftOptions& options) {
    auto found = by_rows_.find(sample_rows);
    if (found == by_rows_.end())
        found = by_rows_
                    .emplace(sample_rows, compute_noise_baseline(feature, sample_rows, options.noise_resamples,
                                                                 options.noise_sd_multiplier, options.seed))
                    .first;
    return found->second;
}

FeatureDriftResult evaluate_feature(const FittedFeature& feature, const ColumnData& current,
                                    const DriftOptions& options) {
    FeatureDriftResult result;
    result.feature = feature.name;
    result.method = feature.method;
    result.categorical = feature.categorical;
    result.threshold = feature.threshold;
    result.reference_rows = feature.reference_rows;
    result.reference_missing = feature.reference_missing;
    result.reference_distinct = feature.distinct_values;
    if (!feature.error.empty()) {
        result.error = feature.error;
        return result;
    }
    if (feature.categorical)
        evaluate_categorical(feature, current, options, result);
    else
        evaluate_numeric(feature, current, options, result);
    return result;
}

void decide_drift(std::vector<FeatureDriftResult>& results, const std::vector<const FittedFeature*>& fitted,
                  const std::vector<NoiseBaselineCache*>& caches, const DriftOptions& options) {
    std::vector<double> p_values(results.size(), nan);
    for (std::size_t i = 0; i < results.size(); ++i)
        if (results[i].ok() && results[i].p_value) p_values[i] = *results[i].p_value;
    const bool robust = options.mode == DriftMode::robust;
    const auto adjusted = adjust_p_values(p_values, robust ? options.correction : Correction::none);
    for (std::size_t i = 0; i < results.size(); ++i) {
        auto& result = results[i];
        if (!result.ok()) continue;
        if (result.p_value) {
            if (robust) result.adjusted_p_value = adjusted[i];
            result.test_significant = adjusted[i] < result.threshold;
        } else {
            // Evidently: a distance drifts when it reaches its threshold.
            result.test_significant = result.statistic >= result.threshold;
        }
        result.drifted = result.test_significant;
        if (!robust) continue;
        result.drifted = result.drifted && result.effect_size > options.effect_floor;
        if (options.noise_resamples > 0) {
            result.noise = caches[i]->get(*fitted[i], result.current_rows, options);
            result.drifted = result.drifted && result.effect_size > result.noise->limit;
        }
    }
}

std::string statistic_definition(const DriftMethod& method, bool categorical, const DriftOptions& options) {
    return method.definition(categorical, options);
}

}  // namespace mw::drift
