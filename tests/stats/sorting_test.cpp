// sort_ascending against std::sort on inputs that exercise the radix path
// (above 2048 values) and its fix-up of keys equal in their top 48 bits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "stats/sorting.h"

using mw::stats::sort_ascending;

namespace {

void check_sorted_like_std(std::vector<double> values) {
    std::vector<double> expected = values;
    std::sort(expected.begin(), expected.end());
    sort_ascending(values);
    REQUIRE(values.size() == expected.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        INFO("index " << i);
        // -0.0 and +0.0 compare equal; everything else must match bit for bit.
        CHECK(values[i] == expected[i]);
    }
}

}  // namespace

TEST_CASE("sort_ascending orders like std::sort") {
    std::mt19937_64 engine(7);
    std::normal_distribution<double> normal(0.0, 1.0);

    SECTION("small input (std::sort path)") {
        std::vector<double> v(100);
        for (double& x : v) x = normal(engine);
        check_sorted_like_std(v);
    }
    SECTION("continuous values with both signs, zeros and infinities") {
        std::vector<double> v(50000);
        for (double& x : v) x = normal(engine) * 1e3;
        v[10] = 0.0;
        v[11] = -0.0;
        v[12] = INFINITY;
        v[13] = -INFINITY;
        v[14] = 1e-310;  // subnormal
        v[15] = -1e-310;
        check_sorted_like_std(v);
    }
    SECTION("heavy ties") {
        std::vector<double> v(30000);
        for (double& x : v) x = std::round(normal(engine) * 3.0);
        check_sorted_like_std(v);
    }
    SECTION("values equal in their top 48 bits but not in the low 16") {
        std::vector<double> v(20000);
        for (std::size_t i = 0; i < v.size(); ++i) {
            const std::uint64_t low = (i * 7919) % 65536;
            v[i] = std::bit_cast<double>(std::bit_cast<std::uint64_t>(1.5) + low) * (i % 2 ? 1.0 : -1.0);
        }
        check_sorted_like_std(v);
    }
    SECTION("already sorted and reversed") {
        std::vector<double> v(10000);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) - 5000.0;
        check_sorted_like_std(v);
        std::reverse(v.begin(), v.end());
        check_sorted_like_std(v);
    }
}

TEST_CASE("sort_ascending with a caller's scratch buffer reused across sizes orders like std::sort") {
    std::mt19937_64 engine(11);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<std::uint64_t> scratch;
    // Growing, then shrinking: a larger scratch left over from an earlier
    // sort holds stale keys that must not leak into the next result.
    for (const std::size_t size : {3000, 40000, 5000, 100, 40000}) {
        INFO("size " << size);
        std::vector<double> values(size);
        for (double& x : values) x = std::round(normal(engine) * 50.0) / 8.0;
        std::vector<double> expected = values;
        std::sort(expected.begin(), expected.end());
        sort_ascending(values, scratch);
        CHECK(values == expected);
    }
}
