#include "stats/anderson_ksamp.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
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

// Scholz & Stephens' eq. 7 sum for two samples in one merge walk. With two
// samples M_1j + M_2j = B_j, so the deviations N M_ij - B_j n_i of the two
// samples are opposite and their squares equal: one square per distinct
// value serves both terms, A2akN = (1/n_1 + 1/n_2) / N sum_j w_j d_j^2
// (times (N - 1) / N, applied by the caller).
double a2akn_sum_two_samples(std::span<const double> x, std::span<const double> y) {
    const std::size_t nx = x.size();
    const std::size_t ny = y.size();
    const double total = static_cast<double>(nx + ny);
    const double n1 = static_cast<double>(nx);
    double sum = 0.0;
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < nx || j < ny) {
        const double z = j == ny || (i < nx && x[i] <= y[j]) ? x[i] : y[j];
        std::size_t i_end = i;
        std::size_t j_end = j;
        while (i_end < nx && x[i_end] == z) ++i_end;
        while (j_end < ny && y[j_end] == z) ++j_end;
        const double lj = static_cast<double>((i_end - i) + (j_end - j));
        const double bj = static_cast<double>(i + j) + lj / 2.0;
        const double m1j = static_cast<double>(i_end) - static_cast<double>(i_end - i) / 2.0;
        const double deviation = total * m1j - bj * n1;
        sum += lj / (bj * (total - bj) - total * lj / 4.0) * deviation * deviation;
        i = i_end;
        j = j_end;
    }
    return sum * (1.0 / n1 + 1.0 / static_cast<double>(ny)) / total;
}

// scipy's g = sum_{idx=0}^{N-3} hs_cs[idx] / (idx + 2), hs_cs the running
// sum of 1 / (N - 1 - idx): two divisions per value of the pooled sample.
// The divisions are independent of the running sum, so they are done a
// block at a time in loops the compiler vectorises; only the additions stay
// sequential, in scipy's order.
struct HarmonicSums {
    double h = 0.0;  // sum_{i=1}^{N-1} 1/i
    double g = 0.0;
};

HarmonicSums harmonic_sums(long n_total) {
    constexpr long block = 256;
    double reciprocal[block];
    double inverse_index[block];
    double h_partial = 0.0;
    double g = 0.0;
    for (long start = 0; start < n_total - 2; start += block) {
        const long count = std::min(block, n_total - 2 - start);
        for (long t = 0; t < count; ++t) {
            reciprocal[t] = 1.0 / static_cast<double>(n_total - 1 - start - t);
            inverse_index[t] = 1.0 / static_cast<double>(start + t + 2);
        }
        for (long t = 0; t < count; ++t) {
            h_partial += reciprocal[t];
            g += h_partial * inverse_index[t];
        }
    }
    return {h_partial + 1.0, g};
}

}  // namespace

AndersonKsampResult anderson_ksamp(std::span<const std::span<const double>> samples) {
    AndersonKsampResult result;
    std::vector<std::vector<double>> sorted(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
        for (std::size_t j = 0; j < samples[i].size(); ++j) {
            if (std::isnan(samples[i][j])) {
                result.error = "anderson_ksamp: sample " + std::to_string(i) + "[" + std::to_string(j) + "] is NaN";
                return result;
            }
        }
        sorted[i].assign(samples[i].begin(), samples[i].end());
        sort_ascending(sorted[i]);
    }
    const std::vector<std::span<const double>> spans(sorted.begin(), sorted.end());
    return anderson_ksamp_sorted(spans);
}

AndersonKsampResult anderson_ksamp_sorted(std::span<const std::span<const double>> sorted) {
    AndersonKsampResult result;
    const std::size_t k = sorted.size();
    if (k < 2) {
        result.error = "anderson_ksamp: needs at least two samples, got " + std::to_string(k);
        return result;
    }
    std::size_t pooled_size = 0;
    double smallest_value = std::numeric_limits<double>::infinity();
    double largest_value = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < k; ++i) {
        const std::span<const double> s = sorted[i];
        if (s.empty()) {
            result.error = "anderson_ksamp: sample " + std::to_string(i) + " is empty";
            return result;
        }
        // Sorted ascending, NaN can only sit at an end.
        if (std::isnan(s.front()) || std::isnan(s.back())) {
            result.error = "anderson_ksamp: sample " + std::to_string(i) + " contains NaN";
            return result;
        }
        pooled_size += s.size();
        smallest_value = std::min(smallest_value, s.front());
        largest_value = std::max(largest_value, s.back());
    }
    const double total = static_cast<double>(pooled_size);
    if (pooled_size < 4) {
        result.error = "anderson_ksamp: needs at least 4 values in total, got " + std::to_string(pooled_size);
        return result;
    }
    if (smallest_value == largest_value) {
        result.error = "anderson_ksamp: needs more than one distinct value";
        return result;
    }

    double a2akn = 0.0;
    if (k == 2) {
        a2akn = a2akn_sum_two_samples(sorted[0], sorted[1]);
    } else {
        // Scholz & Stephens eq. 7, walking the distinct values z_j of the pooled
        // sample in one k-way merge of the sorted samples (no pooled copy):
        // l_j = multiplicity of z_j, B_j = #{Z < z_j} + l_j / 2, M_ij = #{X_i < z_j}
        // + f_ij / 2 with f_ij = #{X_i == z_j}. The factor l_j / (B_j (N - B_j) -
        // N l_j / 4) is shared by the k samples, and the 1/N of every term is
        // applied once at the end.
        std::vector<std::size_t> position(k, 0);  // values of sample i below z_j
        std::vector<std::size_t> run_end(k, 0);   // values of sample i at most z_j
        std::vector<double> inner(k, 0.0);
        std::size_t below = 0;  // #{Z < z_j}
        while (below < pooled_size) {
            double z = std::numeric_limits<double>::infinity();
            for (std::size_t i = 0; i < k; ++i) {
                if (position[i] < sorted[i].size()) z = std::min(z, sorted[i][position[i]]);
            }
            std::size_t multiplicity = 0;
            for (std::size_t i = 0; i < k; ++i) {
                std::size_t end = position[i];
                while (end < sorted[i].size() && sorted[i][end] == z) ++end;
                run_end[i] = end;
                multiplicity += end - position[i];
            }
            const double lj = static_cast<double>(multiplicity);
            const double bj = static_cast<double>(below) + lj / 2.0;
            const double weight = lj / (bj * (total - bj) - total * lj / 4.0);
            for (std::size_t i = 0; i < k; ++i) {
                const double ni = static_cast<double>(sorted[i].size());
                const double mij = static_cast<double>(run_end[i]) - static_cast<double>(run_end[i] - position[i]) / 2.0;
                const double deviation = total * mij - bj * ni;
                inner[i] += weight * deviation * deviation;
                position[i] = run_end[i];
            }
            below += multiplicity;
        }
        for (std::size_t i = 0; i < k; ++i) a2akn += inner[i] / (total * static_cast<double>(sorted[i].size()));
    }
    a2akn *= (total - 1.0) / total;

    // Variance of A2akN under the null (Scholz & Stephens eq. 4), in scipy's form.
    double big_h = 0.0;
    for (const auto s : sorted) big_h += 1.0 / static_cast<double>(s.size());
    const long n_total = static_cast<long>(pooled_size);
    const auto [h, g] = harmonic_sums(n_total);
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
