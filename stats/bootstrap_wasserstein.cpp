#include "stats/bootstrap_wasserstein.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "stats/sketch_random.h"

namespace mw::stats {

namespace {

constexpr int bootstrap_block_bits = 11;
static_assert(bootstrap_block_positions == std::size_t{1} << bootstrap_block_bits);
constexpr std::uint64_t bootstrap_block_mask = bootstrap_block_positions - 1;

// SplitMix64 as the uniform random bit generator std::binomial_distribution
// takes.
struct BootstrapBits {
    using result_type = std::uint64_t;
    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return ~result_type{0}; }
    result_type operator()() { return rng.next(); }
    SplitMix64& rng;
};

// Resample r's own stream: its starting state is a hash of the seed and r,
// so resamples do not share stretches of one stream.
SplitMix64 bootstrap_stream(std::uint64_t seed, std::size_t resample) {
    return SplitMix64{mix64(seed ^ mix64(static_cast<std::uint64_t>(resample) + 1))};
}

// The draws of one resample that fall in the next block (`size` positions of
// the `positions_left` not yet passed, `draws_left` draws not yet placed),
// counted per position of the block into counts[0, size).
void draw_bootstrap_block(SplitMix64& rng, std::uint64_t& draws_left, std::size_t positions_left, std::size_t size,
                          std::uint32_t* counts) {
    std::fill(counts, counts + size, 0u);
    std::uint64_t in_block = draws_left;
    if (size < positions_left && draws_left > 0) {
        BootstrapBits bits{rng};
        const double share = static_cast<double>(size) / static_cast<double>(positions_left);
        in_block = static_cast<std::uint64_t>(
            std::binomial_distribution<std::int64_t>(static_cast<std::int64_t>(draws_left), share)(bits));
    }
    draws_left -= in_block;
    std::uint64_t i = 0;
    if (size == bootstrap_block_positions) {
        // Five positions of 11 bits from each 64-bit word.
        for (; i + 5 <= in_block; i += 5) {
            const std::uint64_t word = rng.next();
            ++counts[word & bootstrap_block_mask];
            ++counts[(word >> 11) & bootstrap_block_mask];
            ++counts[(word >> 22) & bootstrap_block_mask];
            ++counts[(word >> 33) & bootstrap_block_mask];
            ++counts[(word >> 44) & bootstrap_block_mask];
        }
        if (i < in_block) {
            std::uint64_t word = rng.next();
            for (; i < in_block; ++i, word >>= bootstrap_block_bits) ++counts[word & bootstrap_block_mask];
        }
    } else {
        for (; i < in_block; ++i) ++counts[rng.below(size)];
    }
}

}  // namespace

std::vector<double> bootstrap_wasserstein_distances(std::span<const double> sorted, std::uint64_t draws,
                                                    std::size_t resamples, std::uint64_t seed) {
    struct Resample {
        SplitMix64 rng;
        std::uint64_t draws_left = 0;
        std::uint64_t drawn = 0;  // draws at the positions walked so far
        double sum = 0.0;
        double compensation = 0.0;
    };
    std::vector<Resample> states;
    states.reserve(resamples);
    for (std::size_t r = 0; r < resamples; ++r) states.push_back({bootstrap_stream(seed, r), draws});
    const std::size_t n = sorted.size();
    const double inverse_n = 1.0 / static_cast<double>(n);
    const double inverse_draws = 1.0 / static_cast<double>(draws);
    std::array<std::uint32_t, bootstrap_block_positions> counts{};
    for (std::size_t start = 0; start < n; start += bootstrap_block_positions) {
        const std::size_t size = std::min(bootstrap_block_positions, n - start);
        // The walk stops before the last position: its interval has no end.
        const std::size_t walk_end = std::min(start + size, n - 1);
        for (Resample& state : states) {
            draw_bootstrap_block(state.rng, state.draws_left, n - start, size, counts.data());
            // On [x_p, x_{p+1}) the sample's cdf is (p + 1) / n and the
            // resample's (draws of positions 0..p) / draws; a tie's interval
            // has length 0 and its term is skipped (it would leave both sums
            // as they are). Neumaier-compensated as cdf_difference_integral.
            std::uint64_t drawn = state.drawn;
            double sum = state.sum;
            double compensation = state.compensation;
            for (std::size_t p = start; p < walk_end; ++p) {
                drawn += counts[p - start];
                const double gap = sorted[p + 1] - sorted[p];
                if (gap == 0) continue;
                const double difference =
                    std::fabs(static_cast<double>(p + 1) * inverse_n - static_cast<double>(drawn) * inverse_draws);
                const double term = difference * gap;
                const double t = sum + term;
                compensation += std::fabs(sum) >= std::fabs(term) ? (sum - t) + term : (term - t) + sum;
                sum = t;
            }
            state.drawn = drawn;
            state.sum = sum;
            state.compensation = compensation;
        }
    }
    std::vector<double> distances;
    distances.reserve(resamples);
    for (const Resample& state : states) distances.push_back(state.sum + state.compensation);
    return distances;
}

std::vector<std::uint32_t> bootstrap_draw_counts(std::size_t positions, std::uint64_t draws, std::uint64_t seed,
                                                 std::size_t resample) {
    std::vector<std::uint32_t> counts(positions);
    SplitMix64 rng = bootstrap_stream(seed, resample);
    std::uint64_t draws_left = draws;
    for (std::size_t start = 0; start < positions; start += bootstrap_block_positions) {
        const std::size_t size = std::min(bootstrap_block_positions, positions - start);
        draw_bootstrap_block(rng, draws_left, positions - start, size, counts.data() + start);
    }
    return counts;
}

}  // namespace mw::stats
