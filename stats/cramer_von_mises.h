// Two-sample Cramér-von Mises test, as scipy.stats.cramervonmises_2samp(x, y,
// method='auto') in scipy 1.10 (scipy/stats/_hypotests.py):
// - U = n_x sum (r_i - i)^2 + n_y sum (s_j - j)^2 over the midranks of each
//   sample in the pooled sample (Anderson, Ann. Math. Statist. 33(3), 1962,
//   eq. 10), T = U / (n_x n_y N) - (4 n_x n_y - 1) / (6 N) (eq. 9);
// - 'auto': exact when max(n_x, n_y) <= 20: the frequency table of U over all
//   binom(N, n_x) rank assignments (Xiao, Gordon & Yakovlev, J. Stat.
//   Software 17(8), 2006, Algorithm 1), p = P(U >= u);
// - otherwise asymptotic: T normalised by its mean and variance (Anderson
//   eq. 11, 14, 15) and 1 - the limiting one-sample distribution
//   (Csörgő & Faraway, JRSS B 58(1), 1996, eq. 1.2), its series summed until
//   a term is below 1e-7 as scipy does; 1 when the normalised statistic is
//   below 0.003.
// Errors: a sample with fewer than 2 values (scipy raises) and NaN values.
#pragma once

#include <span>

#include "stats/result.h"

namespace mw::stats {

TestResult cramervonmises_2samp(std::span<const double> x, std::span<const double> y);

// The same test on samples already sorted ascending (no copy, no sort): what
// a detector holding a sorted reference should call. Sortedness is the
// caller's promise and is not checked.
TestResult cramervonmises_2samp_sorted(std::span<const double> x_sorted, std::span<const double> y_sorted);

// 1 - the limiting Cramér-von Mises cdf at t (scipy's 1 - _cdf_cvm_inf(t)).
double cramer_von_mises_limit_sf(double t);

}  // namespace mw::stats
