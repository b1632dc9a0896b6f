// FrequentItems: exact counts below the capacity, the Misra-Gries bounds on a
// skewed stream with many more distinct items than counters, merging, and
// decoding of corrupt blobs.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "stats/frequent_items.h"

using mw::stats::FrequentItems;

namespace {

using Truth = std::map<std::string, std::uint64_t>;

// Zipf-like: item i with probability proportional to 1 / (i + 1).
std::vector<std::string> skewed_stream(std::size_t n, int distinct, std::uint64_t seed) {
    std::vector<double> weights(static_cast<std::size_t>(distinct));
    for (int i = 0; i < distinct; ++i) weights[static_cast<std::size_t>(i)] = 1.0 / (i + 1);
    std::discrete_distribution<int> pick(weights.begin(), weights.end());
    std::mt19937_64 engine(seed);
    std::vector<std::string> stream(n);
    for (std::string& item : stream) item = "item" + std::to_string(pick(engine));
    return stream;
}

Truth count_exactly(const std::vector<std::string>& stream) {
    Truth truth;
    for (const std::string& item : stream) ++truth[item];
    return truth;
}

// count <= true <= count + max_error for every item, max_error within the
// Misra-Gries bound, and the tracked counts plus "other" sum to n.
void check_bounds(const FrequentItems& summary, const Truth& truth) {
    std::uint64_t tracked_total = 0;
    for (const auto& entry : summary.items()) tracked_total += entry.count;
    CHECK(tracked_total + summary.other_count() == summary.n());
    CHECK(summary.tracked() <= summary.capacity());
    CHECK(summary.max_error() * (summary.capacity() + 1) <= summary.n() - tracked_total);
    for (const auto& [item, true_count] : truth) {
        INFO("item " << item);
        const std::uint64_t estimate = summary.count(item);
        CHECK(estimate <= true_count);
        CHECK(true_count <= estimate + summary.max_error());
    }
}

}  // namespace

TEST_CASE("frequent items: exact while the distinct items fit") {
    const std::vector<std::string> stream = skewed_stream(50'000, 40, 1);
    FrequentItems summary(64);
    for (const std::string& item : stream) summary.update(item);
    const Truth truth = count_exactly(stream);
    CHECK(summary.is_exact());
    CHECK(summary.other_count() == 0);
    CHECK(summary.n() == 50'000);
    REQUIRE(summary.tracked() == truth.size());
    for (const auto& [item, true_count] : truth) CHECK(summary.count(item) == true_count);
    const auto items = summary.items();
    CHECK(items.front().item == "item0");
    for (std::size_t i = 1; i < items.size(); ++i) CHECK(items[i - 1].count >= items[i].count);
}

TEST_CASE("frequent items: Misra-Gries bounds with far more distinct items than counters") {
    const std::vector<std::string> stream = skewed_stream(200'000, 20'000, 2);
    FrequentItems summary(64);
    for (const std::string& item : stream) summary.update(item);
    CHECK_FALSE(summary.is_exact());
    CHECK(summary.max_error() > 0);
    check_bounds(summary, count_exactly(stream));
    // The heaviest item is found and near its true count.
    CHECK(summary.items().front().item == "item0");
}

TEST_CASE("frequent items: weighted updates") {
    FrequentItems summary(2);
    summary.update("a", 10);
    summary.update("b", 3);
    summary.update("c", 5);  // full: every counter and c lose 3, b drops out, c keeps 2
    CHECK(summary.count("a") == 7);
    CHECK(summary.count("b") == 0);
    CHECK(summary.count("c") == 2);
    CHECK(summary.max_error() == 3);
    CHECK(summary.other_count() == 18 - 9);
    check_bounds(summary, Truth{{"a", 10}, {"b", 3}, {"c", 5}});
}

TEST_CASE("frequent items: merging keeps the bounds, and exactness when the union fits") {
    const std::vector<std::string> stream = skewed_stream(100'000, 5'000, 3);
    const Truth truth = count_exactly(stream);
    FrequentItems total(64);
    for (std::size_t part = 0; part < 4; ++part) {
        FrequentItems piece(64);
        for (std::size_t i = part * 25'000; i < (part + 1) * 25'000; ++i) piece.update(stream[i]);
        total.merge(piece);
    }
    CHECK(total.n() == 100'000);
    check_bounds(total, truth);

    FrequentItems left(16);
    FrequentItems right(16);
    for (int i = 0; i < 100; ++i) left.update("x" + std::to_string(i % 10));
    for (int i = 0; i < 50; ++i) right.update("x" + std::to_string(5 + i % 10));
    left.merge(right);
    CHECK(left.is_exact());
    CHECK(left.count("x7") == 15);
    CHECK(left.count("x14") == 5);
    CHECK(left.tracked() == 15);
}

TEST_CASE("frequent items: a merge drops the counters below the subtracted count instead of wrapping them") {
    // Four counters for a capacity of 2: the third largest (3) is subtracted
    // from every counter; d's 1 and c's 3 go, none wraps to 2^64 - 2.
    FrequentItems left(2);
    FrequentItems right(2);
    left.update("a", 10);
    left.update("b", 5);
    right.update("c", 3);
    right.update("d", 1);
    left.merge(right);
    CHECK(left.tracked() == 2);
    CHECK(left.count("a") == 7);
    CHECK(left.count("b") == 2);
    CHECK(left.count("c") == 0);
    CHECK(left.count("d") == 0);
    CHECK(left.max_error() == 3);
    check_bounds(left, Truth{{"a", 10}, {"b", 5}, {"c", 3}, {"d", 1}});
    // What it serialises reads back (a wrapped counter made the counts exceed n).
    CHECK(FrequentItems::deserialize(left.serialize()).ok());
}

TEST_CASE("frequent items: serialize round trip and corrupt blobs") {
    const std::vector<std::string> stream = skewed_stream(20'000, 1'000, 4);
    FrequentItems summary(32);
    for (const std::string& item : stream) summary.update(item);
    const std::string blob = summary.serialize();
    auto decoded = FrequentItems::deserialize(blob);
    REQUIRE(decoded.ok());
    CHECK(decoded.value.serialize() == blob);
    CHECK(decoded.value.max_error() == summary.max_error());
    CHECK(decoded.value.other_count() == summary.other_count());

    for (std::size_t length = 0; length < blob.size(); ++length) {
        INFO("truncated to " << length);
        CHECK_FALSE(FrequentItems::deserialize(blob.substr(0, length)).ok());
    }
    std::mt19937_64 engine(5);
    for (int trial = 0; trial < 2000; ++trial) {
        std::string corrupt = blob;
        corrupt[engine() % corrupt.size()] = static_cast<char>(engine());
        auto result = FrequentItems::deserialize(corrupt);
        if (result.ok()) CHECK(result.value.other_count() <= result.value.n());
    }

    FrequentItems pair(4);
    pair.update("ab");
    pair.update("ab");
    pair.update("cd");
    std::string duplicate = pair.serialize();
    // Rename "cd" to "ab": the last entry's bytes are its item.
    duplicate.replace(duplicate.size() - 2, 2, "ab");
    CHECK(FrequentItems::deserialize(duplicate).error.find("duplicate") != std::string::npos);
}
