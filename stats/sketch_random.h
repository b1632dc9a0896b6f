// The pseudo-random source and the 64-bit mixer the sketches share. Every
// sketch that draws random numbers owns one SplitMix64 whose seed the caller
// injects, so runs (and tests) are reproducible and the state can be
// serialised with the sketch.
#pragma once

#include <cstdint>

namespace mw::stats {

// The SplitMix64 finaliser (Steele, Lea & Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014; constants of Vigna's
// public-domain splitmix64.c): a bijection on 64-bit words with full
// avalanche, used both as the generator's output function and as the hash
// of doubles in HyperLogLog.
constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

constexpr std::uint64_t splitmix64_increment = 0x9e3779b97f4a7c15ULL;

struct SplitMix64 {
    std::uint64_t state = 0;

    std::uint64_t next() {
        state += splitmix64_increment;
        return mix64(state);
    }

    // Uniform in [0, bound), bound > 0, without modulo bias: Lemire's
    // multiply-shift with rejection ("Fast random integer generation in an
    // interval", ACM TOMACS 2019, Algorithm 5).
    std::uint64_t below(std::uint64_t bound) {
        __extension__ using Wide = unsigned __int128;
        Wide product = static_cast<Wide>(next()) * bound;
        auto low = static_cast<std::uint64_t>(product);
        if (low < bound) {
            const std::uint64_t threshold = (0 - bound) % bound;
            while (low < threshold) {
                product = static_cast<Wide>(next()) * bound;
                low = static_cast<std::uint64_t>(product);
            }
        }
        return static_cast<std::uint64_t>(product >> 64);
    }

    // Uniform in [0, 1) with 53 random bits.
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

}  // namespace mw::stats
