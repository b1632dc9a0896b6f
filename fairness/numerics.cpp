#include "fairness/numerics.h"

#include <algorithm>
#include <cmath>

namespace mw::fairness {

bool Interval::defined() const { return std::isfinite(lower) && std::isfinite(upper); }

// Wichura, M. J. (1988). Algorithm AS 241: The percentage points of the normal
// distribution. Applied Statistics 37(3), 477-484 (PPND16, about 1e-16 relative
// accuracy). scipy.stats.norm.ppf uses the same rational approximations (ndtri).
double normal_quantile(double p) {
    if (!(p > 0.0 && p < 1.0)) return std::numeric_limits<double>::quiet_NaN();
    const double q = p - 0.5;
    if (std::fabs(q) <= 0.425) {
        const double r = 0.180625 - q * q;
        return q *
               (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r + 6.7265770927008700853e+4) * r +
                    4.5921953931549871457e+4) * r + 1.3731693765509461125e+4) * r + 1.9715909503065514427e+3) * r +
                 1.3314166789178437745e+2) * r + 3.3871328727963666080e0) /
               (((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r + 3.9307895800092710610e+4) * r +
                    2.1213794301586595867e+4) * r + 5.3941960214247511077e+3) * r + 6.8718700749205790830e+2) * r +
                 4.2313330701600911252e+1) * r + 1.0);
    }
    double r = std::sqrt(-std::log(q < 0 ? p : 1.0 - p));
    double value = 0;
    if (r <= 5.0) {
        r -= 1.6;
        value = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1) * r +
                     1.27045825245236838258e0) * r + 3.64784832476320460504e0) * r + 5.76949722146069140550e0) * r +
                  4.63033784615654529590e0) * r + 1.42343711074968357734e0) /
                (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2) * r +
                     1.48103976427480074590e-1) * r + 6.89767334985100004550e-1) * r + 1.67638483018380384940e0) * r +
                  2.05319162663775882187e0) * r + 1.0);
    } else {
        r -= 5.0;
        value = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3) * r +
                     2.65321895265761230930e-2) * r + 2.96560571828504891230e-1) * r + 1.78482653991729133580e0) * r +
                  5.46378491116411436990e0) * r + 6.65790464350110377720e0) /
                (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5) * r +
                     7.86869131145613259100e-4) * r + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r +
                  5.99832206555887937690e-1) * r + 1.0);
    }
    return q < 0 ? -value : value;
}

// Wilson, E. B. (1927). Probable inference, the law of succession, and
// statistical inference. JASA 22(158), 209-212; written in the same form as
// statsmodels.stats.proportion.proportion_confint(method="wilson").
Interval wilson_interval(std::uint64_t successes, std::uint64_t trials, double confidence) {
    if (trials == 0 || successes > trials) return {};
    const double z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    const double n = static_cast<double>(trials);
    const double p = static_cast<double>(successes) / n;
    const double z2 = z * z;
    const double denominator = 1.0 + z2 / n;
    const double centre = (p + z2 / (2.0 * n)) / denominator;
    const double half_width = z * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator;
    // At 0 or n successes the exact endpoint is 0 or 1; rounding would leave it a few ulps off.
    return {successes == 0 ? 0.0 : centre - half_width, successes == trials ? 1.0 : centre + half_width};
}

// numpy.percentile's default method (Hyndman and Fan 1996, definition 7):
// position (n - 1) * q / 100, linear interpolation between its neighbours.
double percentile_linear(std::span<const double> values, double q_percent) {
    std::vector<double> finite;
    finite.reserve(values.size());
    for (double v : values)
        if (std::isfinite(v)) finite.push_back(v);
    if (finite.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(finite.begin(), finite.end());
    const double position = static_cast<double>(finite.size() - 1) * q_percent / 100.0;
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, finite.size() - 1);
    const double fraction = position - static_cast<double>(below);
    return finite[below] + (finite[above] - finite[below]) * fraction;
}

}  // namespace mw::fairness
