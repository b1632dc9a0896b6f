#include "stats/descriptive.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace mw::stats {

double finite_mean(std::span<const double> values) {
    double sum = 0;
    std::size_t n = 0;
    for (const double value : values)
        if (std::isfinite(value)) sum += value, ++n;
    return n == 0 ? std::nan("") : sum / static_cast<double>(n);
}

double finite_sample_sd(std::span<const double> values) {
    const double mean = finite_mean(values);
    double sum = 0;
    std::size_t n = 0;
    for (const double value : values)
        if (std::isfinite(value)) sum += (value - mean) * (value - mean), ++n;
    return n < 2 ? std::nan("") : std::sqrt(sum / static_cast<double>(n - 1));
}

double pearson_correlation(std::span<const double> x, std::span<const double> y) {
    double sum_x = 0, sum_y = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
        if (std::isfinite(x[i]) && std::isfinite(y[i])) sum_x += x[i], sum_y += y[i], ++n;
    if (n < 2) return std::nan("");
    const double mean_x = sum_x / static_cast<double>(n);
    const double mean_y = sum_y / static_cast<double>(n);
    // Centred sums, as pearsonr computes them (no one-pass formula: it cancels).
    double xy = 0, xx = 0, yy = 0;
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
        const double dx = x[i] - mean_x;
        const double dy = y[i] - mean_y;
        xy += dx * dy, xx += dx * dx, yy += dy * dy;
    }
    if (xx == 0 || yy == 0) return std::nan("");
    return std::clamp(xy / std::sqrt(xx * yy), -1.0, 1.0);
}

}  // namespace mw::stats
