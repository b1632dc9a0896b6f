// Frequent items of a categorical feature: the Misra-Gries summary (Misra &
// Gries, "Finding repeated elements", Science of Computer Programming 2(2),
// 1982) with weighted updates, mergeable as in Agarwal, Cormode, Huang,
// Phillips, Wei & Yi, "Mergeable Summaries" (PODS 2012, section 3).
//
// At most `capacity` items are tracked, each with a count that is a LOWER
// bound of its true count:
//   count(x) <= true(x) <= count(x) + max_error(),
// and an untracked item's true count is <= max_error(). max_error() is the
// total amount ever decremented from every counter, which MG bounds by
// (n - sum of counts) / (capacity + 1) <= n / (capacity + 1).
// While the number of distinct items has never exceeded the capacity nothing
// is decremented: max_error() == 0 and every count is exact (is_exact()),
// the common case of a categorical feature with few categories, where drift
// tests need exact counts.
//
// other_count() = n - sum of tracked counts: the weight not attributed to a
// tracked item, so the tracked counts plus "other" always sum to n and form a
// histogram usable by chi-squared or Jensen-Shannon (exact when is_exact()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stats/sketch_bytes.h"

namespace mw::stats {

struct ItemCount {
    std::string item;
    std::uint64_t count = 0;  // lower bound; exact when the summary is exact
};

class FrequentItems {
public:
    static constexpr std::uint32_t default_capacity = 128;

    // A capacity of 0 is a programming error (std::invalid_argument).
    explicit FrequentItems(std::uint32_t capacity = default_capacity);

    void update(std::string_view item, std::uint64_t weight = 1);
    // Keeps this summary's capacity.
    void merge(const FrequentItems& other);

    std::uint64_t n() const { return n_; }
    std::uint32_t capacity() const { return capacity_; }
    std::size_t tracked() const { return counts_.size(); }
    std::uint64_t max_error() const { return max_error_; }
    bool is_exact() const { return max_error_ == 0; }
    std::uint64_t other_count() const;
    // The lower-bound count of `item` (0 when untracked).
    std::uint64_t count(std::string_view item) const;
    // Tracked items by decreasing count, ties by item, so output is stable.
    std::vector<ItemCount> items() const;

    std::string serialize() const;
    static Decoded<FrequentItems> deserialize(std::string_view bytes);

private:
    // Transparent hashing so update(string_view) looks up without allocating.
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    using Counts = std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>>;

    // Subtracts `amount` from every counter and drops those that reach 0.
    void decrement_all(std::uint64_t amount);
    std::uint64_t smallest_count() const;

    std::uint32_t capacity_;
    std::uint64_t n_ = 0;
    std::uint64_t max_error_ = 0;
    Counts counts_;
};

}  // namespace mw::stats
