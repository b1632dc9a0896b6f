#include "stats/hyperloglog.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include "stats/sketch_random.h"

namespace mw::stats {
namespace {

constexpr std::string_view hll_magic = "MWHL";
constexpr std::uint8_t hll_version = 1;

// Ertl 2017, Algorithm 6: sigma(x) = x + sum_k x^(2^k) 2^(k-1).
double ertl_sigma(double x) {
    if (x == 1.0) return std::numeric_limits<double>::infinity();
    double y = 1.0;
    double z = x;
    double previous = 0.0;
    do {
        x *= x;
        previous = z;
        z += x * y;
        y += y;
    } while (z != previous);
    return z;
}

// Ertl 2017, Algorithm 6: tau(x) = (1 - x - sum_k (1 - x^(2^-k))^2 2^-k) / 3.
double ertl_tau(double x) {
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1.0;
    double z = 1.0 - x;
    double previous = 0.0;
    do {
        x = std::sqrt(x);
        previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != previous);
    return z / 3.0;
}

}  // namespace

std::uint64_t hash_double(double value) {
    const double folded = value == 0.0 ? 0.0 : value;
    return mix64(std::bit_cast<std::uint64_t>(folded) + splitmix64_increment);
}

std::uint64_t hash_string(std::string_view value) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (char c : value) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return mix64(hash);
}

HyperLogLog::HyperLogLog(std::uint8_t precision) : precision_(precision) {
    if (precision < min_precision || precision > max_precision) {
        throw std::invalid_argument("HyperLogLog: precision must be in [4, 18], got " + std::to_string(precision));
    }
    registers_.assign(std::size_t{1} << precision, 0);
}

void HyperLogLog::update(double value) {
    if (!std::isnan(value)) update_hash(hash_double(value));
}

void HyperLogLog::update(std::string_view value) { update_hash(hash_string(value)); }

std::string HyperLogLog::merge(const HyperLogLog& other) {
    if (other.precision_ != precision_) {
        return "hyperloglog merge: precision " + std::to_string(other.precision_) + " differs from " +
               std::to_string(precision_);
    }
    for (std::size_t i = 0; i < registers_.size(); ++i) registers_[i] = std::max(registers_[i], other.registers_[i]);
    return {};
}

double HyperLogLog::estimate() const {
    const std::size_t q = 64 - precision_;
    std::vector<std::uint64_t> histogram(q + 2, 0);
    for (std::uint8_t value : registers_) ++histogram[value];
    const auto m = static_cast<double>(registers_.size());
    double z = m * ertl_tau(1.0 - static_cast<double>(histogram[q + 1]) / m);
    for (std::size_t k = q; k >= 1; --k) z = 0.5 * (z + static_cast<double>(histogram[k]));
    z += m * ertl_sigma(static_cast<double>(histogram[0]) / m);
    // alpha_infinity = 1 / (2 ln 2).
    return m * m / (2.0 * std::numbers::ln2 * z);
}

double HyperLogLog::relative_standard_error() const {
    return 1.04 / std::sqrt(static_cast<double>(registers_.size()));
}

std::string HyperLogLog::serialize() const {
    ByteWriter out;
    out.put_header(hll_magic, hll_version);
    out.put_u8(precision_);
    for (std::uint8_t value : registers_) out.put_u8(value);
    return out.take();
}

Decoded<HyperLogLog> HyperLogLog::deserialize(std::string_view bytes) {
    constexpr std::string_view what = "hyperloglog";
    Decoded<HyperLogLog> result;
    ByteReader in(bytes);
    if (std::string problem = in.check_header(what, hll_magic, hll_version); !problem.empty()) {
        result.error = std::move(problem);
        return result;
    }
    std::uint8_t precision = 0;
    if (!in.get_u8(precision)) {
        result.error = decode_error(what, "truncated precision", in.offset());
        return result;
    }
    if (precision < min_precision || precision > max_precision) {
        result.error = decode_error(what, "precision " + std::to_string(precision) + " outside [4, 18]", 5);
        return result;
    }
    HyperLogLog sketch(precision);
    if (in.remaining() != sketch.registers_.size()) {
        result.error = decode_error(what, "expected " + std::to_string(sketch.registers_.size()) +
                                              " register bytes, found " + std::to_string(in.remaining()),
                                    in.offset());
        return result;
    }
    const std::size_t largest = 64 - precision + 1;
    for (std::uint8_t& value : sketch.registers_) {
        const std::size_t at = in.offset();
        in.get_u8(value);
        if (value > largest) {
            result.error = decode_error(what, "register value " + std::to_string(value) + " above " +
                                                  std::to_string(largest), at);
            return result;
        }
    }
    result.value = std::move(sketch);
    return result;
}

}  // namespace mw::stats
