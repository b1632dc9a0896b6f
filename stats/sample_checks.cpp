#include "stats/sample_checks.h"

#include <cmath>

#include <string>

namespace mw::stats {
namespace {

std::string first_nan(std::string_view function, std::string_view name, std::span<const double> values) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (std::isnan(values[i])) {
            return std::string(function) + ": " + std::string(name) + "[" + std::to_string(i) + "] is NaN";
        }
    }
    return {};
}

}  // namespace

std::string find_nan(std::string_view function, std::span<const double> x, std::span<const double> y) {
    std::string problem = first_nan(function, "x", x);
    if (problem.empty()) problem = first_nan(function, "y", y);
    return problem;
}

std::string find_bad_count(std::string_view function, std::string_view which, std::span<const double> counts) {
    for (std::size_t i = 0; i < counts.size(); ++i) {
        if (!(counts[i] >= 0.0) || std::isinf(counts[i])) {
            return std::string(function) + ": " + std::string(which) + " count [" + std::to_string(i) +
                   "] is " + std::to_string(counts[i]) + "; counts must be finite and non-negative";
        }
    }
    return {};
}

}  // namespace mw::stats
