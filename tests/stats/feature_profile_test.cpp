// NumericProfile and CategoricalProfile: moments against a two-pass
// computation, missing values, update_many against update, merging parts
// against the whole, serialisation and its validation; ProfileSet's blobs
// damaged by hand (what PostgreSQL might hand back), and merges that fail
// leaving the set unchanged.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "stats/feature_profile.h"

using mw::stats::CategoricalProfile;
using mw::stats::NumericProfile;
using mw::stats::NumericProfileOptions;

namespace {

std::vector<double> normal_values(std::size_t n, std::uint64_t seed, double mean, double sd) {
    std::mt19937_64 engine(seed);
    std::normal_distribution<double> normal(mean, sd);
    std::vector<double> values(n);
    for (double& value : values) value = normal(engine);
    return values;
}

struct TwoPass {
    double mean = 0.0;
    double variance = 0.0;  // ddof = 0
};

// Two passes in long double, so the reference is more precise than what it checks.
TwoPass two_pass(const std::vector<double>& values) {
    long double sum = 0.0L;
    for (double value : values) sum += value;
    const long double mean = sum / static_cast<long double>(values.size());
    long double squares = 0.0L;
    for (double value : values) squares += (value - mean) * (value - mean);
    return TwoPass{static_cast<double>(mean), static_cast<double>(squares / static_cast<long double>(values.size()))};
}

}  // namespace

TEST_CASE("numeric profile: moments, extremes and missing values") {
    // A large offset makes the naive sum-of-squares formula lose every digit;
    // Welford and Chan must not.
    const std::vector<double> values = normal_values(100'000, 1, 1e9, 3.0);
    const TwoPass expected = two_pass(values);
    NumericProfile one_by_one;
    for (double value : values) one_by_one.update(value);
    one_by_one.update(std::numeric_limits<double>::quiet_NaN());
    one_by_one.update(std::numeric_limits<double>::infinity());
    one_by_one.update_missing();
    CHECK(one_by_one.count() == 100'000);
    CHECK(one_by_one.missing_count() == 3);
    CHECK(one_by_one.mean() == Approx(expected.mean).epsilon(1e-14));
    CHECK(one_by_one.population_variance() == Approx(expected.variance).epsilon(1e-8));
    CHECK(one_by_one.sample_variance() == Approx(expected.variance * 100'000 / 99'999).epsilon(1e-8));
    CHECK(one_by_one.min() == *std::min_element(values.begin(), values.end()));
    CHECK(one_by_one.max() == *std::max_element(values.begin(), values.end()));
    CHECK(one_by_one.quantiles().n() == 100'000);
    CHECK(one_by_one.sample().values().size() == 2'000);
    CHECK(one_by_one.distinct_estimate() == Approx(100'000).epsilon(0.05));

    std::vector<double> with_gaps = values;
    with_gaps.push_back(std::numeric_limits<double>::quiet_NaN());
    with_gaps.push_back(-std::numeric_limits<double>::infinity());
    NumericProfile batched;
    batched.update_many(with_gaps);
    batched.update_missing();
    CHECK(batched.count() == one_by_one.count());
    CHECK(batched.missing_count() == 3);
    CHECK(batched.mean() == Approx(expected.mean).epsilon(1e-14));
    CHECK(batched.population_variance() == Approx(expected.variance).epsilon(1e-8));
    // The sketches saw the same values in the same order with the same seeds.
    CHECK(batched.quantiles().serialize() == one_by_one.quantiles().serialize());
    CHECK(batched.sample().serialize() == one_by_one.sample().serialize());
    CHECK(batched.distinct().serialize() == one_by_one.distinct().serialize());
}

TEST_CASE("numeric profile: an empty profile answers NaN") {
    NumericProfile empty;
    empty.update_missing();
    CHECK(std::isnan(empty.mean()));
    CHECK(std::isnan(empty.min()));
    CHECK(std::isnan(empty.population_variance()));
    CHECK(std::isnan(empty.sample_variance()));
    CHECK(empty.missing_count() == 1);
}

TEST_CASE("numeric profile: merged parts agree with the whole") {
    const std::vector<double> first = normal_values(30'000, 2, 5.0, 1.0);
    const std::vector<double> second = normal_values(70'000, 3, -2.0, 4.0);
    std::vector<double> whole = first;
    whole.insert(whole.end(), second.begin(), second.end());
    const TwoPass expected = two_pass(whole);

    NumericProfile left(NumericProfileOptions{.seed = 1});
    NumericProfile right(NumericProfileOptions{.seed = 2});
    left.update_many(first);
    right.update_many(second);
    right.update_missing();
    REQUIRE(left.merge(right).empty());
    CHECK(left.count() == 100'000);
    CHECK(left.missing_count() == 1);
    CHECK(left.mean() == Approx(expected.mean).epsilon(1e-12));
    CHECK(left.population_variance() == Approx(expected.variance).epsilon(1e-12));
    CHECK(left.min() == *std::min_element(whole.begin(), whole.end()));
    CHECK(left.quantiles().n() == 100'000);
    CHECK(left.sample().n() == 100'000);
    std::sort(whole.begin(), whole.end());
    const double true_median = whole[whole.size() / 2];
    const double median_rank =
        static_cast<double>(std::upper_bound(whole.begin(), whole.end(), left.quantiles().quantile(0.5)) - whole.begin()) /
        static_cast<double>(whole.size());
    CHECK(std::abs(median_rank - 0.5) < 0.0133);
    CHECK(left.quantiles().rank(true_median) == Approx(0.5).margin(0.0133));

    NumericProfile other_size(NumericProfileOptions{.reservoir_capacity = 10});
    other_size.update(1.0);
    const std::string before = left.serialize();
    CHECK_FALSE(left.merge(other_size).empty());
    CHECK(left.serialize() == before);
}

TEST_CASE("numeric profile: serialize round trip and validation") {
    NumericProfile profile(NumericProfileOptions{.kll_k = 100, .reservoir_capacity = 300, .hll_precision = 10, .seed = 4});
    profile.update_many(normal_values(20'000, 5, 0.0, 1.0));
    profile.update_missing();
    const std::string blob = profile.serialize();
    auto decoded = NumericProfile::deserialize(blob);
    REQUIRE(decoded.ok());
    CHECK(decoded.value.serialize() == blob);
    CHECK(decoded.value.mean() == profile.mean());
    CHECK(decoded.value.missing_count() == 1);
    CHECK(decoded.value.quantiles().k() == 100);

    auto empty = NumericProfile::deserialize(NumericProfile().serialize());
    REQUIRE(empty.ok());
    CHECK(empty.value.count() == 0);
    empty.value.update(3.0);
    CHECK(empty.value.min() == 3.0);

    for (std::size_t length = 0; length < blob.size(); length += 7) {
        CHECK_FALSE(NumericProfile::deserialize(blob.substr(0, length)).ok());
    }
    std::string wrong_count = blob;
    wrong_count[5] = static_cast<char>(wrong_count[5] ^ 1);
    CHECK(NumericProfile::deserialize(wrong_count).error.find("disagree") != std::string::npos);
    std::string bad_nested = blob;
    bad_nested[5 + 8 + 8 + 32 + 4] = 'X';  // the magic of the KLL blob
    const auto nested = NumericProfile::deserialize(bad_nested);
    CHECK(nested.error.find("kll sketch: wrong magic") != std::string::npos);
}

TEST_CASE("categorical profile: counts, merge and serialization") {
    CategoricalProfile profile;
    const char* colours[] = {"red", "green", "blue"};
    for (int i = 0; i < 300; ++i) profile.update(colours[i % 3]);
    profile.update_missing();
    CHECK(profile.count() == 300);
    CHECK(profile.missing_count() == 1);
    CHECK(profile.items().is_exact());
    CHECK(profile.items().count("green") == 100);
    CHECK(profile.distinct_estimate() == Approx(3.0).margin(0.01));

    CategoricalProfile other;
    for (int i = 0; i < 50; ++i) other.update("purple");
    REQUIRE(profile.merge(other).empty());
    CHECK(profile.count() == 350);
    // Ties in count are listed by name.
    CHECK(profile.items().items().front().item == "blue");
    CHECK(profile.items().count("purple") == 50);
    CHECK(profile.distinct_estimate() == Approx(4.0).margin(0.01));

    const std::string blob = profile.serialize();
    auto decoded = CategoricalProfile::deserialize(blob);
    REQUIRE(decoded.ok());
    CHECK(decoded.value.serialize() == blob);
    for (std::size_t length = 0; length < blob.size(); length += 5) {
        CHECK_FALSE(CategoricalProfile::deserialize(blob.substr(0, length)).ok());
    }
    std::string wrong_count = blob;
    wrong_count[5] = static_cast<char>(wrong_count[5] ^ 1);
    CHECK(CategoricalProfile::deserialize(wrong_count).error.find("count disagrees") != std::string::npos);

    CategoricalProfile coarse(mw::stats::CategoricalProfileOptions{.hll_precision = 8});
    CHECK_FALSE(profile.merge(coarse).empty());
}

TEST_CASE("profile-only numeric profile: no reservoir value kept, merges and round trips") {
    const std::vector<double> values = normal_values(3000, 7, 5.0, 2.0);
    NumericProfile whole(mw::stats::profile_only_numeric_options(11));
    NumericProfile first(mw::stats::profile_only_numeric_options(12));
    NumericProfile second(mw::stats::profile_only_numeric_options(13));
    for (std::size_t i = 0; i < values.size(); ++i) {
        whole.update(values[i]);
        (i < 1000 ? first : second).update(values[i]);
    }
    CHECK(whole.sample().values().empty());
    CHECK(whole.sample().n() == 3000);
    REQUIRE(first.merge(second).empty());
    CHECK(first.count() == 3000);
    CHECK(first.sample().values().empty());
    CHECK(first.mean() == Approx(whole.mean()).epsilon(1e-12));
    const auto decoded = NumericProfile::deserialize(first.serialize());
    REQUIRE(decoded.error.empty());
    CHECK(decoded.value.sample().capacity() == 0);
    CHECK(decoded.value.count() == 3000);
    // A profile with a reservoir and one without do not merge silently.
    CHECK_FALSE(NumericProfile().merge(first).empty());
}

TEST_CASE("profile set: merge of parts equals the whole in counts, round trip, hostile blobs") {
    mw::stats::ProfileSet parts[2];
    mw::stats::ProfileSet whole;
    const auto options = mw::stats::profile_only_numeric_options(1);
    for (int i = 0; i < 500; ++i) {
        for (auto* set : {&parts[i % 2], &whole}) {
            set->add_rows(1);
            set->numeric("age", options).update(20 + i % 50);
            if (i % 7 == 0) set->categorical("sex").update_missing();
            else set->categorical("sex").update(i % 3 == 0 ? "F" : "M");
        }
    }
    mw::stats::ProfileSet merged;
    REQUIRE(merged.merge(parts[0]).empty());
    REQUIRE(merged.merge(parts[1]).empty());
    CHECK(merged.rows() == 500);
    REQUIRE(merged.find_numeric("age") != nullptr);
    CHECK(merged.find_numeric("age")->count() == whole.find_numeric("age")->count());
    CHECK(merged.find_numeric("age")->mean() == Approx(whole.find_numeric("age")->mean()));
    CHECK(merged.find_categorical("sex")->missing_count() == whole.find_categorical("sex")->missing_count());
    CHECK(merged.find_categorical("sex")->items().count("F") == whole.find_categorical("sex")->items().count("F"));

    const std::string bytes = merged.serialize();
    const auto decoded = mw::stats::ProfileSet::deserialize(bytes);
    REQUIRE(decoded.error.empty());
    CHECK(decoded.value.rows() == 500);
    CHECK(decoded.value.find_numeric("age")->count() == 500);
    CHECK(decoded.value.find_categorical("sex") != nullptr);
    // Every truncation is an error value, never a crash or a partial set.
    for (std::size_t cut = 0; cut < bytes.size(); cut += 97)
        CHECK_FALSE(mw::stats::ProfileSet::deserialize(std::string_view(bytes).substr(0, cut)).error.empty());
    CHECK_FALSE(mw::stats::ProfileSet::deserialize(bytes + "x").error.empty());
    // A feature numeric in one set and categorical in another is an error.
    mw::stats::ProfileSet other;
    other.categorical("age").update("x");
    CHECK_FALSE(merged.merge(other).empty());
}

TEST_CASE("profile set segments: each value's rows exactly, merged, capped, partial, round trip, hostile blobs") {
    using mw::stats::ProfileSet;
    using State = mw::stats::SegmentProfiles::State;
    const auto options = mw::stats::profile_only_numeric_options(1);
    // Rows into one set with segments by "sex", as the store writer folds them.
    const auto add_row = [&](ProfileSet& set, double age, const std::string& sex, std::size_t cap) {
        set.add_rows(1);
        set.numeric("age", options).update(age);
        if (ProfileSet* segment = set.segment("sex", sex, cap)) {
            segment->add_rows(1);
            segment->numeric("age", options).update(age);
        }
    };
    ProfileSet parts[2];
    ProfileSet whole;
    for (auto* set : {&parts[0], &parts[1], &whole}) set->declare_segments("sex");
    for (int i = 0; i < 600; ++i) {
        const std::string sex = i % 3 == 0 ? "F" : i % 3 == 1 ? "M" : "";
        add_row(parts[i % 2], 20 + i % 50 + (sex == "F" ? 30 : 0), sex, 32);
        add_row(whole, 20 + i % 50 + (sex == "F" ? 30 : 0), sex, 32);
    }
    ProfileSet merged;
    REQUIRE(merged.merge(parts[0]).empty());
    REQUIRE(merged.merge(parts[1]).empty());
    const auto* segments = merged.find_segments("sex");
    REQUIRE(segments != nullptr);
    CHECK(segments->state == State::complete);
    REQUIRE(segments->by_value.size() == 3);
    for (const auto& [value, part] : segments->by_value) {
        const ProfileSet& expected = whole.find_segments("sex")->by_value.at(value);
        CHECK(part.rows() == 200);
        CHECK(part.rows() == expected.rows());
        CHECK(part.find_numeric("age")->count() == 200);
        CHECK(part.find_numeric("age")->min() == expected.find_numeric("age")->min());
        CHECK(part.find_numeric("age")->max() == expected.find_numeric("age")->max());
        CHECK(part.find_numeric("age")->mean() == Approx(expected.find_numeric("age")->mean()).epsilon(1e-12));
    }
    CHECK(segments->by_value.at("F").find_numeric("age")->min() == 50);

    // Round trip; every truncation an error; a count that disagrees with the
    // segments' rows is refused.
    const std::string bytes = merged.serialize();
    const auto decoded = ProfileSet::deserialize(bytes);
    REQUIRE(decoded.error.empty());
    CHECK(decoded.value.find_segments("sex")->by_value.at("M").rows() == 200);
    for (std::size_t cut = 0; cut < bytes.size(); cut += 89)
        CHECK_FALSE(ProfileSet::deserialize(std::string_view(bytes).substr(0, cut)).error.empty());
    ProfileSet short_rows = merged;
    short_rows.add_rows(1);  // one row in no segment
    CHECK(ProfileSet::deserialize(short_rows.serialize()).error.find("the segments of sex hold 600") !=
          std::string::npos);
    // A segment's set with segments of its own (one level only).
    ProfileSet nested;
    nested.declare_segments("sex");
    ProfileSet* inner = nested.segment("sex", "F", 32);
    inner->declare_segments("race");
    CHECK(ProfileSet::deserialize(nested.serialize()).error.find("segments of its own") != std::string::npos);

    // The cap: a part past it keeps no value and makes the merge keep none;
    // two parts each under it but together past it too.
    ProfileSet wide;
    wide.declare_segments("sex");
    for (int i = 0; i < 5; ++i) add_row(wide, i, "v" + std::to_string(i), 4);
    CHECK(wide.find_segments("sex")->state == State::overflowed);
    CHECK(wide.find_segments("sex")->by_value.empty());
    CHECK(wide.segment("sex", "v0", 4) == nullptr);
    ProfileSet capped = merged;
    REQUIRE(capped.merge(wide, 4).empty());
    CHECK(capped.find_segments("sex")->state == State::overflowed);
    CHECK(capped.rows() == 605);
    ProfileSet two_values;
    two_values.declare_segments("sex");
    add_row(two_values, 1, "x", 4);
    add_row(two_values, 2, "y", 4);
    ProfileSet over = merged;  // F, M, "" and x, y: 5 values
    REQUIRE(over.merge(two_values, 4).empty());
    CHECK(over.find_segments("sex")->state == State::overflowed);
    ProfileSet within = merged;
    REQUIRE(within.merge(two_values, 5).empty());
    CHECK(within.find_segments("sex")->state == State::complete);
    CHECK(within.find_segments("sex")->by_value.size() == 5);
    const auto overflowed = ProfileSet::deserialize(over.serialize());
    REQUIRE(overflowed.error.empty());
    CHECK(overflowed.value.find_segments("sex")->state == State::overflowed);

    // Rows profiled without the attribute's segments (a chunk written before
    // it was configured) leave it partial, on either side of the merge.
    ProfileSet before;
    before.add_rows(1);
    before.numeric("age", options).update(3);
    ProfileSet partial = merged;
    REQUIRE(partial.merge(before).empty());
    CHECK(partial.find_segments("sex")->state == State::partial);
    CHECK(partial.find_segments("sex")->by_value.empty());
    ProfileSet partial_too = before;
    REQUIRE(partial_too.merge(merged).empty());
    CHECK(partial_too.find_segments("sex")->state == State::partial);
    // An empty set (the start of every merge) takes the other's segments whole.
    ProfileSet empty;
    REQUIRE(empty.merge(merged).empty());
    CHECK(empty.find_segments("sex")->state == State::complete);
}

TEST_CASE("profile set: a version 1 blob (before segments) reads as a set without segments") {
    using mw::stats::ProfileSet;
    ProfileSet set;
    set.add_rows(1);
    set.categorical("city").update("Paris");
    std::string bytes = set.serialize();
    // Version 2 appends the segment count (4 bytes, 0 here) to version 1's layout.
    REQUIRE(bytes.substr(bytes.size() - 4) == std::string(4, '\0'));
    bytes.resize(bytes.size() - 4);
    bytes[4] = 1;  // "MWPS", then the version byte
    const auto decoded = ProfileSet::deserialize(bytes);
    REQUIRE(decoded.error.empty());
    CHECK(decoded.value.rows() == 1);
    CHECK(decoded.value.segments().empty());
    bytes[4] = 3;
    CHECK(ProfileSet::deserialize(bytes).error.find("unsupported format version 3") != std::string::npos);
}

namespace {

// Little-endian fields written into a blob, as a damaged or tampered
// database row would hold them.
void put_u64_at(std::string& blob, std::size_t at, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) blob[at + i] = static_cast<char>(value >> (8 * i));
}

void put_f64_at(std::string& blob, std::size_t at, double value) {
    put_u64_at(blob, at, std::bit_cast<std::uint64_t>(value));
}

std::uint64_t u64_at(const std::string& blob, std::size_t at) {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= static_cast<std::uint64_t>(static_cast<unsigned char>(blob[at + i])) << (8 * i);
    return value;
}

// What the store writer keeps for 500 rows of a profile-only model: "age"
// (numeric, compacted by its KLL sketch) and "city" (categorical, exact).
mw::stats::ProfileSet damage_test_set() {
    mw::stats::ProfileSet set;
    const auto options = mw::stats::profile_only_numeric_options(3);
    for (int i = 0; i < 500; ++i) {
        set.add_rows(1);
        set.numeric("age", options).update(20 + (i * 37) % 50);
        set.categorical("city").update(i % 3 == 0 ? "Paris" : "Lyon");
    }
    return set;
}

}  // namespace

TEST_CASE("profile set: hand-damaged blobs whose sizes, counts or moments lie are refused, naming what") {
    using mw::stats::ProfileSet;
    const std::string blob = damage_test_set().serialize();
    REQUIRE(ProfileSet::deserialize(blob).ok());
    const std::size_t numeric_at = blob.find("MWNP");
    const std::size_t kll_at = blob.find("MWKL");
    const std::size_t items_at = blob.find("MWFI");
    REQUIRE(numeric_at != std::string::npos);
    REQUIRE(kll_at != std::string::npos);
    REQUIRE(items_at != std::string::npos);
    const auto refused = [](const std::string& damaged, const std::string& says) {
        const auto decoded = ProfileSet::deserialize(damaged);
        INFO("error: " << decoded.error);
        CHECK_FALSE(decoded.ok());
        CHECK(decoded.error.find(says) != std::string::npos);
    };

    // A format version from a future daemon, and one cut short.
    std::string future = blob;
    future[4] = 3;
    refused(future, "unsupported format version 3");
    refused(blob.substr(0, blob.size() / 2), "truncated");

    // The set's row count: fewer rows than its features count values, and
    // more than any profile counts.
    std::string few_rows = blob;
    put_u64_at(few_rows, 5, 10);
    refused(few_rows, "feature \"age\" counts 500 values and 0 missing in 10 rows");
    std::string huge_rows = blob;
    put_u64_at(huge_rows, 5, std::uint64_t{1} << 60);
    refused(huge_rows, "more than a profile counts");

    // The KLL sketch: a level claiming more items than the blob holds, and
    // an n its items' weights do not make (numeric profile's fields: magic
    // and version, then k u16, n u64, min, max, random state, level count,
    // each level's size u32).
    std::string long_level = blob;
    long_level[kll_at + 40] = '\xF0';
    long_level[kll_at + 43] = '\x7F';
    refused(long_level, "more than the blob holds");
    std::string kll_n = blob;
    put_u64_at(kll_n, kll_at + 7, u64_at(blob, kll_at + 7) + 1);
    refused(kll_n, "total weight does not equal n");
    // The profile's count agreeing with neither sketch.
    std::string count = blob;
    put_u64_at(count, numeric_at + 5, 499);
    refused(count, "disagree with the sketches");

    // Moments no values between min and max have: a mean past max, an M2
    // past the Bhatia-Davis bound count * (max - mean) * (mean - min) (here
    // 500 * 24.5^2: the ages 20..69 are uniform).
    const double max = std::bit_cast<double>(u64_at(blob, numeric_at + 29));
    REQUIRE(max == 69);
    std::string mean = blob;
    put_f64_at(mean, numeric_at + 37, max + 1);
    refused(mean, "min, max, mean or M2 that no finite values have");
    std::string m2 = blob;
    put_f64_at(m2, numeric_at + 45, 500 * (49.0 * 49.0 / 4) * 1.01);
    refused(m2, "min, max, mean or M2 that no finite values have");

    // Frequent items: a max_error the counters cannot have lost (they hold
    // every value: nothing was decremented), and more entries than the
    // blob holds (fields: magic and version, capacity u32, n u64,
    // max_error u64, entry count u32).
    std::string max_error = blob;
    put_u64_at(max_error, items_at + 17, 1);
    refused(max_error, "max_error 1 exceeds the count the items do not hold");
    std::string entries = blob;
    entries[items_at + 25] = 100;
    refused(entries, "entry count larger than the blob holds");

    // The same checks hold for every byte flipped: a damaged blob decodes to
    // an error or to a set whose counts are within its rows.
    std::mt19937_64 engine(11);
    for (int trial = 0; trial < 3000; ++trial) {
        std::string flipped = blob;
        flipped[engine() % flipped.size()] ^= static_cast<char>(1 + engine() % 255);
        const auto decoded = ProfileSet::deserialize(flipped);
        if (!decoded.ok()) continue;
        for (const auto& [name, profile] : decoded.value.numeric_profiles())
            CHECK(profile.count() + profile.missing_count() <= decoded.value.rows());
        for (const auto& [name, profile] : decoded.value.categorical_profiles())
            CHECK(profile.items().other_count() <= profile.count());
    }
}

TEST_CASE("profile set: a merge that fails leaves the set as it was") {
    using mw::stats::ProfileSet;
    const auto options = mw::stats::profile_only_numeric_options(3);
    ProfileSet merged = damage_test_set();
    merged.numeric("zz", options).update(1);
    const std::string before = merged.serialize();

    // Each part holds a feature that would merge (and would have been
    // merged already) before the one that does not: a feature of the other
    // type, a sketch of another size (KLL k 100 against 200).
    ProfileSet other_type;
    other_type.add_rows(1);
    other_type.numeric("age", options).update(41);
    other_type.categorical("zz").update("a");
    CHECK(merged.merge(other_type).find("\"zz\" is numeric on one side and categorical on the other") !=
          std::string::npos);
    CHECK(merged.serialize() == before);
    ProfileSet other_k;
    other_k.add_rows(1);
    other_k.numeric("a_first", options).update(1);
    auto small_k = options;
    small_k.kll_k = 100;
    other_k.numeric("age", small_k).update(30);
    CHECK(merged.merge(other_k).find("different options") != std::string::npos);
    CHECK(merged.serialize() == before);

    // A segment value's profiles that conflict, after a feature that merges.
    const auto one_row_segment = [&](bool numeric_age) {
        ProfileSet set;
        set.declare_segments("sex");
        set.add_rows(1);
        set.numeric("w", options).update(1);
        ProfileSet* female = set.segment("sex", "F", 32);
        female->add_rows(1);
        if (numeric_age) female->numeric("age", options).update(3);
        else female->categorical("age").update("3");
        return set;
    };
    ProfileSet segments = one_row_segment(true);
    const std::string segments_before = segments.serialize();
    CHECK(segments.merge(one_row_segment(false)).find("segment sex=\"F\"") != std::string::npos);
    CHECK(segments.serialize() == segments_before);

    // More rows together than a profile counts.
    ProfileSet many;
    many.add_rows(ProfileSet::max_rows);
    CHECK(merged.merge(many).find("more than a profile counts") != std::string::npos);
    CHECK(merged.serialize() == before);
    // And the set still merges what fits.
    REQUIRE(merged.merge(damage_test_set()).empty());
    CHECK(merged.rows() == 1000);
}
