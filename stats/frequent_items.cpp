#include "stats/frequent_items.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace mw::stats {
namespace {

constexpr std::string_view items_magic = "MWFI";
constexpr std::uint8_t items_version = 1;

}  // namespace

FrequentItems::FrequentItems(std::uint32_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("FrequentItems: capacity must be positive");
}

void FrequentItems::decrement_all(std::uint64_t amount) {
    // A counter at or below the amount is dropped, not decremented: a merge
    // subtracts the (capacity + 1)-th largest count, which smaller counters
    // would wrap around (2^64 - a little) instead of going below zero.
    for (auto it = counts_.begin(); it != counts_.end();) {
        if (it->second <= amount) {
            it = counts_.erase(it);
            continue;
        }
        it->second -= amount;
        ++it;
    }
    max_error_ += amount;
}

std::uint64_t FrequentItems::smallest_count() const {
    std::uint64_t smallest = std::numeric_limits<std::uint64_t>::max();
    for (const auto& entry : counts_) smallest = std::min(smallest, entry.second);
    return smallest;
}

void FrequentItems::update(std::string_view item, std::uint64_t weight) {
    if (weight == 0) return;
    n_ += weight;
    if (auto found = counts_.find(item); found != counts_.end()) {
        found->second += weight;
        return;
    }
    // Weighted Misra-Gries: while full, the new item and every counter lose
    // the same amount (the smallest counter, or what is left of the weight);
    // each round either frees a counter or uses the weight up.
    while (weight > 0 && counts_.size() >= capacity_) {
        const std::uint64_t amount = std::min(weight, smallest_count());
        decrement_all(amount);
        weight -= amount;
    }
    if (weight > 0) counts_.emplace(std::string(item), weight);
}

void FrequentItems::merge(const FrequentItems& other) {
    n_ += other.n_;
    max_error_ += other.max_error_;
    for (const auto& [item, count] : other.counts_) counts_[item] += count;
    if (counts_.size() <= capacity_) return;
    // Agarwal et al. 2012: subtract the (capacity + 1)-th largest count from
    // every counter and keep the positive ones (at most `capacity` remain).
    std::vector<std::uint64_t> values;
    values.reserve(counts_.size());
    for (const auto& entry : counts_) values.push_back(entry.second);
    std::nth_element(values.begin(), values.begin() + capacity_, values.end(), std::greater<>());
    decrement_all(values[capacity_]);
}

std::uint64_t FrequentItems::other_count() const {
    std::uint64_t tracked_total = 0;
    for (const auto& entry : counts_) tracked_total += entry.second;
    return n_ - tracked_total;
}

std::uint64_t FrequentItems::count(std::string_view item) const {
    const auto found = counts_.find(item);
    return found == counts_.end() ? 0 : found->second;
}

std::vector<ItemCount> FrequentItems::items() const {
    std::vector<ItemCount> result;
    result.reserve(counts_.size());
    for (const auto& [item, count] : counts_) result.push_back({item, count});
    std::sort(result.begin(), result.end(), [](const ItemCount& a, const ItemCount& b) {
        return a.count != b.count ? a.count > b.count : a.item < b.item;
    });
    return result;
}

std::string FrequentItems::serialize() const {
    ByteWriter out;
    out.put_header(items_magic, items_version);
    out.put_u32(capacity_);
    out.put_u64(n_);
    out.put_u64(max_error_);
    const std::vector<ItemCount> sorted = items();
    out.put_u32(static_cast<std::uint32_t>(sorted.size()));
    for (const ItemCount& entry : sorted) {
        out.put_u64(entry.count);
        out.put_blob(entry.item);
    }
    return out.take();
}

Decoded<FrequentItems> FrequentItems::deserialize(std::string_view bytes) {
    constexpr std::string_view what = "frequent items";
    Decoded<FrequentItems> result;
    ByteReader in(bytes);
    if (std::string problem = in.check_header(what, items_magic, items_version); !problem.empty()) {
        result.error = std::move(problem);
        return result;
    }
    std::uint32_t capacity = 0;
    std::uint64_t n = 0;
    std::uint64_t max_error = 0;
    std::uint32_t entries = 0;
    if (!in.get_u32(capacity) || !in.get_u64(n) || !in.get_u64(max_error) || !in.get_u32(entries)) {
        result.error = decode_error(what, "truncated fixed fields", in.offset());
        return result;
    }
    if (capacity == 0) {
        result.error = decode_error(what, "capacity is 0", 5);
        return result;
    }
    if (entries > capacity) {
        result.error = decode_error(what, std::to_string(entries) + " entries exceed the capacity " +
                                              std::to_string(capacity), in.offset() - 4);
        return result;
    }
    // Every entry takes at least 12 bytes, so a hostile count cannot make us reserve much.
    if (in.remaining() / 12 < entries) {
        result.error = decode_error(what, "entry count larger than the blob holds", in.offset() - 4);
        return result;
    }
    FrequentItems summary(capacity);
    summary.counts_.reserve(entries);
    std::uint64_t tracked_total = 0;
    for (std::uint32_t i = 0; i < entries; ++i) {
        const std::size_t at = in.offset();
        std::uint64_t count = 0;
        std::string_view item;
        if (!in.get_u64(count) || !in.get_blob(item)) {
            result.error = decode_error(what, "truncated entry " + std::to_string(i), at);
            return result;
        }
        if (count == 0 || count > n - tracked_total) {
            result.error = decode_error(what, "entry " + std::to_string(i) + " has count 0 or counts exceed n", at);
            return result;
        }
        if (!summary.counts_.emplace(std::string(item), count).second) {
            result.error = decode_error(what, "duplicate item in entry " + std::to_string(i), at);
            return result;
        }
        tracked_total += count;
    }
    if (in.remaining() != 0) {
        result.error = decode_error(what, "trailing bytes", in.offset());
        return result;
    }
    // Every amount added to max_error was taken from the counters too, so it
    // is at most what they do not hold (header: max_error <= (n - sum of
    // counts) / (capacity + 1) for one summary's updates).
    if (max_error > n - tracked_total) {
        result.error = decode_error(what, "max_error " + std::to_string(max_error) +
                                              " exceeds the count the items do not hold", 17);
        return result;
    }
    summary.n_ = n;
    summary.max_error_ = max_error;
    result.value = std::move(summary);
    return result;
}

}  // namespace mw::stats
