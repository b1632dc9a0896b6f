// A uniform random sample of at most `capacity` values from a stream, kept so
// that exact two-sample tests (KS, Anderson-Darling, ...) can run on a bounded
// sample of a window of any size.
//
// Updates: Vitter's Algorithm R ("Random sampling with a reservoir", ACM TOMS
// 11(1), 1985): the i-th value replaces a uniformly chosen slot with
// probability capacity / i. Algorithm R keeps no state but n, which is what
// makes merged samples continue correctly (Li's Algorithm L would need the
// skip state, which has no meaning after a merge).
//
// Merge (exact, not approximate): with sample A of min(n_a, N) values from
// n_a and sample B from n_b, the merged sample has s = min(N, n_a + n_b)
// values. How many come from A is drawn from its exact law - hypergeometric,
// the number of A's among s draws without replacement from the n_a + n_b
// population - by drawing the s sides one at a time with probability
// (A's left) / (population left); then that many values are taken uniformly
// without replacement from A's sample and the rest from B's (partial
// Fisher-Yates). A uniform subset of a uniform sample is uniform, so the
// result is a uniform s-subset of the union. The samples need the same
// capacity, so that each holds enough values for any draw.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stats/sketch_bytes.h"
#include "stats/sketch_random.h"

namespace mw::stats {

class ReservoirSample {
public:
    static constexpr std::uint32_t default_capacity = 2000;

    // A capacity of 0 keeps no value, only the count: what a profile-only
    // model's feature profiles use (stats/feature_profile.h), since a sample
    // of a 1,000-row window would be every raw value.
    explicit ReservoirSample(std::uint32_t capacity = default_capacity, std::uint64_t seed = 0);

    void update(double value) {
        ++n_;
        if (capacity_ == 0) return;
        if (values_.size() < capacity_) {
            values_.push_back(value);
            return;
        }
        const std::uint64_t slot = random_.below(n_);
        if (slot < capacity_) values_[slot] = value;
    }
    void update_many(std::span<const double> values);
    // An error message when the capacities differ.
    [[nodiscard]] std::string merge(const ReservoirSample& other);

    std::uint64_t n() const { return n_; }
    std::uint32_t capacity() const { return capacity_; }
    // The sample, in no particular order.
    std::span<const double> values() const { return values_; }

    std::string serialize() const;
    static Decoded<ReservoirSample> deserialize(std::string_view bytes);

private:
    std::uint32_t capacity_;
    std::uint64_t n_ = 0;
    std::vector<double> values_;
    SplitMix64 random_;
};

}  // namespace mw::stats
