// ReservoirSample: every value of the stream is kept with probability
// capacity / n, after updates alone, after merges of unequal parts, and after
// updates that follow a merge; decoding of corrupt blobs.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "stats/reservoir_sample.h"

using mw::stats::ReservoirSample;

namespace {

constexpr int repetitions = 20'000;

// Each value's inclusion frequency must be capacity / n within 5 binomial
// standard deviations (deterministic seeds, so this never flickers).
void check_uniform(const std::vector<int>& hits, double expected_share) {
    const double sd = std::sqrt(expected_share * (1.0 - expected_share) / repetitions);
    for (std::size_t value = 0; value < hits.size(); ++value) {
        INFO("value " << value);
        CHECK(std::abs(static_cast<double>(hits[value]) / repetitions - expected_share) < 5 * sd);
    }
}

void tally(const ReservoirSample& sample, std::vector<int>& hits) {
    for (double value : sample.values()) ++hits[static_cast<std::size_t>(value)];
}

}  // namespace

TEST_CASE("reservoir: keeps everything below capacity") {
    ReservoirSample sample(10, 1);
    for (int i = 0; i < 7; ++i) sample.update(i);
    CHECK(sample.values().size() == 7);
    CHECK(sample.values()[6] == 6.0);
}

TEST_CASE("reservoir: capacity 0 counts and keeps no value, through merge and serialisation") {
    ReservoirSample empty(0, 3);
    for (int i = 0; i < 1000; ++i) empty.update(i);
    CHECK(empty.n() == 1000);
    CHECK(empty.values().empty());
    ReservoirSample other(0, 4);
    other.update(1.5);
    REQUIRE(empty.merge(other).empty());
    CHECK(empty.n() == 1001);
    CHECK(empty.values().empty());
    const auto decoded = ReservoirSample::deserialize(empty.serialize());
    REQUIRE(decoded.error.empty());
    CHECK(decoded.value.n() == 1001);
    CHECK(decoded.value.capacity() == 0);
    CHECK(decoded.value.values().empty());
    CHECK_FALSE(empty.merge(ReservoirSample(10, 1)).empty());
}

TEST_CASE("reservoir: updates alone give a uniform sample") {
    std::vector<int> hits(100, 0);
    for (int seed = 0; seed < repetitions; ++seed) {
        ReservoirSample sample(10, static_cast<std::uint64_t>(seed));
        for (int i = 0; i < 100; ++i) sample.update(i);
        REQUIRE(sample.values().size() == 10);
        tally(sample, hits);
    }
    check_uniform(hits, 0.1);
}

TEST_CASE("reservoir: merging unequal parts, then updating, stays uniform") {
    std::vector<int> merged_hits(100, 0);
    std::vector<int> continued_hits(130, 0);
    for (int seed = 0; seed < repetitions; ++seed) {
        const auto base = static_cast<std::uint64_t>(seed) * 3;
        ReservoirSample small(10, base);
        ReservoirSample large(10, base + 1);
        for (int i = 0; i < 8; ++i) small.update(i);  // below capacity: all kept
        for (int i = 8; i < 100; ++i) large.update(i);
        REQUIRE(small.merge(large).empty());
        REQUIRE(small.n() == 100);
        REQUIRE(small.values().size() == 10);
        tally(small, merged_hits);
        for (int i = 100; i < 130; ++i) small.update(i);
        tally(small, continued_hits);
    }
    check_uniform(merged_hits, 0.1);
    check_uniform(continued_hits, 10.0 / 130.0);
}

TEST_CASE("reservoir: merge refuses different capacities") {
    ReservoirSample a(10);
    ReservoirSample b(20);
    b.update(1.0);
    CHECK_FALSE(a.merge(b).empty());
    CHECK(a.n() == 0);
}

TEST_CASE("reservoir: serialize round trip and corrupt blobs") {
    ReservoirSample sample(50, 3);
    for (int i = 0; i < 1'000; ++i) sample.update(i * 0.5);
    const std::string blob = sample.serialize();
    auto decoded = ReservoirSample::deserialize(blob);
    REQUIRE(decoded.ok());
    CHECK(decoded.value.serialize() == blob);
    // The generator state travelled: both continue identically.
    for (int i = 0; i < 500; ++i) {
        sample.update(-i);
        decoded.value.update(-i);
    }
    CHECK(decoded.value.serialize() == sample.serialize());
    for (std::size_t length = 0; length < blob.size(); ++length) {
        CHECK_FALSE(ReservoirSample::deserialize(blob.substr(0, length)).ok());
    }
    std::string wrong_size = blob;
    wrong_size[25] = 49;  // the sample size field: must equal min(capacity, n)
    CHECK(ReservoirSample::deserialize(wrong_size).error.find("sample size") != std::string::npos);
}
