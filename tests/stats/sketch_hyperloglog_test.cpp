// HyperLogLog: relative error within three standard errors (1.04 / sqrt(m))
// over seeded streams of many cardinalities, doubles and strings; merging;
// decoding of corrupt blobs.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "stats/hyperloglog.h"
#include "stats/sketch_random.h"

using mw::stats::HyperLogLog;

TEST_CASE("hyperloglog: relative error within 3 standard errors in >= 99% of trials") {
    const std::uint64_t cardinalities[] = {1, 10, 100, 1'000, 3'000, 10'000, 20'000, 100'000, 1'000'000};
    int trials = 0;
    int outside = 0;
    double worst = 0.0;
    for (std::uint64_t cardinality : cardinalities) {
        const int seeds = cardinality >= 1'000'000 ? 4 : 12;
        for (int seed = 0; seed < seeds; ++seed) {
            HyperLogLog doubles;
            HyperLogLog strings;
            std::mt19937_64 engine(static_cast<std::uint64_t>(seed) * 7 + cardinality);
            std::normal_distribution<double> normal(0.0, 1e6);
            const std::string prefix = "s" + std::to_string(seed) + "-";
            for (std::uint64_t i = 0; i < cardinality; ++i) {
                // Distinct doubles: a random offset plus i, far apart from other seeds.
                doubles.update(static_cast<double>(seed) * 1e12 + static_cast<double>(i) + 0.25);
                strings.update(prefix + std::to_string(i));
                // Repeats must not count.
                if (i % 3 == 0) strings.update(prefix + std::to_string(i));
            }
            for (const HyperLogLog* sketch : {&doubles, &strings}) {
                const double error = std::abs(sketch->estimate() - static_cast<double>(cardinality)) /
                                     static_cast<double>(cardinality);
                ++trials;
                outside += error > 3 * sketch->relative_standard_error() ? 1 : 0;
                worst = std::max(worst, error);
            }
        }
    }
    INFO(outside << " of " << trials << " outside 3 standard errors, worst relative error " << worst);
    CHECK(outside * 100 <= trials);
    CHECK(HyperLogLog().relative_standard_error() == Approx(1.04 / 64));
}

TEST_CASE("hyperloglog: small cardinalities are nearly exact") {
    HyperLogLog sketch;
    CHECK(sketch.estimate() == 0.0);
    for (int i = 0; i < 50; ++i) sketch.update(static_cast<double>(i));
    CHECK(sketch.estimate() == Approx(50.0).margin(1.0));
    sketch.update(-0.0);
    sketch.update(0.0);
    sketch.update(std::nan(""));
    CHECK(sketch.estimate() == Approx(50.0).margin(1.0));
}

TEST_CASE("hyperloglog: merge estimates the union") {
    HyperLogLog a;
    HyperLogLog b;
    for (int i = 0; i < 60'000; ++i) a.update(static_cast<double>(i));
    for (int i = 40'000; i < 100'000; ++i) b.update(static_cast<double>(i));
    REQUIRE(a.merge(b).empty());
    CHECK(std::abs(a.estimate() - 100'000.0) / 100'000.0 < 3 * a.relative_standard_error());
    HyperLogLog coarse(10);
    CHECK_FALSE(a.merge(coarse).empty());
    CHECK_THROWS_AS(HyperLogLog(3), std::invalid_argument);
}

TEST_CASE("hyperloglog: serialize round trip and corrupt blobs") {
    HyperLogLog sketch(8);
    for (int i = 0; i < 5'000; ++i) sketch.update("v" + std::to_string(i));
    const std::string blob = sketch.serialize();
    auto decoded = HyperLogLog::deserialize(blob);
    REQUIRE(decoded.ok());
    CHECK(decoded.value.estimate() == sketch.estimate());
    CHECK(decoded.value.serialize() == blob);

    for (std::size_t length = 0; length < blob.size(); ++length) {
        CHECK_FALSE(HyperLogLog::deserialize(blob.substr(0, length)).ok());
    }
    std::string too_high = blob;
    too_high[10] = static_cast<char>(64 - 8 + 2);
    CHECK(HyperLogLog::deserialize(too_high).error.find("register value") != std::string::npos);
    std::string bad_precision = blob;
    bad_precision[5] = 30;
    CHECK(HyperLogLog::deserialize(bad_precision).error.find("precision") != std::string::npos);
}

TEST_CASE("hyperloglog: the documented hashes") {
    CHECK(mw::stats::hash_double(-0.0) == mw::stats::hash_double(0.0));
    CHECK(mw::stats::hash_double(1.0) != mw::stats::hash_double(2.0));
    // FNV-1a of the empty string is the offset basis; the result is its mix64.
    CHECK(mw::stats::hash_string("") == mw::stats::mix64(0xcbf29ce484222325ULL));
}
