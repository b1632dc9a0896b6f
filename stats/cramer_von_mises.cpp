#include "stats/cramer_von_mises.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "stats/sorting.h"
#include "stats/special_functions.h"

namespace mw::stats {
namespace {

// scipy's cut-over from the exact to the asymptotic p-value.
constexpr std::size_t cvm_max_exact_sample = 20;

// A frequency table: (value of the partial statistic, number of paths), sorted by value.
using Frequencies = std::vector<std::pair<std::int64_t, std::uint64_t>>;

Frequencies merge(const Frequencies& a, const Frequencies& b) {
    Frequencies out;
    out.reserve(a.size() + b.size());
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() || j < b.size()) {
        if (j == b.size() || (i < a.size() && a[i].first < b[j].first)) {
            out.push_back(a[i++]);
        } else if (i == a.size() || b[j].first < a[i].first) {
            out.push_back(b[j++]);
        } else {
            out.emplace_back(a[i].first, a[i].second + b[j].second);
            ++i;
            ++j;
        }
    }
    return out;
}

// numpy's floor_divide for doubles (npy_divmod): the quotient rounded down,
// computed from fmod so that it is exact where a/b would round up.
double python_floor_divide(double a, double b) {
    const double mod = std::fmod(a, b);
    double div = (a - mod) / b;
    if (mod != 0.0 && ((b < 0) != (mod < 0))) div -= 1.0;
    double floor_div = std::floor(div);
    if (div - floor_div > 0.5) floor_div += 1.0;
    return floor_div;
}

// P(U >= u) for samples of m and n without regard to ties
// (scipy's _pval_cvm_2samp_exact, Xiao et al. 2006 Algorithm 1).
double exact_p_value(double u, std::int64_t m, std::int64_t n) {
    const std::int64_t lcm = std::lcm(m, n);
    const std::int64_t a = lcm / m;
    const std::int64_t b = lcm / n;
    const std::int64_t mn = m * n;
    const double zeta = python_floor_divide(
        static_cast<double>(lcm * lcm * (m + n)) * (6 * u - static_cast<double>(mn * (4 * mn - 1))),
        static_cast<double>(6 * mn * mn));

    std::vector<Frequencies> gs(m + 1);
    gs[0] = {{0, 1}};
    for (std::int64_t row = 0; row <= n; ++row) {
        std::vector<Frequencies> next(m + 1);
        Frequencies running;
        for (std::int64_t v = 0; v <= m; ++v) {
            running = merge(running, gs[v]);
            const std::int64_t step = (a * v - b * row) * (a * v - b * row);
            for (auto& entry : running) entry.first += step;
            next[v] = running;
        }
        gs = std::move(next);
    }
    std::uint64_t at_least = 0;
    for (const auto& [value, count] : gs[m]) {
        if (static_cast<double>(value) >= zeta) at_least += count;
    }
    // binom(m + n, m) as a double, as scipy.special.comb(exact=False).
    const double combinations = std::exp(log_gamma(static_cast<double>(m + n + 1)) -
                                         log_gamma(static_cast<double>(m + 1)) - log_gamma(static_cast<double>(n + 1)));
    return static_cast<double>(at_least) / std::nearbyint(combinations);
}

// Twice the sums sum_i (r_i - i)^2 over x and sum_j (s_j - j)^2 over y,
// with r_i, s_j the midranks (1-based, ties averaged, as
// scipy.stats.rankdata(method='average')) of each sample in the pooled
// sample, walked in one merge of the two sorted inputs. A midrank is a
// multiple of 1/2, so 2 (r - i) is an integer and the sums are exact in
// 64-bit integers for any sample that fits in memory.
struct DoubledRankSquares {
    std::int64_t x = 0;
    std::int64_t y = 0;
};

DoubledRankSquares doubled_rank_squares(std::span<const double> x, std::span<const double> y) {
    DoubledRankSquares sums;
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < x.size() || j < y.size()) {
        const double t = j == y.size() || (i < x.size() && x[i] <= y[j]) ? x[i] : y[j];
        std::size_t i_end = i;
        std::size_t j_end = j;
        while (i_end < x.size() && x[i_end] == t) ++i_end;
        while (j_end < y.size() && y[j_end] == t) ++j_end;
        const auto tied = static_cast<std::int64_t>((i_end - i) + (j_end - j));
        // The tied values take ranks position+1 .. position+tied, whose mean
        // doubled is 2 position + tied + 1 (position = i + j values ranked).
        const std::int64_t doubled_rank = 2 * static_cast<std::int64_t>(i + j) + tied + 1;
        for (std::size_t a = i; a < i_end; ++a) {
            const std::int64_t d = doubled_rank - 2 * static_cast<std::int64_t>(a + 1);
            sums.x += d * d;
        }
        for (std::size_t b = j; b < j_end; ++b) {
            const std::int64_t d = doubled_rank - 2 * static_cast<std::int64_t>(b + 1);
            sums.y += d * d;
        }
        i = i_end;
        j = j_end;
    }
    return sums;
}

}  // namespace

double cramer_von_mises_limit_sf(double t) {
    // Csörgő & Faraway eq. 1.3 (second line), scipy's _cdf_cvm_inf.
    double total = 0.0;
    for (int k = 0; k < 10000; ++k) {
        const double u = std::exp(log_gamma(k + 0.5) - log_gamma(k + 1.0)) /
                         (std::pow(std::numbers::pi, 1.5) * std::sqrt(t));
        const double y = 4.0 * k + 1.0;
        const double q = y * y / (16 * t);
        const double term = u * std::sqrt(y) * std::exp(-q) * bessel_k(0.25, q);
        total += term;
        if (std::fabs(term) < 1e-7) break;
    }
    return std::max(0.0, 1.0 - total);
}

TestResult cramervonmises_2samp(std::span<const double> x, std::span<const double> y) {
    return on_sorted_copies("cramervonmises_2samp", x, y, cramervonmises_2samp_sorted);
}

TestResult cramervonmises_2samp_sorted(std::span<const double> xs, std::span<const double> ys) {
    TestResult result;
    if (xs.size() < 2 || ys.size() < 2) {
        result.error = "cramervonmises_2samp: each sample needs at least 2 values, got " +
                       std::to_string(xs.size()) + " and " + std::to_string(ys.size());
        return result;
    }
    // Sorted ascending, NaN can only sit at an end.
    if (std::isnan(xs.front()) || std::isnan(xs.back()) || std::isnan(ys.front()) || std::isnan(ys.back())) {
        result.error = "cramervonmises_2samp: samples contain NaN";
        return result;
    }
    const DoubledRankSquares squares = doubled_rank_squares(xs, ys);
    const double nx = static_cast<double>(xs.size());
    const double ny = static_cast<double>(ys.size());
    const double u = (nx * static_cast<double>(squares.x) + ny * static_cast<double>(squares.y)) / 4.0;
    const double k = nx * ny;
    const double n = nx + ny;
    result.statistic = u / (k * n) - (4 * k - 1) / (6 * n);

    if (std::max(xs.size(), ys.size()) <= cvm_max_exact_sample) {
        result.p_value = exact_p_value(u, static_cast<std::int64_t>(xs.size()), static_cast<std::int64_t>(ys.size()));
        return result;
    }
    // Anderson 1962 eq. 11 and 14: mean and variance of T; eq. 15: normalised T.
    const double mean = (1 + 1 / n) / 6;
    const double variance = (n + 1) * (4 * k * n - 3 * (nx * nx + ny * ny) - 2 * k) / (45 * n * n * 4 * k);
    const double normalised = 1.0 / 6 + (result.statistic - mean) / std::sqrt(45 * variance);
    // Below 0.003 the limiting cdf is under 1.3e-18: scipy returns 1 directly.
    result.p_value = normalised < 0.003 ? 1.0 : cramer_von_mises_limit_sf(normalised);
    return result;
}

}  // namespace mw::stats
