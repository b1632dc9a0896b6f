#include "detectors/drift_sample_methods.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "stats/anderson_ksamp.h"
#include "stats/cramer_von_mises.h"
#include "stats/distances.h"
#include "stats/feature_profile.h"
#include "stats/kll_sketch.h"
#include "stats/ks_test.h"
#include "stats/t_test.h"

namespace mw::drift {

namespace {

using config::ComponentInfo;

DriftStatistic from_sample_test(const stats::TestResult& test) { return {test.statistic, test.p_value, test.error}; }

DriftStatistic ks_on_samples(const DriftSamples& s, const DriftOptions&) {
    return from_sample_test(stats::ks_2samp_sorted(s.reference, s.current));
}
std::string ks_definition(bool, const DriftOptions&) {
    return "two-sample Kolmogorov-Smirnov D = max|F_ref - F_cur|, p-value as scipy.stats.ks_2samp "
           "(method='auto': exact when max(n) <= 10000, else asymptotic)";
}

// The two KLL sketches' CDF distances and the sum of their rank-error bounds.
struct SketchCdfs {
    stats::CdfDistances distances;
    double rank_error = 0;
};
SketchCdfs sketch_cdfs(const DriftSketches& s) {
    const stats::KllSketch& reference = s.reference.quantiles();
    const stats::KllSketch& current = s.current.quantiles();
    return {stats::cdf_distances(reference, current), stats::KllSketch::normalized_rank_error(reference.k()) +
                                                          stats::KllSketch::normalized_rank_error(current.k())};
}

// The sup distance of the two sketches' CDFs, with the p-value of that D at
// the profiles' counts. A sketch that never compacted holds every value, so
// the bound applies only to one that did. ks_2samp_from_statistic rounds D
// to the nearest multiple of 1 / lcm(n_ref, n_cur) before its p-value; the
// sketches' D is such a multiple already (integer weights over exact counts)
// up to floating-point error, and the bound adds the most the rounding can
// move it, 1 / (2 lcm), so that it bounds the statistic reported.
DriftStatistic ks_on_sketches(const DriftSketches& s, const DriftOptions&) {
    const SketchCdfs cdfs = sketch_cdfs(s);
    if (!cdfs.distances.ok()) return {0, std::nullopt, cdfs.distances.error};
    const auto n_reference = static_cast<long>(s.reference.count());
    const auto n_current = static_cast<long>(s.current.count());
    const auto test = stats::ks_2samp_from_statistic(cdfs.distances.sup, n_reference, n_current);
    DriftStatistic result = from_sample_test(test);
    if (!result.error.empty()) return result;
    const double lcm = static_cast<double>(n_reference / std::gcd(n_reference, n_current)) *
                       static_cast<double>(n_current);
    const double bound = cdfs.rank_error + 0.5 / lcm;
    result.sketch_error_bound = bound;
    result.p_value_at_lower_statistic =
        stats::ks_2samp_from_statistic(std::max(0.0, result.statistic - bound), n_reference, n_current).p_value;
    result.p_value_at_upper_statistic =
        stats::ks_2samp_from_statistic(std::min(1.0, result.statistic + bound), n_reference, n_current).p_value;
    return result;
}

DriftStatistic wasserstein_on_samples(const DriftSamples& s, const DriftOptions&) {
    return {normalized_wasserstein(s.reference, s.current, s.reference_sd), std::nullopt, {}};
}
std::string wasserstein_definition(bool, const DriftOptions&) {
    return "normalised Wasserstein = W1(ref, cur) / max(population sd of the reference (ddof=0), 0.001), "
           "as Evidently's wasserstein method; W1 as scipy.stats.wasserstein_distance";
}

// W1 = integral |F_ref - F_cur| of the sketches' CDFs over the exact sd.
DriftStatistic wasserstein_on_sketches(const DriftSketches& s, const DriftOptions&) {
    const SketchCdfs cdfs = sketch_cdfs(s);
    if (!cdfs.distances.ok()) return {0, std::nullopt, cdfs.distances.error};
    const double scale = std::max(std::sqrt(s.reference.population_variance()), wasserstein_reference_sd_floor);
    DriftStatistic result{cdfs.distances.integral_absolute / scale, std::nullopt, {}};
    result.sketch_error_bound = cdfs.rank_error * cdfs.distances.span / scale;
    return result;
}

DriftStatistic energy_on_samples(const DriftSamples& s, const DriftOptions&) {
    const auto distance = stats::energy_distance(s.reference, s.current);
    return {distance.value, std::nullopt, distance.error};
}
std::string energy_definition(bool, const DriftOptions&) {
    return "energy distance sqrt(2 * integral (F_ref - F_cur)^2), as scipy.stats.energy_distance";
}

// |sqrt(2 int a^2) - sqrt(2 int b^2)| <= sqrt(2 int (a - b)^2) (Minkowski),
// and |a - b| <= the rank errors' sum over the span.
DriftStatistic energy_on_sketches(const DriftSketches& s, const DriftOptions&) {
    const SketchCdfs cdfs = sketch_cdfs(s);
    if (!cdfs.distances.ok()) return {0, std::nullopt, cdfs.distances.error};
    DriftStatistic result{std::sqrt(2 * cdfs.distances.integral_squared), std::nullopt, {}};
    result.sketch_error_bound = cdfs.rank_error * std::sqrt(2 * cdfs.distances.span);
    return result;
}

DriftStatistic anderson_on_samples(const DriftSamples& s, const DriftOptions&) {
    const std::array<std::span<const double>, 2> samples{s.reference, s.current};
    const auto test = stats::anderson_ksamp_sorted(samples);
    return {test.statistic, test.significance_level, test.error};
}
std::string anderson_definition(bool, const DriftOptions&) {
    return "Anderson-Darling k-sample statistic (midranks), significance level as "
           "scipy.stats.anderson_ksamp, capped to [0.001, 0.25]";
}

DriftStatistic cvm_on_samples(const DriftSamples& s, const DriftOptions&) {
    return from_sample_test(stats::cramervonmises_2samp_sorted(s.reference, s.current));
}
std::string cvm_definition(bool, const DriftOptions&) {
    return "two-sample Cramer-von Mises T, p-value as scipy.stats.cramervonmises_2samp (method='auto')";
}

DriftStatistic ttest_on_samples(const DriftSamples& s, const DriftOptions&) {
    return from_sample_test(stats::welch_t_test(s.reference, s.current));
}
// Exact: the profiles keep each count, mean and M2.
DriftStatistic ttest_on_sketches(const DriftSketches& s, const DriftOptions&) {
    const auto moments = [](const stats::NumericProfile& p) {
        return stats::SampleMoments{p.count(), p.mean(), p.sample_variance()};
    };
    return from_sample_test(stats::welch_t_test_from_moments(moments(s.reference), moments(s.current)));
}

std::string ttest_definition(bool, const DriftOptions&) {
    return "Welch's t statistic, two-sided p-value as scipy.stats.ttest_ind(equal_var=False)";
}

}  // namespace

double normalized_wasserstein(std::span<const double> reference_sorted, std::span<const double> current_sorted,
                              double reference_sd) {
    const auto w1 = stats::wasserstein_distance_sorted(reference_sorted, current_sorted);
    return w1.value / std::max(reference_sd, wasserstein_reference_sd_floor);
}

constinit const DriftMethod ks_drift_method{
    ComponentInfo{"ks", "two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp)"}, true, ks_on_samples, nullptr,
    ks_definition, nullptr, false, ks_on_sketches};
constinit const DriftMethod wasserstein_drift_method{
    ComponentInfo{"wasserstein", "Wasserstein-1 distance over the reference's standard deviation"}, false,
    wasserstein_on_samples, nullptr, wasserstein_definition, nullptr, false, wasserstein_on_sketches};
constinit const DriftMethod energy_drift_method{
    ComponentInfo{"energy", "energy distance (scipy.stats.energy_distance)"}, false, energy_on_samples, nullptr,
    energy_definition, nullptr, false, energy_on_sketches};
constinit const DriftMethod anderson_drift_method{
    ComponentInfo{"anderson", "k-sample Anderson-Darling test (scipy.stats.anderson_ksamp)"}, true,
    anderson_on_samples, nullptr, anderson_definition};
constinit const DriftMethod cvm_drift_method{
    ComponentInfo{"cvm", "two-sample Cramer-von Mises test (scipy.stats.cramervonmises_2samp)"}, true, cvm_on_samples,
    nullptr, cvm_definition};
constinit const DriftMethod ttest_drift_method{
    ComponentInfo{"ttest", "Welch's t-test of the means (scipy.stats.ttest_ind, equal_var=False)"}, true,
    ttest_on_samples, nullptr, ttest_definition, nullptr, false, ttest_on_sketches};

}  // namespace mw::drift
