#include "detectors/drift_count_methods.h"

#include <cstdint>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "detectors/feature_drift.h"
#include "stats/chi_squared.h"
#include "stats/distances.h"
#include "stats/proportions_z_test.h"

namespace mw::drift {

namespace {

using config::ComponentInfo;

DriftStatistic from_count_distance(const stats::DistanceResult& distance) {
    return {distance.value, std::nullopt, distance.error};
}

DriftStatistic chi2_on_counts(const DriftCounts& c, const DriftOptions&) {
    // The 2 x K table (reference, current), one column per category; no
    // column is empty in both rows by construction.
    std::vector<double> table(c.reference.begin(), c.reference.end());
    table.insert(table.end(), c.current.begin(), c.current.end());
    const auto test = stats::chi2_contingency(table, 2, c.reference.size());
    return {test.statistic, test.p_value, test.error};
}
std::string chi2_definition(bool categorical, const DriftOptions& options) {
    return "Pearson chi-squared on the 2 x K table (reference, current) " +
           count_bins_definition(categorical, options) +
           ", dof = K - 1, as scipy.stats.chi2_contingency(table, correction=True) (Yates correction when dof = 1)";
}

// Successes: the second category in sorted order ("1" of 0/1, "true" of
// false/true). Both reference categories occur (z_fits), so the pooled share
// is in (0, 1). The totals are the non-missing rows, unseen categories
// included (they count as failures).
DriftStatistic z_on_counts(const DriftCounts& c, const DriftOptions&) {
    const auto total = [](std::span<const double> counts) {
        return static_cast<std::int64_t>(std::accumulate(counts.begin(), counts.end(), 0.0));
    };
    const auto test = stats::two_proportion_z_test(static_cast<std::int64_t>(c.reference[1]), total(c.reference),
                                                   static_cast<std::int64_t>(c.current[1]), total(c.current));
    return {test.statistic, test.p_value, test.error};
}
std::string z_fits(std::size_t reference_distinct) {
    if (reference_distinct == 2) return {};
    return fmt::format("method z needs a binary column, the reference has {} distinct values", reference_distinct);
}
std::string z_definition(bool, const DriftOptions&) {
    return "two-proportion Z-test, pooled variance, two-sided, as statsmodels proportions_ztest; success = "
           "the second reference category in sorted order; current values unseen in the reference count as "
           "failures (named separately)";
}

DriftStatistic psi_on_counts(const DriftCounts& c, const DriftOptions& options) {
    return from_count_distance(stats::psi(c.reference, c.current, options.psi_epsilon));
}
std::string psi_definition(bool categorical, const DriftOptions& options) {
    return fmt::format(
        "PSI = sum (r_i - c_i) ln(r_i / c_i) {}; shares that are exactly 0 are replaced by epsilon = {} (not "
        "renormalised), as Evidently",
        count_bins_definition(categorical, options), options.psi_epsilon);
}

DriftStatistic jensenshannon_on_counts(const DriftCounts& c, const DriftOptions&) {
    return from_count_distance(stats::jensen_shannon_distance(c.reference, c.current));
}
std::string jensenshannon_definition(bool categorical, const DriftOptions& options) {
    return "Jensen-Shannon distance sqrt((KL(r||m) + KL(c||m)) / 2), m = (r + c) / 2, natural log "
           "(Evidently's base; NannyML uses base 2, bounded by 1; here bounded by sqrt(ln 2) = 0.833), " +
           count_bins_definition(categorical, options) + ", as scipy.spatial.distance.jensenshannon";
}

DriftStatistic hellinger_on_counts(const DriftCounts& c, const DriftOptions&) {
    return from_count_distance(stats::hellinger_distance(c.reference, c.current));
}
std::string hellinger_definition(bool categorical, const DriftOptions& options) {
    return "Hellinger distance sqrt(sum (sqrt r_i - sqrt c_i)^2) / sqrt(2) " +
           count_bins_definition(categorical, options);
}

DriftStatistic tvd_on_counts(const DriftCounts& c, const DriftOptions&) {
    return from_count_distance(stats::total_variation_distance(c.reference, c.current));
}
std::string tvd_definition(bool categorical, const DriftOptions& options) {
    return "total variation distance sum |r_i - c_i| / 2 " + count_bins_definition(categorical, options);
}

DriftStatistic kl_on_counts(const DriftCounts& c, const DriftOptions& options) {
    return from_count_distance(stats::kl_divergence(c.reference, c.current, options.psi_epsilon));
}
std::string kl_definition(bool categorical, const DriftOptions& options) {
    return fmt::format(
        "KL(ref || cur) = sum r_i ln(r_i / c_i) in nats {}; zero shares replaced by epsilon = {} then "
        "renormalised, as scipy.stats.entropy",
        count_bins_definition(categorical, options), options.psi_epsilon);
}

}  // namespace

std::string count_bins_definition(bool categorical, const DriftOptions& options) {
    if (categorical)
        return "over one bin per category: each reference category, then each category seen only in the current "
               "window (reference count 0; never pooled)";
    return fmt::format(
        "over {} bins at the reference quantiles i/{} (numpy.quantile 'linear'), outer bins open", options.psi_bins,
        options.psi_bins);
}

constinit const DriftMethod chi2_drift_method{
    ComponentInfo{"chi2", "chi-squared test of the category counts (scipy.stats.chisquare)"}, true, nullptr,
    chi2_on_counts, chi2_definition, nullptr, true};
constinit const DriftMethod z_drift_method{
    ComponentInfo{"z", "two-proportion z-test of a two-valued feature"}, true, nullptr, z_on_counts, z_definition,
    z_fits, true};
constinit const DriftMethod psi_drift_method{
    ComponentInfo{"psi", "population stability index over the reference's bins"}, false, nullptr, psi_on_counts,
    psi_definition};
constinit const DriftMethod jensenshannon_drift_method{
    ComponentInfo{"jensenshannon", "Jensen-Shannon distance of the shares (scipy.spatial.distance.jensenshannon)"},
    false, nullptr, jensenshannon_on_counts, jensenshannon_definition};
constinit const DriftMethod hellinger_drift_method{ComponentInfo{"hellinger", "Hellinger distance of the shares"},
                                                   false, nullptr, hellinger_on_counts, hellinger_definition};
constinit const DriftMethod tvd_drift_method{ComponentInfo{"tvd", "total variation distance of the shares"}, false,
                                             nullptr, tvd_on_counts, tvd_definition};
constinit const DriftMethod kl_drift_method{
    ComponentInfo{"kl", "Kullback-Leibler divergence of the shares (scipy.stats.entropy)"}, false, nullptr,
    kl_on_counts, kl_definition};

}  // namespace mw::drift
