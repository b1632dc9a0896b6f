#include "stats/ks_test.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "stats/kolmogorov_distribution.h"
#include "stats/sorting.h"

namespace mw::stats {
namespace {

// scipy's MAX_AUTO_N: 'auto' is exact when both samples are at most this.
constexpr long max_exact_sample = 10000;

// P(D_{n,n} >= h/n) = 2 (A0 (1 - A1 (1 - A2 (1 - ...)))) with
// A_k = binom(2n, n - kh) / binom(2n, n - (k-1)h) (Hodges 1958, eq. 2.2);
// scipy's _compute_prob_outside_square.
double prob_outside_square(long n, long h) {
    double p = 0.0;
    for (long k = n / h; k >= 0; --k) {
        double p1 = 1.0;
        for (long j = 0; j < h; ++j) {
            p1 = static_cast<double>(n - k * h - j) * p1 / static_cast<double>(n + k * h + j + 1);
        }
        p = p1 * (1.0 - p);
    }
    return 2 * p;
}

// 1 - (number of lattice paths from (0,0) to (m,n) staying strictly inside
// |x/m - y/n| < h/lcm) / binom(m+n, n), computed as a running proportion
// (Viehmann, arXiv:2102.08037); scipy's _compute_outer_prob_inside_method.
double outer_prob_inside(long m, long n, long g, long h) {
    if (m < n) std::swap(m, n);
    const long mg = m / g;
    const long ng = n / g;
    long min_j = 0;
    long max_j = std::min(static_cast<long>(std::ceil(static_cast<double>(h) / mg)), n + 1);
    long current_length = max_j - min_j;
    const long length = std::min(2 * max_j + 2, n + 1);
    std::vector<double> a(length, 1.0);
    std::fill(a.begin() + min_j, a.begin() + max_j, 0.0);
    for (long i = 1; i <= m; ++i) {
        const long last_min_j = min_j;
        const long last_length = current_length;
        // Integer floor/ceil of (ng*i -/+ h)/mg, as scipy's np.floor/np.ceil of
        // the float quotient (exact here: both operands are below 2^53).
        min_j = std::max(static_cast<long>(std::floor(static_cast<double>(ng * i - h) / mg)) + 1, 0L);
        min_j = std::min(min_j, n);
        max_j = std::min(static_cast<long>(std::ceil(static_cast<double>(ng * i + h) / mg)), n + 1);
        if (max_j <= min_j) return 1.0;
        double value = min_j == 0 ? 0.0 : 1.0;
        for (long jj = 0; jj < max_j - min_j; ++jj) {
            const long j = jj + min_j;
            value = (a[jj + min_j - last_min_j] * i + value * j) / static_cast<double>(i + j);
            a[jj] = value;
        }
        current_length = max_j - min_j;
        if (last_length > current_length) {
            std::fill(a.begin() + (max_j - min_j), a.begin() + (max_j - min_j) + (last_length - current_length),
                      1.0);
        }
    }
    return a[max_j - min_j - 1];
}

}  // namespace

double ks_2samp_exact_sf(long n1, long n2, long h) {
    if (h <= 0) return 1.0;
    if (n1 == n2) return prob_outside_square(n1, h);
    return outer_prob_inside(n1, n2, std::gcd(n1, n2), h);
}

namespace {

// D = count_diff / (n1 n2) and its p-value, scipy's method 'auto'.
KsResult ks_2samp_p_value(long long count_diff, long n1, long n2) {
    KsResult result;
    // scipy reports i/n1 - j/n2 at the extreme; count_diff / (n1 n2) is the
    // same number up to rounding.
    result.statistic = static_cast<double>(count_diff) / (static_cast<double>(n1) * static_cast<double>(n2));

    const long g = std::gcd(n1, n2);
    const long long lcm = static_cast<long long>(n1 / g) * n2;
    if (std::max(n1, n2) <= max_exact_sample) {
        // count_diff / (n1 n2) == h / lcm with h = count_diff / g.
        const long h = static_cast<long>(count_diff / g);
        const double p = ks_2samp_exact_sf(n1, n2, h);
        if (p >= 0.0 && p <= 1.0) {
            result.statistic = static_cast<double>(h) / static_cast<double>(lcm);
            result.p_value = p;
            result.method = KsMethod::exact;
            return result;
        }
    }
    // Smirnov's asymptotic: the one-sample distribution at the effective size,
    // rounded half to even as numpy.round.
    const double m = static_cast<double>(std::max(n1, n2));
    const double n = static_cast<double>(std::min(n1, n2));
    const long effective_n = static_cast<long>(std::nearbyint(m * n / (m + n)));
    result.p_value = std::clamp(kolmogorov_n_sf(effective_n, result.statistic), 0.0, 1.0);
    result.method = KsMethod::asymptotic;
    return result;
}

}  // namespace

KsResult ks_2samp_sorted(std::span<const double> x, std::span<const double> y) {
    KsResult result;
    if (x.empty() || y.empty()) {
        result.error = x.empty() ? "ks_2samp: sample x is empty" : "ks_2samp: sample y is empty";
        return result;
    }
    // Sorted ascending, NaN can only sit at an end.
    if (std::isnan(x.back()) || std::isnan(y.back()) || std::isnan(x.front()) || std::isnan(y.front())) {
        result.error = "ks_2samp: samples contain NaN";
        return result;
    }
    const long n1 = static_cast<long>(x.size());
    const long n2 = static_cast<long>(y.size());
    // Walk the pooled values in order; whenever the next value differs from
    // the last one consumed, every value <= the last one has been counted and
    // n2*i - n1*j is n1*n2*(F_x(t) - F_y(t)) exactly. The loop is written
    // with selects instead of branches: the interleaving of two random
    // samples is unpredictable, and mispredicted branches would dominate.
    constexpr double infinity = std::numeric_limits<double>::infinity();
    const long total = n1 + n2;
    long i = 0;
    long j = 0;
    long long max_diff = 0;
    long long min_diff = 0;
    double previous = std::min(x[0], y[0]);
    for (long k = 0; k < total; ++k) {
        // An exhausted sample reads as +inf; ties go to x first.
        const double a = i < n1 ? x[std::min(i, n1 - 1)] : infinity;
        const double b = j < n2 ? y[std::min(j, n2 - 1)] : infinity;
        const long take_x = a <= b ? 1 : 0;
        const double value = std::min(a, b);
        const long long diff = static_cast<long long>(n2) * i - static_cast<long long>(n1) * j;
        const bool boundary = value != previous;
        max_diff = boundary && diff > max_diff ? diff : max_diff;
        min_diff = boundary && diff < min_diff ? diff : min_diff;
        i += take_x;
        j += 1 - take_x;
        previous = value;
    }
    const long long count_diff = std::max(max_diff, -min_diff);
    return ks_2samp_p_value(count_diff, n1, n2);
}

KsResult ks_2samp_from_statistic(double statistic, long n1, long n2) {
    KsResult result;
    if (n1 <= 0 || n2 <= 0) {
        result.error = "ks_2samp: a sample is empty";
        return result;
    }
    if (!(statistic >= 0.0 && statistic <= 1.0)) {
        result.error = "ks_2samp: the statistic is not in [0, 1]";
        return result;
    }
    // The nearest attainable D: n2 i - n1 j is a multiple of gcd(n1, n2).
    const long g = std::gcd(n1, n2);
    const long long lcm = static_cast<long long>(n1 / g) * n2;
    const auto h = std::llround(statistic * static_cast<double>(lcm));
    return ks_2samp_p_value(h * g, n1, n2);
}

KsResult ks_2samp(std::span<const double> x, std::span<const double> y) {
    return on_sorted_copies("ks_2samp", x, y, ks_2samp_sorted);
}

}  // namespace mw::stats
