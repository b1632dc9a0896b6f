// The distributions of the Kolmogorov-Smirnov statistics, as scipy computes
// them; ks_test.cpp uses them for its asymptotic p-values.
#pragma once

namespace mw::stats {

// P(D+_n >= d): the exact one-sided one-sample statistic for a sample of n,
// by the Birnbaum-Tingey sum (Birnbaum & Tingey, Ann. Math. Statist. 22(4),
// 1951), evaluated in log space; scipy.special.smirnov(n, d).
double smirnov_sf(long n, double d);

// P(sqrt(n) D_n > x) in the limit n -> infinity, Kolmogorov's distribution
// (scipy.special.kolmogorov, i.e. scipy.stats.kstwobign.sf), from the two
// Jacobi theta series of cephes kolmogorov.c.
double kolmogorov_sf(double x);

// P(D_n >= d): the two-sided one-sample statistic for a sample of n, as
// scipy.stats.kstwo.sf (scipy/stats/_ksstats.py, _kolmogn with cdf=False):
// Simard & L'Ecuyer (J. Stat. Software 39(11), 2011) choose between the
// Ruben-Gambino closed forms, the Durbin matrix (Marsaglia, Tsang & Wang,
// J. Stat. Software 8(18), 2003), the Pomeranz recursion (CACM 17(12),
// 1974), Pelz-Good (JRSS B 38(2), 1976) and 2 * smirnov_sf. The same
// thresholds as scipy 1.10 are used so the two agree to rounding.
double kolmogorov_n_sf(long n, double d);

}  // namespace mw::stats
