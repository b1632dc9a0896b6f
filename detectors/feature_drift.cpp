#include "detectors/feature_drift.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <span>

#include <fmt/format.h>

#include "stats/anderson_ksamp.h"
#include "stats/chi_squared.h"
#include "stats/cramer_von_mises.h"
#include "stats/distances.h"
#include "stats/ks_test.h"
#include "stats/proportions_z_test.h"
#include "stats/sketch_random.h"
#include "stats/sorting.h"
#include "stats/t_test.h"

namespace mw::drift {

namespace {

using config::ComponentInfo;

// The registry of drift methods: one row per method, its name in config and
// on the command line, what it needs, and its one-line meaning.
constexpr DriftMethodEntry method_table[] = {
    {ComponentInfo{"auto", "per feature: ks / chi2 / z (legacy) or wasserstein / jensenshannon (robust) by its type"},
     DriftMethod::auto_select, false, false, false},
    {ComponentInfo{"ks", "two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp)"}, DriftMethod::ks, true, true,
     false},
    {ComponentInfo{"chi2", "chi-squared test of the category counts (scipy.stats.chisquare)"}, DriftMethod::chi2,
     true, false, true},
    {ComponentInfo{"z", "two-proportion z-test of a two-valued feature"}, DriftMethod::z, true, false, true},
    {ComponentInfo{"wasserstein", "Wasserstein-1 distance over the reference's standard deviation"},
     DriftMethod::wasserstein, false, true, false},
    {ComponentInfo{"psi", "population stability index over the reference's bins"}, DriftMethod::psi, false, false,
     false},
    {ComponentInfo{"jensenshannon", "Jensen-Shannon distance of the shares (scipy.spatial.distance.jensenshannon)"},
     DriftMethod::jensenshannon, false, false, false},
    {ComponentInfo{"hellinger", "Hellinger distance of the shares"}, DriftMethod::hellinger, false, false, false},
    {ComponentInfo{"tvd", "total variation distance of the shares"}, DriftMethod::tvd, false, false, false},
    {ComponentInfo{"kl", "Kullback-Leibler divergence of the shares (scipy.stats.entropy)"}, DriftMethod::kl, false,
     false, false},
    {ComponentInfo{"energy", "energy distance (scipy.stats.energy_distance)"}, DriftMethod::energy, false, true,
     false},
    {ComponentInfo{"anderson", "k-sample Anderson-Darling test (scipy.stats.anderson_ksamp)"}, DriftMethod::anderson,
     true, true, false},
    {ComponentInfo{"cvm", "two-sample Cramer-von Mises test (scipy.stats.cramervonmises_2samp)"}, DriftMethod::cvm,
     true, true, false},
    {ComponentInfo{"ttest", "Welch's t-test of the means (scipy.stats.ttest_ind, equal_var=False)"},
     DriftMethod::ttest, true, true, false},
};

const DriftMethodEntry& row_of(DriftMethod method) {
    for (const auto& row : method_table)
        if (row.method == method) return row;
    return method_table[0];
}

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Evidently's floor on the reference sd (evidently stattests/wasserstein_distance_norm.py).
constexpr double wasserstein_sd_floor = 0.001;

std::string category_key(double value) {
    return fmt::format("{}", value);
}

double population_sd(std::span<const double> values) {
    if (values.empty()) return 0;
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    double sum_squares = 0;
    for (double v : values) sum_squares += (v - mean) * (v - mean);
    return std::sqrt(sum_squares / static_cast<double>(values.size()));
}

double normalized_w1_sorted(std::span<const double> reference_sorted, std::span<const double> current_sorted,
                            double reference_sd) {
    const auto w1 = stats::wasserstein_distance_sorted(reference_sorted, current_sorted);
    return w1.value / std::max(reference_sd, wasserstein_sd_floor);
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

void set_distance(FeatureDriftResult& result, const stats::DistanceResult& distance) {
    if (!distance.ok()) result.error = distance.error;
    result.statistic = distance.value;
}

void set_test(FeatureDriftResult& result, const stats::TestResult& test) {
    if (!test.ok()) result.error = test.error;
    result.statistic = test.statistic;
    result.p_value = test.p_value;
}

// Histogram distances on two aligned count vectors.
void histogram_method(FeatureDriftResult& result, DriftMethod method, const std::vector<double>& reference_counts,
                      const std::vector<double>& current_counts, const DriftOptions& options) {
    switch (method) {
        case DriftMethod::psi:
            set_distance(result, stats::psi(reference_counts, current_counts, options.psi_epsilon));
            break;
        case DriftMethod::jensenshannon:
            set_distance(result, stats::jensen_shannon_distance(reference_counts, current_counts));
            break;
        case DriftMethod::hellinger:
            set_distance(result, stats::hellinger_distance(reference_counts, current_counts));
            break;
        case DriftMethod::tvd:
            set_distance(result, stats::total_variation_distance(reference_counts, current_counts));
            break;
        case DriftMethod::kl:
            set_distance(result, stats::kl_divergence(reference_counts, current_counts, options.psi_epsilon));
            break;
        default:
            result.error = fmt::format("method {} is not a histogram distance", to_string(method));
    }
}

void evaluate_categorical(const FittedFeature& feature, const ColumnData& current, const DriftOptions& options,
                          FeatureDriftResult& result) {
    std::vector<double> current_counts(feature.categories.size(), 0.0);
    std::map<std::string, std::size_t> unseen;
    auto count = [&](const std::string& key) {
        const auto found = feature.category_index.find(key);
        if (found != feature.category_index.end())
            current_counts[found->second] += 1;
        else
            ++unseen[key];
    };
    if (current.numeric) {
        for (double v : current.numbers) {
            if (std::isnan(v)) {
                ++result.current_missing;
                continue;
            }
            count(category_key(v));
        }
    } else {
        for (const auto& text : current.texts) {
            if (text.empty()) {
                ++result.current_missing;
                continue;
            }
            count(text);
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

    switch (feature.method) {
        case DriftMethod::chi2: {
            // The 2 x K table (reference, current), one column per category;
            // no column is empty in both rows by construction.
            std::vector<double> table = reference_counts;
            table.insert(table.end(), current_counts.begin(), current_counts.end());
            const auto test = stats::chi2_contingency(table, 2, reference_counts.size());
            result.statistic = test.statistic;
            result.p_value = test.p_value;
            if (!test.ok()) result.error = test.error;
            break;
        }
        case DriftMethod::z: {
            // Successes: the second category in sorted order ("1" of 0/1, "true" of
            // false/true). Both reference categories occur, so the pooled share is in (0, 1).
            const auto successes1 = static_cast<std::int64_t>(feature.category_counts[1]);
            const auto n1 = static_cast<std::int64_t>(feature.reference_rows);
            const auto successes2 = static_cast<std::int64_t>(current_counts[1]);
            const auto n2 = static_cast<std::int64_t>(result.current_rows);
            set_test(result, stats::two_proportion_z_test(successes1, n1, successes2, n2));
            break;
        }
        default:
            histogram_method(result, feature.method, reference_counts, current_counts, options);
    }
}

void evaluate_numeric(const FittedFeature& feature, const ColumnData& current, const DriftOptions& options,
                      FeatureDriftResult& result) {
    if (!current.numeric) {
        result.error = "the current column is not numeric";
        return;
    }
    std::vector<double> values;
    values.reserve(current.numbers.size());
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
    result.effect_size = normalized_w1_sorted(reference, values, feature.population_sd);
    for (double level : report_quantile_levels) {
        result.reference_quantiles.push_back(quantile_sorted(reference, level));
        result.current_quantiles.push_back(quantile_sorted(values, level));
    }

    switch (feature.method) {
        case DriftMethod::ks:
            set_test(result, stats::ks_2samp_sorted(reference, values));
            break;
        case DriftMethod::wasserstein:
            result.statistic = result.effect_size;
            break;
        case DriftMethod::energy:
            set_distance(result, stats::energy_distance(reference, values));
            break;
        case DriftMethod::anderson: {
            const std::array<std::span<const double>, 2> samples{reference, values};
            const auto test = stats::anderson_ksamp_sorted(samples);
            result.statistic = test.statistic;
            result.p_value = test.significance_level;
            if (!test.ok()) result.error = test.error;
            break;
        }
        case DriftMethod::cvm:
            set_test(result, stats::cramervonmises_2samp_sorted(reference, values));
            break;
        case DriftMethod::ttest:
            set_test(result, stats::welch_t_test(reference, values));
            break;
        default:
            histogram_method(result, feature.method, feature.psi_reference_counts,
                             stats::bin_counts(values, feature.psi_edges), options);
    }

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

std::span<const DriftMethodEntry> drift_methods() { return method_table; }

const char* to_string(DriftMethod method) {
    return row_of(method).info.name.data();
}

std::string drift_method_names() { return config::component_names(drift_methods()); }

std::optional<DriftMethod> parse_drift_method(std::string_view name) {
    const auto* entry = config::find_component(drift_methods(), name);
    if (entry == nullptr) return std::nullopt;
    return entry->method;
}

bool has_p_value(DriftMethod method) {
    return row_of(method).p_value;
}

double default_threshold(DriftMethod method) {
    return has_p_value(method) ? 0.05 : 0.1;
}

const char* to_string(Correction correction) {
    switch (correction) {
        case Correction::none:
            return "none";
        case Correction::bonferroni:
            return "bonferroni";
        case Correction::benjamini_hochberg:
            return "benjamini-hochberg";
    }
    return "none";
}

std::optional<Correction> parse_correction(std::string_view name) {
    if (name == "none") return Correction::none;
    if (name == "bonferroni") return Correction::bonferroni;
    if (name == "benjamini-hochberg" || name == "bh" || name == "fdr_bh") return Correction::benjamini_hochberg;
    return std::nullopt;
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

FittedFeature fit_feature(const ColumnData& reference, const FeatureMethodChoice& choice, const DriftOptions& options) {
    FittedFeature fitted;
    fitted.name = reference.name;
    std::vector<double> values;
    std::map<std::string, std::size_t> counts;
    if (reference.numeric) {
        values.reserve(reference.numbers.size());
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
        for (const auto& text : reference.texts) {
            if (text.empty())
                ++fitted.reference_missing;
            else
                ++counts[text];
        }
        fitted.distinct_values = counts.size();
        fitted.reference_rows = reference.texts.size() - fitted.reference_missing;
    }
    if (fitted.reference_rows == 0) {
        fitted.error = "no reference values (all missing)";
        return fitted;
    }

    // Evidently's distinct-value rule, legacy mode only (see the header).
    const bool few_values =
        options.mode == DriftMode::legacy && fitted.distinct_values <= options.max_categorical_distinct;
    DriftMethod method = choice.method;
    if (method == DriftMethod::auto_select) {
        const bool numeric_view = reference.numeric && !few_values;
        const bool small = fitted.reference_rows <= options.small_reference_rows;
        if (options.mode == DriftMode::robust || small)
            method =
                numeric_view ? DriftMethod::ks : (fitted.distinct_values == 2 ? DriftMethod::z : DriftMethod::chi2);
        else
            method = numeric_view ? DriftMethod::wasserstein : DriftMethod::jensenshannon;
    }
    fitted.method = method;
    fitted.threshold = choice.threshold.value_or(default_threshold(method));
    const auto& row = row_of(method);
    if (row.numeric_only && !reference.numeric) {
        fitted.error = fmt::format("method {} needs a numeric column", row.info.name);
        return fitted;
    }
    fitted.categorical = !reference.numeric || row.categorical_only || (few_values && !row.numeric_only);
    if (method == DriftMethod::z && fitted.distinct_values != 2) {
        fitted.error =
            fmt::format("method z needs a binary column, the reference has {} distinct values", fitted.distinct_values);
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
        // A bootstrap resample of a sorted reference is known by how often
        // each reference position is drawn, and its W1 to the reference is
        // one walk over those counts (stats::wasserstein_distance_to_resample):
        // no resample is materialised, sorted or merged. Positions come from
        // SplitMix64 with Lemire's multiply-shift: no division per draw, and
        // a generator a few times cheaper than mt19937_64.
        const std::size_t n = feature.sorted_values.size();
        std::vector<std::uint32_t> hits(n);
        const double sd = std::max(feature.population_sd, wasserstein_sd_floor);
        stats::SplitMix64 rng{stream_seed};
        for (std::size_t b = 0; b < resamples; ++b) {
            std::fill(hits.begin(), hits.end(), 0u);
            for (std::size_t i = 0; i < sample_rows; ++i) ++hits[rng.below(n)];
            effects.push_back(stats::wasserstein_distance_to_resample(feature.sorted_values, hits, sample_rows) / sd);
        }
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

std::string statistic_definition(DriftMethod method, bool categorical, const DriftOptions& options) {
    const std::string bins =
        categorical ? std::string(
                          "over one bin per category: each reference category, then each category seen only in "
                          "the current window (reference count 0; never pooled)")
                    : fmt::format(
                          "over {} bins at the reference quantiles i/{} (numpy.quantile 'linear'), outer "
                          "bins open",
                          options.psi_bins, options.psi_bins);
    switch (method) {
        case DriftMethod::auto_select:
            return "auto";
        case DriftMethod::ks:
            return "two-sample Kolmogorov-Smirnov D = max|F_ref - F_cur|, p-value as scipy.stats.ks_2samp "
                   "(method='auto': exact when max(n) <= 10000, else asymptotic)";
        case DriftMethod::chi2:
            return "Pearson chi-squared on the 2 x K table (reference, current) " + bins +
                   ", dof = K - 1, as scipy.stats.chi2_contingency(table, correction=True) (Yates correction when "
                   "dof = 1)";
        case DriftMethod::z:
            return "two-proportion Z-test, pooled variance, two-sided, as statsmodels proportions_ztest; success = "
                   "the second reference category in sorted order; current values unseen in the reference count as "
                   "failures (named separately)";
        case DriftMethod::wasserstein:
            return "normalised Wasserstein = W1(ref, cur) / max(population sd of the reference (ddof=0), 0.001), "
                   "as Evidently's wasserstein method; W1 as scipy.stats.wasserstein_distance";
        case DriftMethod::psi:
            return fmt::format(
                "PSI = sum (r_i - c_i) ln(r_i / c_i) {}; shares that are exactly 0 are replaced by "
                "epsilon = {} (not renormalised), as Evidently",
                bins, options.psi_epsilon);
        case DriftMethod::jensenshannon:
            return "Jensen-Shannon distance sqrt((KL(r||m) + KL(c||m)) / 2), m = (r + c) / 2, natural log "
                   "(Evidently's base; NannyML uses base 2, bounded by 1; here bounded by sqrt(ln 2) = 0.833), " +
                   bins + ", as scipy.spatial.distance.jensenshannon";
        case DriftMethod::hellinger:
            return "Hellinger distance sqrt(sum (sqrt r_i - sqrt c_i)^2) / sqrt(2) " + bins;
        case DriftMethod::tvd:
            return "total variation distance sum |r_i - c_i| / 2 " + bins;
        case DriftMethod::kl:
            return fmt::format(
                "KL(ref || cur) = sum r_i ln(r_i / c_i) in nats {}; zero shares replaced by epsilon "
                "= {} then renormalised, as scipy.stats.entropy",
                bins, options.psi_epsilon);
        case DriftMethod::energy:
            return "energy distance sqrt(2 * integral (F_ref - F_cur)^2), as scipy.stats.energy_distance";
        case DriftMethod::anderson:
            return "Anderson-Darling k-sample statistic (midranks), significance level as "
                   "scipy.stats.anderson_ksamp, capped to [0.001, 0.25]";
        case DriftMethod::cvm:
            return "two-sample Cramer-von Mises T, p-value as scipy.stats.cramervonmises_2samp (method='auto')";
        case DriftMethod::ttest:
            return "Welch's t statistic, two-sided p-value as scipy.stats.ttest_ind(equal_var=False)";
    }
    return "";
}

}  // namespace mw::drift
