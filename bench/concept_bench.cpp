// Updates per second of each streaming concept-drift detector (defaults from
// the registry) on 1M values with a shift in the middle:
//   0/1 detectors:     errors with P(1) = 0.2, then 0.4;
//   numeric detectors: uniform values in [0, 1), then in [0.5, 1.5).
// The streams are deterministic (splitmix64), so runs compare like for like.
// Time is the process's CPU time (std::clock), because the build machine is
// shared and wall-clock time there mostly measures the other processes.
// River itself is not installed here, so there is no side-by-side column.
//
// Run: build-<name>/bench/concept_bench [values] [detector]
// (a detector name runs that one alone, e.g. under
// `valgrind --tool=callgrind`, whose instruction counts do not depend on the
// machine's load).
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "detectors/concept_registry.h"

namespace {

namespace cd = mw::concept_drift;

// splitmix64 (Steele, Lea & Flood, OOPSLA 2014) to 53-bit uniforms in [0, 1).
class Uniform {
public:
    explicit Uniform(std::uint64_t seed) : state_(seed) {}
    double next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        return static_cast<double>(z >> 11) * 0x1.0p-53;
    }

private:
    std::uint64_t state_;
};

std::vector<double> make_stream(std::size_t n, bool binary) {
    Uniform uniform(20241125);
    std::vector<double> values(n);
    for (std::size_t i = 0; i < n; ++i) {
        const bool shifted = i >= n / 2;
        const double u = uniform.next();
        if (binary)
            values[i] = u < (shifted ? 0.4 : 0.2) ? 1.0 : 0.0;
        else
            values[i] = shifted ? u + 0.5 : u;
    }
    return values;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t n = 1'000'000;
    if (argc > 1) n = std::strtoull(argv[1], nullptr, 10);
    const std::string only = argc > 2 ? argv[2] : "";
    if (n < 2 || (!only.empty() && cd::find_concept_detector(only) == nullptr)) {
        std::fprintf(stderr, "usage: concept_bench [values >= 2] [detector]\n");
        return 2;
    }
    const auto binary_stream = make_stream(n, true);
    const auto numeric_stream = make_stream(n, false);

    std::printf("%s", fmt::format("{} values, shift at index {}\n\n", n, n / 2).c_str());
    std::printf("%s", fmt::format("{:<14} {:>8} {:>10} {:>16} {:>8} {:>16}\n", "detector", "input", "cpu s",
                                  "updates/s", "drifts", "first after shift")
                          .c_str());
    const std::vector<std::string> no_options;
    for (const auto& entry : cd::concept_detectors()) {
        if (!only.empty() && entry.info.name != only) continue;
        auto made = cd::make_concept_detector(entry.info.name, no_options);
        if (!made.ok()) {
            std::fprintf(stderr, "%s\n", made.error.c_str());
            return 1;
        }
        const auto& values = entry.binary_input ? binary_stream : numeric_stream;
        std::size_t drifts = 0;
        std::size_t first_after_shift = 0;
        const std::clock_t start = std::clock();
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (made.detector->update(values[i]) == cd::DriftState::drift) {
                ++drifts;
                if (first_after_shift == 0 && i >= n / 2) first_after_shift = i;
            }
        }
        const double seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
        const std::string first = first_after_shift == 0 ? "none" : fmt::format("{}", first_after_shift);
        std::printf("%s", fmt::format("{:<14} {:>8} {:>10.3f} {:>16.0f} {:>8} {:>16}\n", entry.info.name,
                                      entry.binary_input ? "0/1" : "numeric", seconds,
                                      static_cast<double>(n) / seconds, drifts, first)
                              .c_str());
    }
    return 0;
}
