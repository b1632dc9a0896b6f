// Special functions behind the p-values of stats/: log-gamma, the regularised
// incomplete gamma and beta functions, the normal tail and the modified Bessel
// function of the second kind. Survival functions are computed directly (never
// as 1 - cdf), so p-values keep their relative accuracy far into the tail
// (down to about 1e-300, below which they underflow to 0 as scipy's do).
// All functions are pure and thread-safe.
#pragma once

namespace mw::stats {

// ln|Gamma(x)|, as scipy.special.gammaln. Uses lgamma_r rather than
// std::lgamma, which writes the global `signgam` and is not thread-safe.
double log_gamma(double x);

// Standard normal cdf and survival function, as scipy.special.ndtr and
// scipy.stats.norm.sf: 0.5 * erfc(-z / sqrt(2)) and 0.5 * erfc(z / sqrt(2)).
double normal_cdf(double z);
double normal_sf(double z);

// Regularised lower and upper incomplete gamma functions P(a, x) and Q(a, x)
// (scipy.special.gammainc / gammaincc), a > 0, x >= 0. Series for x < a + 1,
// Lentz continued fraction otherwise (Numerical Recipes 3rd ed., section 6.2),
// each computing its own side so that neither is 1 - the other.
double gamma_p(double a, double x);
double gamma_q(double a, double x);

// Regularised incomplete beta function I_x(a, b) (scipy.special.betainc),
// a, b > 0, 0 <= x <= 1: the continued fraction of Numerical Recipes 3rd ed.,
// section 6.4, evaluated on the side of the symmetry point where it converges.
double beta_inc(double a, double b, double x);

// Survival function of the chi-squared distribution with `dof` degrees of
// freedom (scipy.stats.chi2.sf, i.e. scipy.special.chdtrc): Q(dof/2, x/2).
double chi_squared_sf(double x, double dof);

// Survival function of Student's t distribution with real `dof` > 0
// (scipy.stats.t.sf, i.e. scipy.special.stdtr(dof, -t)):
// for t >= 0, 0.5 * I_{dof/(dof+t^2)}(dof/2, 1/2).
double student_t_sf(double t, double dof);

// Modified Bessel function of the second kind K_nu(x) for real nu and x > 0
// (scipy.special.kv), from the integral K_nu(x) = int_0^inf exp(-x cosh t)
// cosh(nu t) dt (DLMF 10.32.9). The integrand is even and analytic in t, so
// the trapezoidal rule converges geometrically (Trefethen & Weideman, SIAM
// Review 56(3), 2014); about 1e-15 relative for the orders used here.
double bessel_k(double nu, double x);

}  // namespace mw::stats
