#include "stats/sorting.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <vector>

namespace mw::stats {
namespace {

// Below this size std::sort beats the radix sort's fixed cost of its passes.
constexpr std::size_t radix_threshold = 2048;
// The radix passes order the top 48 bits of the keys (sign, exponent and 36
// mantissa bits: a relative resolution of 1.5e-11) in 4 passes of 12 bits;
// keys equal in those bits (exact duplicates, almost always) are put in full
// order afterwards. Two passes fewer than a full 64-bit sort.
constexpr int digit_bits = 12;
constexpr int digit_count = 4;
constexpr int low_bits = 64 - digit_bits * digit_count;
constexpr std::size_t bucket_count = std::size_t{1} << digit_bits;

// A key whose unsigned order is the numeric order of the double: flip every
// bit of a negative number, only the sign bit of a positive one.
std::uint64_t to_key(double value) {
    const auto bits = std::bit_cast<std::uint64_t>(value);
    return (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);
}

double from_key(std::uint64_t key) {
    const std::uint64_t bits = (key >> 63) != 0 ? key & ~(std::uint64_t{1} << 63) : ~key;
    return std::bit_cast<double>(bits);
}

}  // namespace

void sort_ascending(std::span<double> values) {
    const std::size_t n = values.size();
    if (n < radix_threshold) {
        std::sort(values.begin(), values.end());
        return;
    }
    std::vector<std::uint64_t> keys(n);
    std::vector<std::uint64_t> scratch(n);
    std::vector<std::array<std::uint32_t, bucket_count>> histograms(digit_count);
    for (auto& h : histograms) h.fill(0);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t key = to_key(values[i]);
        keys[i] = key;
        for (int d = 0; d < digit_count; ++d) {
            ++histograms[d][(key >> (low_bits + d * digit_bits)) & (bucket_count - 1)];
        }
    }
    for (int d = 0; d < digit_count; ++d) {
        auto& histogram = histograms[d];
        // A digit shared by every key does not reorder anything: skip its pass.
        if (std::find(histogram.begin(), histogram.end(), static_cast<std::uint32_t>(n)) != histogram.end()) {
            continue;
        }
        std::uint32_t offset = 0;
        for (auto& count : histogram) {
            const std::uint32_t c = count;
            count = offset;
            offset += c;
        }
        const int shift = low_bits + d * digit_bits;
        for (const std::uint64_t key : keys) scratch[histogram[(key >> shift) & (bucket_count - 1)]++] = key;
        keys.swap(scratch);
    }
    // Runs of keys with equal top bits are still in input order: sort each
    // run that is not already in order by its low bits.
    for (std::size_t start = 0; start < n;) {
        std::size_t end = start + 1;
        const std::uint64_t top = keys[start] >> low_bits;
        bool in_order = true;
        while (end < n && (keys[end] >> low_bits) == top) {
            in_order = in_order && keys[end - 1] <= keys[end];
            ++end;
        }
        if (!in_order) {
            std::sort(keys.begin() + static_cast<std::ptrdiff_t>(start), keys.begin() + static_cast<std::ptrdiff_t>(end));
        }
        start = end;
    }
    for (std::size_t i = 0; i < n; ++i) values[i] = from_key(keys[i]);
}

}  // namespace mw::stats
