#include "stats/reservoir_sample.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace mw::stats {
namespace {

constexpr std::string_view reservoir_magic = "MWRS";
constexpr std::uint8_t reservoir_version = 1;

// Moves `count` uniformly chosen values of `pool` (a copy) to its front.
void choose_front(std::vector<double>& pool, std::size_t count, SplitMix64& random) {
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t j = i + static_cast<std::size_t>(random.below(pool.size() - i));
        std::swap(pool[i], pool[j]);
    }
}

}  // namespace

ReservoirSample::ReservoirSample(std::uint32_t capacity, std::uint64_t seed) : capacity_(capacity), random_{seed} {}

void ReservoirSample::update_many(std::span<const double> values) {
    for (double value : values) update(value);
}

std::string ReservoirSample::merge(const ReservoirSample& other) {
    if (other.capacity_ != capacity_) {
        return "reservoir merge: capacity " + std::to_string(other.capacity_) + " differs from " +
               std::to_string(capacity_);
    }
    if (other.n_ == 0) return {};
    const std::uint64_t total = n_ + other.n_;
    const std::uint64_t size = std::min<std::uint64_t>(capacity_, total);
    // Sides of `size` draws without replacement from the two populations.
    std::uint64_t left_ours = n_;
    std::uint64_t left_total = total;
    std::size_t from_ours = 0;
    for (std::uint64_t draw = 0; draw < size; ++draw) {
        if (random_.below(left_total) < left_ours) {
            ++from_ours;
            --left_ours;
        }
        --left_total;
    }
    const std::size_t from_theirs = static_cast<std::size_t>(size) - from_ours;
    std::vector<double> ours = std::move(values_);
    std::vector<double> theirs = other.values_;
    choose_front(ours, from_ours, random_);
    choose_front(theirs, from_theirs, random_);
    values_.clear();
    values_.reserve(static_cast<std::size_t>(size));
    values_.insert(values_.end(), ours.begin(), ours.begin() + static_cast<std::ptrdiff_t>(from_ours));
    values_.insert(values_.end(), theirs.begin(), theirs.begin() + static_cast<std::ptrdiff_t>(from_theirs));
    n_ = total;
    return {};
}

std::string ReservoirSample::serialize() const {
    ByteWriter out;
    out.put_header(reservoir_magic, reservoir_version);
    out.put_u32(capacity_);
    out.put_u64(n_);
    out.put_u64(random_.state);
    out.put_u32(static_cast<std::uint32_t>(values_.size()));
    for (double value : values_) out.put_f64(value);
    return out.take();
}

Decoded<ReservoirSample> ReservoirSample::deserialize(std::string_view bytes) {
    constexpr std::string_view what = "reservoir sample";
    Decoded<ReservoirSample> result;
    ByteReader in(bytes);
    if (std::string problem = in.check_header(what, reservoir_magic, reservoir_version); !problem.empty()) {
        result.error = std::move(problem);
        return result;
    }
    std::uint32_t capacity = 0;
    std::uint64_t n = 0;
    std::uint64_t random_state = 0;
    std::uint32_t size = 0;
    if (!in.get_u32(capacity) || !in.get_u64(n) || !in.get_u64(random_state) || !in.get_u32(size)) {
        result.error = decode_error(what, "truncated fixed fields", in.offset());
        return result;
    }
    if (size != std::min<std::uint64_t>(capacity, n)) {
        result.error = decode_error(what, "sample size " + std::to_string(size) + " is not min(capacity, n)",
                                    in.offset() - 4);
        return result;
    }
    if (in.remaining() != std::size_t{size} * 8) {
        result.error = decode_error(what, "expected " + std::to_string(size) + " values, found " +
                                              std::to_string(in.remaining()) + " bytes",
                                    in.offset());
        return result;
    }
    ReservoirSample sample(capacity, random_state);
    sample.values_.reserve(size);
    for (std::uint32_t i = 0; i < size; ++i) {
        double value = 0.0;
        in.get_f64(value);
        sample.values_.push_back(value);
    }
    sample.n_ = n;
    result.value = std::move(sample);
    return result;
}

}  // namespace mw::stats
