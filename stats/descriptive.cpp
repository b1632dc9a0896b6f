#include "stats/descriptive.h"

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

}  // namespace mw::stats
