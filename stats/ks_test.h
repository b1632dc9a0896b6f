// Two-sample Kolmogorov-Smirnov test, two-sided, exactly as
// scipy.stats.ks_2samp(x, y, alternative='two-sided', method='auto') in
// scipy 1.10 (scipy/stats/_stats_py.py):
// - statistic D = max |F_x(t) - F_y(t)| over the pooled sample, ties handled
//   by evaluating both ECDFs right-continuously at every pooled value;
// - method 'auto': exact when max(n_x, n_y) <= 10000, otherwise asymptotic;
// - exact: the p-value P(D >= d) counts lattice paths (Hodges, Arkiv for
//   Matematik 3(43), 1958): for n_x == n_y the alternating binomial sum in
//   Horner form (_compute_prob_outside_square), otherwise the complemented
//   inside method of Viehmann (arXiv:2102.08037,
//   _compute_outer_prob_inside_method); d is then reported as h / lcm(n_x, n_y)
//   as scipy does. If the exact value is not a probability (floating-point
//   failure) it falls back to the asymptotic method, like scipy;
// - asymptotic: kolmogorov_n_sf(round(n_x n_y / (n_x + n_y)), d), i.e.
//   scipy.stats.kstwo.sf.
// Empty samples and NaN values are errors.
#pragma once

#include <span>

#include "stats/result.h"

namespace mw::stats {

enum class KsMethod { exact, asymptotic };

struct KsResult : TestResult {
    KsMethod method = KsMethod::exact;  // the method that produced p_value
};

KsResult ks_2samp(std::span<const double> x, std::span<const double> y);

// The same test on samples already sorted ascending (no copy, no sort): what
// a detector holding a sorted reference should call. Sortedness is the
// caller's promise and is not checked.
KsResult ks_2samp_sorted(std::span<const double> x_sorted, std::span<const double> y_sorted);

// The test for a statistic computed elsewhere (from two sketches' CDFs,
// detectors/profile_drift.h) on samples of n1 and n2 values: d is rounded to
// the nearest attainable h / lcm(n1, n2), then the p-value as ks_2samp's.
KsResult ks_2samp_from_statistic(double statistic, long n1, long n2);

// P(D >= h / lcm(n1, n2)) for two samples of n1 and n2 without ties
// (scipy's exact two-sided path); NaN if the computation fails.
double ks_2samp_exact_sf(long n1, long n2, long h);

}  // namespace mw::stats
