// HyperLogLog distinct counting (Flajolet, Fusy, Gandouet & Meunier,
// "HyperLogLog: the analysis of a near-optimal cardinality estimation
// algorithm", AofA 2007) with 64-bit hashes, estimated by Ertl's improved
// estimator (O. Ertl, "New cardinality estimation algorithms for HyperLogLog
// sketches", arXiv:1702.01284, 2017, Algorithm 6). That estimator is unbiased over the whole range without the
// empirical bias tables of HLL++ (Heule, Nunkesser & Hall, EDBT 2013) and
// without switching to linear counting at small cardinalities: its sigma term
// is the linear-counting limit, so small cardinalities are nearly exact.
// With 64-bit hashes no large-range correction is needed.
//
// m = 2^p registers of one byte; the relative standard error is
// 1.04 / sqrt(m) (1.625% for the default p = 12, 4 KiB).
//
// Hashes (document them: a blob is only meaningful with the same hashes):
// - a double: -0.0 is folded onto +0.0 (they are the same value), then
//   mix64(bits + 0x9e3779b97f4a7c15), i.e. the SplitMix64 output for a state
//   equal to the IEEE-754 bit pattern; NaN is ignored;
// - a string: 64-bit FNV-1a (Fowler, Noll & Vo; offset basis
//   0xcbf29ce484222325, prime 0x100000001b3) of its bytes, then mix64, since
//   FNV's low and high bits alone are too weak for HyperLogLog's index and
//   leading-zero count.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stats/sketch_bytes.h"

namespace mw::stats {

std::uint64_t hash_double(double value);
std::uint64_t hash_string(std::string_view value);

class HyperLogLog {
public:
    static constexpr std::uint8_t default_precision = 12;
    static constexpr std::uint8_t min_precision = 4;
    static constexpr std::uint8_t max_precision = 18;

    // A precision outside [4, 18] is a programming error (std::invalid_argument).
    explicit HyperLogLog(std::uint8_t precision = default_precision);

    void update(double value);
    void update(std::string_view value);
    void update_hash(std::uint64_t hash) {
        const std::uint64_t index = hash >> (64 - precision_);
        const std::uint64_t rest = hash << precision_;
        // The register value is the position of the first 1 bit among the
        // remaining 64 - p bits, or 64 - p + 1 when they are all 0.
        const auto value =
            static_cast<std::uint8_t>(rest == 0 ? 64 - precision_ + 1 : std::countl_zero(rest) + 1);
        if (value > registers_[index]) registers_[index] = value;
    }
    // Registers are maxed; the precisions must be equal (an error message otherwise).
    [[nodiscard]] std::string merge(const HyperLogLog& other);

    double estimate() const;
    std::uint8_t precision() const { return precision_; }
    // 1.04 / sqrt(m).
    double relative_standard_error() const;

    std::string serialize() const;
    static Decoded<HyperLogLog> deserialize(std::string_view bytes);

private:
    std::uint8_t precision_;
    std::vector<std::uint8_t> registers_;
};

}  // namespace mw::stats
