#include "stats/anderson_ksamp.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "stats/sorting.h"

namespace mw::stats {
namespace {

// Least-squares quadratic through (x_i, y_i): returns {c2, c1, c0} as numpy
// polyfit(x, y, 2). The 3x3 normal equations are solved in long double on
// centred x; with 7 well-spread points this agrees with polyfit's SVD
// solution to about 1e-14.
std::array<double, 3> fit_quadratic(const std::array<double, 7>& x, const std::array<double, 7>& y) {
    long double centre = 0;
    for (double v : x) centre += v;
    centre /= x.size();
    long double s[5] = {0, 0, 0, 0, 0};  // sums of u^k
    long double t[3] = {0, 0, 0};        // sums of y u^k
    for (std::size_t i = 0; i < x.size(); ++i) {
        const long double u = x[i] - centre;
        long double power = 1;
        for (int k = 0; k < 5; ++k) {
            s[k] += power;
            if (k < 3) t[k] += y[i] * power;
            power *= u;
        }
    }
    // Solve [[s0 s1 s2][s1 s2 s3][s2 s3 s4]] [a0 a1 a2] = t by Cramer's rule.
    auto det3 = [](long double a, long double b, long double c, long double d, long double e, long double f,
                   long double g, long double h, long double i) {
        return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    };
    const long double det = det3(s[0], s[1], s[2], s[1], s[2], s[3], s[2], s[3], s[4]);
    const long double a0 = det3(t[0], s[1], s[2], t[1], s[2], s[3], t[2], s[3], s[4]) / det;
    const long double a1 = det3(s[0], t[0], s[2], s[1], t[1], s[3], s[2], t[2], s[4]) / det;
    const long double a2 = det3(s[0], s[1], t[0], s[1], s[2], t[1], s[2], s[3], t[2]) / det;
    // a0 + a1 (x - c) + a2 (x - c)^2 in powers of x.
    return {static_cast<double>(a2), static_cast<double>(a1 - 2 * a2 * centre),
            static_cast<double>(a0 - a1 * centre + a2 * centre * centre)};
}

}  // namespace

AndersonKsampResult anderson_ksamp(std::span<const std::span<const double>> samples) {
    AndersonKsampResult result;
    const std::size_t k = samples.size();
    if (k < 2) {
        result.error = "anderson_ksamp: needs at least two samples, got " + std::to_string(k);
        return result;
    }
    std::vector<std::vector<double>> sorted(k);
    std::vector<double> pooled;
    for (std::size_t i = 0; i < k; ++i) {
        if (samples[i].empty()) {
            result.error = "anderson_ksamp: sample " + std::to_string(i) + " is empty";
            return result;
        }
        for (std::size_t j = 0; j < samples[i].size(); ++j) {
            if (std::isnan(samples[i][j])) {
                result.error = "anderson_ksamp: sample " + std::to_string(i) + "[" + std::to_string(j) + "] is NaN";
                return result;
            }
        }
        sorted[i].assign(samples[i].begin(), samples[i].end());
        sort_ascending(sorted[i]);
        pooled.insert(pooled.end(), sorted[i].begin(), sorted[i].end());
    }
    sort_ascending(pooled);
    const double total = static_cast<double>(pooled.size());
    if (pooled.size() < 4) {
        result.error = "anderson_ksamp: needs at least 4 values in total, got " + std::to_string(pooled.size());
        return result;
    }
    if (pooled.front() == pooled.back()) {
        result.error = "anderson_ksamp: needs more than one distinct value";
        return result;
    }

    // Distinct values z_j with l_j = their multiplicity and B_j = #{Z < z_j} + l_j / 2.
    std::vector<double> distinct;
    std::vector<double> multiplicity;
    std::vector<double> below;
    for (std::size_t a = 0; a < pooled.size();) {
        std::size_t b = a;
        while (b < pooled.size() && pooled[b] == pooled[a]) ++b;
        distinct.push_back(pooled[a]);
        multiplicity.push_back(static_cast<double>(b - a));
        below.push_back(static_cast<double>(a));
        a = b;
    }
    // Scholz & Stephens eq. 7.
    double a2akn = 0.0;
    for (std::size_t i = 0; i < k; ++i) {
        const std::vector<double>& s = sorted[i];
        const double ni = static_cast<double>(s.size());
        double inner = 0.0;
        std::size_t left = 0;
        for (std::size_t j = 0; j < distinct.size(); ++j) {
            while (left < s.size() && s[left] < distinct[j]) ++left;
            std::size_t right = left;
            while (right < s.size() && s[right] == distinct[j]) ++right;
            const double lj = multiplicity[j];
            const double bj = below[j] + lj / 2.0;
            const double mij = static_cast<double>(right) - static_cast<double>(right - left) / 2.0;
            const double deviation = total * mij - bj * ni;
            inner += lj / total * deviation * deviation / (bj * (total - bj) - total * lj / 4.0);
            left = right;
        }
        a2akn += inner / ni;
    }
    a2akn *= (total - 1.0) / total;

    // Variance of A2akN under the null (Scholz & Stephens eq. 4), in scipy's form.
    double big_h = 0.0;
    for (const auto& s : sorted) big_h += 1.0 / static_cast<double>(s.size());
    const long n_total = static_cast<long>(pooled.size());
    double h_partial = 0.0;  // sum_{i = N-1 down to 2} 1/i, accumulated as scipy's cumsum
    double g = 0.0;
    // hs_cs[idx] = sum_{i=0}^{idx} 1/(N-1-i); g = sum_idx hs_cs[idx] / (idx + 2).
    for (long idx = 0; idx < n_total - 2; ++idx) {
        h_partial += 1.0 / static_cast<double>(n_total - 1 - idx);
        g += h_partial / static_cast<double>(idx + 2);
    }
    const double h = h_partial + 1.0;
    const double kk = static_cast<double>(k);
    const double n = total;
    const double a = (4 * g - 6) * (kk - 1) + (10 - 6 * g) * big_h;
    const double b = (2 * g - 4) * kk * kk + 8 * h * kk + (2 * g - 14 * h - 4) * big_h - 8 * h + 4 * g - 6;
    const double c = (6 * h + 2 * g - 2) * kk * kk + (4 * h - 4 * g + 6) * kk + (2 * h - 6) * big_h + 4 * h;
    const double d = (2 * h + 6) * kk * kk - 4 * h * kk;
    const double sigma_squared = (a * n * n * n + b * n * n + c * n + d) / ((n - 1.0) * (n - 2.0) * (n - 3.0));
    const double m = kk - 1;
    result.statistic = (a2akn - m) / std::sqrt(sigma_squared);

    // Scholz & Stephens Table 2 interpolation coefficients, as in scipy.
    static constexpr std::array<double, 7> b0 = {0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085};
    static constexpr std::array<double, 7> b1 = {-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615};
    static constexpr std::array<double, 7> b2 = {-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154};
    static constexpr std::array<double, 7> levels = {0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001};
    for (std::size_t i = 0; i < 7; ++i) result.critical_values[i] = b0[i] + b1[i] / std::sqrt(m) + b2[i] / m;
    const double smallest = *std::min_element(result.critical_values.begin(), result.critical_values.end());
    const double largest = *std::max_element(result.critical_values.begin(), result.critical_values.end());
    if (result.statistic < smallest) {
        result.significance_level = 0.25;
        result.capped = true;
    } else if (result.statistic > largest) {
        result.significance_level = 0.001;
        result.capped = true;
    } else {
        std::array<double, 7> log_levels{};
        for (std::size_t i = 0; i < 7; ++i) log_levels[i] = std::log(levels[i]);
        const auto fit = fit_quadratic(result.critical_values, log_levels);
        result.significance_level = std::exp((fit[0] * result.statistic + fit[1]) * result.statistic + fit[2]);
    }
    return result;
}

}  // namespace mw::stats
