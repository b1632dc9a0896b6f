// KLL quantile sketch (Karnin, Lang & Liberty, "Optimal Quantile Approximation
// in Streams", FOCS 2016), following the design of Apache DataSketches'
// KllDoublesSketch (datasketches-cpp kll_sketch.hpp):
// - a stack of compactors; level h holds items of weight 2^h, level 0 unsorted,
//   every higher level sorted;
// - the capacity of level h in a sketch of L levels is
//   max(8, round(k * (2/3)^(L - 1 - h))) (DataSketches' kll_helper::level_capacity,
//   c = 2/3, minimum width m = 8), so the top level holds about k items and
//   the whole sketch about 3k;
// - lazy compaction: nothing is compacted until the retained items exceed the
//   total capacity; then the lowest level at or over its capacity is sorted
//   (level 0), an odd item is kept back, and every other item, starting at a
//   random offset 0 or 1, is promoted by a sorted merge into the level above
//   (a new level is opened on top when needed). Total weight is preserved
//   exactly: sum over levels of size(h) * 2^h == n().
//
// Accuracy. Ranks are normalised and inclusive: rank(x) = (weight of items
// <= x) / n. DataSketches publishes the empirical 99th percentile of the
// maximum normalised rank error over all queries of one sketch, fitted over
// thousands of trials (KllSketch.getNormalizedRankError, datasketches-java):
//   single-sided queries (rank, quantile, cdf):  eps = 2.296 / k^0.9723
//   double-sided (pmf, the mass between two splits):  2.446 / k^0.9433
// For the default k = 200: eps = 1.33% (single-sided), 1.65% (double-sided).
// normalized_rank_error() returns the single-sided figure; the tests check it
// empirically, for one sketch and for sketches merged from parts. It is a
// 99% figure for ONE sketch: a statement about two sketches at once (two
// sketches' CDFs both within their eps) holds with probability at least
// 1 - 0.01 - 0.01 = 98% (union bound; 98.01% when their compaction coins are
// independent, as separately seeded sketches' are).
//
// NaN is ignored by update() (as DataSketches does); infinities are ordinary
// items. Queries on an empty sketch return NaN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stats/sketch_bytes.h"
#include "stats/sketch_random.h"

namespace mw::stats {

// cdf() over split points: values[i] = rank(split_i), the last value is 1.
struct CdfResult {
    std::vector<double> values;
    std::string error;  // empty when valid

    bool ok() const { return error.empty(); }
};

class KllSketch {
public:
    static constexpr std::uint16_t default_k = 200;
    static constexpr std::uint16_t min_k = 8;

    // `seed` seeds the generator that picks compaction offsets. k below min_k
    // is a programming error (std::invalid_argument).
    explicit KllSketch(std::uint16_t k = default_k, std::uint64_t seed = 0);

    void update(double value);
    void update_many(std::span<const double> values);
    // The result has the smaller of the two k (its capacities shrink, and it
    // compacts until it fits them), so k() names the accuracy it has: a
    // sketch is only as accurate as its least accurate part. DataSketches
    // keeps min_k for the same reason (KllSketch.merge: minK_ = min(minK_,
    // other.minK_), read by getNormalizedRankError).
    void merge(const KllSketch& other);

    std::uint64_t n() const { return n_; }
    bool empty() const { return n_ == 0; }
    std::uint16_t k() const { return k_; }
    double min() const;
    double max() const;
    std::size_t retained() const { return retained_; }

    // Normalised inclusive rank of `value` in [0, 1]; NaN if empty or value is NaN.
    double rank(double value) const;
    // The smallest retained item whose inclusive rank is >= q, with q = 0
    // giving min() and q = 1 giving max(); NaN if empty or q outside [0, 1].
    double quantile(double q) const;
    // quantile() for many q at once (one sort of the retained items).
    std::vector<double> quantiles(std::span<const double> qs) const;
    // Ranks at strictly increasing, non-NaN split points, then 1.
    CdfResult cdf(std::span<const double> split_points) const;

    // The retained items in ascending order, each with its weight 2^level:
    // the sketch's picture of the stream as a weighted sample, whose step
    // CDF is what rank() reads. Statistics of whole distributions (the KS
    // distance, Wasserstein, energy) are computed on it; each inherits the
    // rank-error bound (see cdf_distances).
    struct WeightedValue {
        double value;
        std::uint64_t weight;
    };
    std::vector<WeightedValue> weighted_items() const;
    // Estimated counts in the bins [e_{i-1}, e_i) of the interior edges
    // (edges.size() + 1 bins, outer bins open, as stats::bin_counts): the
    // weight of the retained items in each. They sum to n(); each bin's share
    // is within normalized_pmf_error(k) of the true share. Edges must be
    // non-decreasing (repeated edges make empty bins).
    std::vector<double> bin_counts(std::span<const double> interior_edges) const;

    static double normalized_rank_error(std::uint16_t k);
    // The double-sided bound (the mass between two split points).
    static double normalized_pmf_error(std::uint16_t k);

    std::string serialize() const;
    static Decoded<KllSketch> deserialize(std::string_view bytes);

private:
    struct WeightedItem {
        double value;
        std::uint64_t cumulative_weight;  // weight of this item and all before it
    };

    std::vector<WeightedItem> sorted_view() const;
    double quantile_in(const std::vector<WeightedItem>& view, double q) const;
    static double rank_in(const std::vector<WeightedItem>& view, std::uint64_t n, double value);
    void recompute_capacities();
    void compact_one_level();

    std::uint16_t k_;
    std::uint64_t n_ = 0;
    double min_ = 0.0;
    double max_ = 0.0;
    std::size_t retained_ = 0;
    std::size_t capacity_ = 0;
    std::vector<std::vector<double>> levels_;
    std::vector<std::size_t> level_capacities_;
    SplitMix64 random_;
};

// The distances between the step CDFs F_a and F_b of two sketches'
// weighted items, walked once over both: the sup |F_a - F_b| (the
// Kolmogorov-Smirnov D), integral |F_a - F_b| dx (Wasserstein-1, as
// scipy.stats.wasserstein_distance) and integral (F_a - F_b)^2 dx (energy
// distance = sqrt(2 * this), as scipy.stats.energy_distance). When neither
// sketch has compacted they are exactly the statistics of the raw values.
// Otherwise, with sup |F_hat - F| <= eps per sketch (normalized_rank_error,
// 99% confidence over all queries of one sketch, so both at once with at
// least 98%): |D_hat - D| <= eps_a + eps_b, and both integrals' errors are
// bounded by the same sum times the span [min(min_a, min_b), max(max_a,
// max_b)] (outside it both CDFs are exactly 0 or 1; min and max are kept
// exactly). The items' weights are integers summing to n, so D_hat, like the
// raw D, is a multiple of 1 / lcm(n_a, n_b).
struct CdfDistances {
    double sup = 0;
    double integral_absolute = 0;
    double integral_squared = 0;
    double span = 0;  // max(max_a, max_b) - min(min_a, min_b)
    std::string error;  // empty when valid (an empty sketch is an error)

    bool ok() const { return error.empty(); }
};
CdfDistances cdf_distances(const KllSketch& a, const KllSketch& b);

}  // namespace mw::stats
