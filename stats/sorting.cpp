#include "stats/sorting.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <memory>
#include <vector>

#include "stats/huge_pages.h"

namespace mw::stats {
namespace {

// Below this size std::sort beats the radix sort's fixed cost of its passes.
constexpr std::size_t radix_sort_threshold = 2048;
// The radix passes order the top 48 bits of the keys (sign, exponent and 36
// mantissa bits: a relative resolution of 1.5e-11) in 4 passes of 12 bits;
// keys equal in those bits (exact duplicates, almost always) are put in full
// order afterwards. Two passes fewer than a full 64-bit sort.
constexpr int radix_digit_bits = 12;
constexpr int radix_digit_count = 4;
constexpr int radix_low_bits = 64 - radix_digit_bits * radix_digit_count;
constexpr std::size_t radix_bucket_count = std::size_t{1} << radix_digit_bits;

// A key whose unsigned order is the numeric order of the double: flip every
// bit of a negative number, only the sign bit of a positive one.
std::uint64_t radix_key_of(double value) {
    const auto bits = std::bit_cast<std::uint64_t>(value);
    return (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);
}

double double_of_radix_key(std::uint64_t key) {
    const std::uint64_t bits = (key >> 63) != 0 ? key & ~(std::uint64_t{1} << 63) : ~key;
    return std::bit_cast<double>(bits);
}

// Two buffers of keys take turns as source and destination of a pass:
// `values` itself (holding key bit patterns, written with bit_cast) and
// `in_scratch` (n keys, contents ignored: every pass overwrites it).
void radix_sort(std::span<double> values, std::uint64_t* const in_scratch) {
    const std::size_t n = values.size();
    double* const in_values = values.data();
    std::array<std::array<std::uint32_t, radix_bucket_count>, radix_digit_count> histograms{};
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t key = radix_key_of(in_values[i]);
        in_values[i] = std::bit_cast<double>(key);
        for (int d = 0; d < radix_digit_count; ++d) {
            ++histograms[d][(key >> (radix_low_bits + d * radix_digit_bits)) & (radix_bucket_count - 1)];
        }
    }
    bool keys_in_scratch = false;
    for (int d = 0; d < radix_digit_count; ++d) {
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
        const int shift = radix_low_bits + d * radix_digit_bits;
        if (keys_in_scratch) {
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint64_t key = in_scratch[i];
                in_values[histogram[(key >> shift) & (radix_bucket_count - 1)]++] = std::bit_cast<double>(key);
            }
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint64_t key = std::bit_cast<std::uint64_t>(in_values[i]);
                in_scratch[histogram[(key >> shift) & (radix_bucket_count - 1)]++] = key;
            }
        }
        keys_in_scratch = !keys_in_scratch;
    }
    if (keys_in_scratch) {
        for (std::size_t i = 0; i < n; ++i) in_values[i] = double_of_radix_key(in_scratch[i]);
    } else {
        for (std::size_t i = 0; i < n; ++i) in_values[i] = double_of_radix_key(std::bit_cast<std::uint64_t>(in_values[i]));
    }
    // Runs of values with equal top key bits are still in input order: sort
    // each run that is not already in order. Within a run every value has
    // the same sign, so the numeric order is the key order.
    for (std::size_t start = 0; start < n;) {
        std::size_t end = start + 1;
        const std::uint64_t top = radix_key_of(in_values[start]) >> radix_low_bits;
        bool in_order = true;
        while (end < n && (radix_key_of(in_values[end]) >> radix_low_bits) == top) {
            in_order = in_order && in_values[end - 1] <= in_values[end];
            ++end;
        }
        if (!in_order) std::sort(in_values + start, in_values + end);
        start = end;
    }
}

}  // namespace

void sort_ascending(std::span<double> values) {
    if (values.size() < radix_sort_threshold) {
        std::sort(values.begin(), values.end());
        return;
    }
    // Uninitialised: a vector would zero-fill 8n bytes only to overwrite them.
    const auto scratch = std::make_unique_for_overwrite<std::uint64_t[]>(values.size());
    prefer_huge_pages(scratch.get(), values.size() * sizeof(std::uint64_t));
    radix_sort(values, scratch.get());
}

void sort_ascending(std::span<double> values, std::vector<std::uint64_t>& scratch) {
    if (values.size() < radix_sort_threshold) {
        std::sort(values.begin(), values.end());
        return;
    }
    if (scratch.size() < values.size()) {
        scratch.reserve(values.size());
        prefer_huge_pages(scratch.data(), values.size() * sizeof(std::uint64_t));
        scratch.resize(values.size());
    }
    radix_sort(values, scratch.data());
}

}  // namespace mw::stats
