// W1 distances between a sorted sample and bootstrap resamples of it: the
// noise level of an effect size at a given window size (the drift
// detectors' noise baseline).
//
// A bootstrap resample of n draws from a sample of N values is known by how
// often each position is drawn: Multinomial(n; 1/N, ..., 1/N). Drawing n
// positions at random and counting them costs a random write per draw into
// N counters (4 MB for a million values: a cache miss each). Here the
// positions are cut into blocks of bootstrap_block_positions and the same
// multinomial is drawn in two stages: the draws falling in each block, one
// binomial per block conditioned on the draws and positions left
// (k_b ~ Binomial(n left, block size / positions left)), then the k_b draws
// uniformly within the block, into counters that stay in the L1 cache. The
// conditional binomials make the counts exactly multinomial, so a resample
// has the distribution of drawing n positions one by one; only the random
// numbers differ. All resamples walk a block while it is in cache, so the
// sample is read from memory once, not once per resample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mw::stats {

// Positions per block: a power of two, so a draw within a full block is 11
// bits of a random word (five draws per 64-bit word, no multiplication or
// rejection), and the block's values (16 KiB) and counters (8 KiB) fit in
// L1 together.
constexpr std::size_t bootstrap_block_positions = 2048;

// W1 between `sorted` (ascending, no NaN, not empty) and each of `resamples`
// bootstrap resamples of `draws` values (> 0), the same as
// wasserstein_distance_sorted of each materialised resample up to rounding.
// Reproducible: resample r is drawn from a SplitMix64 stream of its own,
// seeded from `seed` and r.
std::vector<double> bootstrap_wasserstein_distances(std::span<const double> sorted, std::uint64_t draws,
                                                    std::size_t resamples, std::uint64_t seed);

// How often each of `positions` positions is drawn in resample `resample`
// of the above (same seed, same draws): what the distances are walked over,
// for tests that materialise a resample.
std::vector<std::uint32_t> bootstrap_draw_counts(std::size_t positions, std::uint64_t draws, std::uint64_t seed,
                                                 std::size_t resample);

}  // namespace mw::stats
