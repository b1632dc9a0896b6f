// Seeded samples for statistical tests, the same on every run and machine that
// uses libstdc++'s distributions. Header-only, like the rest of tests/support.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace mw::testing {

inline std::vector<double> normal_sample(std::size_t n, double mean, double sd, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(mean, sd);
    std::vector<double> out(n);
    for (auto& v : out) v = normal(rng);
    return out;
}

}  // namespace mw::testing
