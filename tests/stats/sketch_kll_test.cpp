// KllSketch: exactness before the first compaction, the published rank-error
// bound checked empirically over seeded streams (one sketch and sketches
// merged from parts), queries, and decoding of corrupt blobs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "stats/distances.h"
#include "stats/kll_sketch.h"
#include "stats/ks_test.h"
#include "stats/t_test.h"

using mw::stats::KllSketch;

namespace {

enum class StreamKind { uniform, normal, sorted, reverse_sorted, heavy_duplicates, lognormal };

const char* name_of(StreamKind kind) {
    switch (kind) {
        case StreamKind::uniform: return "uniform";
        case StreamKind::normal: return "normal";
        case StreamKind::sorted: return "sorted";
        case StreamKind::reverse_sorted: return "reverse sorted";
        case StreamKind::heavy_duplicates: return "heavy duplicates";
        case StreamKind::lognormal: return "lognormal";
    }
    return "?";
}

std::vector<double> make_stream(StreamKind kind, std::size_t n, std::uint64_t seed) {
    std::mt19937_64 engine(seed);
    std::vector<double> values(n);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::lognormal_distribution<double> lognormal(0.0, 2.0);
    std::uniform_int_distribution<int> few(0, 9);
    for (std::size_t i = 0; i < n; ++i) {
        switch (kind) {
            case StreamKind::uniform: values[i] = uniform(engine); break;
            case StreamKind::normal: values[i] = normal(engine); break;
            case StreamKind::sorted:
            case StreamKind::reverse_sorted: values[i] = normal(engine); break;
            case StreamKind::heavy_duplicates: values[i] = few(engine) < 7 ? 0.0 : few(engine); break;
            case StreamKind::lognormal: values[i] = lognormal(engine); break;
        }
    }
    if (kind == StreamKind::sorted) std::sort(values.begin(), values.end());
    if (kind == StreamKind::reverse_sorted) std::sort(values.begin(), values.end(), std::greater<>());
    return values;
}

// The largest normalised rank error of the sketch over (a) cdf at up to 1000
// distinct values spread over the data's quantiles and (b) quantile() at
// q = 0.001 .. 0.999, measured against the exact ranks of `sorted`.
double max_rank_error(const KllSketch& sketch, const std::vector<double>& sorted) {
    const auto n = static_cast<double>(sorted.size());
    std::vector<double> splits;
    for (std::size_t i = 0; i < 1000; ++i) {
        const double value = sorted[i * sorted.size() / 1000];
        if (splits.empty() || value > splits.back()) splits.push_back(value);
    }
    const auto cdf = sketch.cdf(splits);
    REQUIRE(cdf.ok());
    double worst = 0.0;
    for (std::size_t i = 0; i < splits.size(); ++i) {
        const auto at_or_below = std::upper_bound(sorted.begin(), sorted.end(), splits[i]) - sorted.begin();
        worst = std::max(worst, std::abs(cdf.values[i] - static_cast<double>(at_or_below) / n));
    }
    std::vector<double> qs;
    for (int i = 1; i < 1000; ++i) qs.push_back(i / 1000.0);
    const std::vector<double> answers = sketch.quantiles(qs);
    for (std::size_t i = 0; i < qs.size(); ++i) {
        // The answer's true rank is an interval when it has ties.
        const double below = static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), answers[i]) - sorted.begin()) / n;
        const double at_or_below = static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), answers[i]) - sorted.begin()) / n;
        const double error = qs[i] < below ? below - qs[i] : qs[i] > at_or_below ? qs[i] - at_or_below : 0.0;
        worst = std::max(worst, error);
    }
    return worst;
}

struct TrialTally {
    int trials = 0;
    int over_bound = 0;
    double worst = 0.0;
};

void run_trial(TrialTally& single, TrialTally& merged, StreamKind kind, std::size_t n, std::uint64_t seed) {
    const std::vector<double> stream = make_stream(kind, n, seed);
    std::vector<double> sorted = stream;
    std::sort(sorted.begin(), sorted.end());
    const double bound = KllSketch::normalized_rank_error(KllSketch::default_k);

    KllSketch sketch(KllSketch::default_k, seed);
    sketch.update_many(stream);
    REQUIRE(sketch.n() == n);
    const double single_error = max_rank_error(sketch, sorted);
    ++single.trials;
    single.over_bound += single_error > bound ? 1 : 0;
    single.worst = std::max(single.worst, single_error);

    // Eight contiguous parts (so a sorted stream gives parts with disjoint
    // ranges), each with its own seed, merged into the first.
    constexpr std::size_t parts = 8;
    KllSketch total(KllSketch::default_k, seed * 1000);
    for (std::size_t p = 0; p < parts; ++p) {
        KllSketch part(KllSketch::default_k, seed * 1000 + p + 1);
        part.update_many(std::span<const double>(stream).subspan(p * n / parts, (p + 1) * n / parts - p * n / parts));
        total.merge(part);
    }
    REQUIRE(total.n() == n);
    REQUIRE(total.min() == sorted.front());
    REQUIRE(total.max() == sorted.back());
    const double merged_error = max_rank_error(total, sorted);
    ++merged.trials;
    merged.over_bound += merged_error > bound ? 1 : 0;
    merged.worst = std::max(merged.worst, merged_error);
}

}  // namespace

TEST_CASE("kll: exact before the first compaction") {
    std::vector<double> values = make_stream(StreamKind::normal, 150, 3);
    KllSketch sketch;
    sketch.update_many(values);
    std::sort(values.begin(), values.end());
    REQUIRE(sketch.retained() == 150);
    for (std::size_t i = 0; i < values.size(); ++i) {
        CHECK(sketch.rank(values[i]) == Approx(static_cast<double>(i + 1) / 150.0).epsilon(1e-15));
        CHECK(sketch.quantile(static_cast<double>(i + 1) / 150.0) == values[i]);
    }
    CHECK(sketch.quantile(0.0) == values.front());
    CHECK(sketch.quantile(1.0) == values.back());
    CHECK(sketch.rank(values.front() - 1.0) == 0.0);
}

TEST_CASE("kll: the documented bound for k = 200 is 1.33% (single-sided)") {
    CHECK(KllSketch::normalized_rank_error(200) == Approx(0.01330).margin(5e-5));
}

TEST_CASE("kll: rank error stays under the bound in >= 99% of seeded trials, alone and merged") {
    const double bound = KllSketch::normalized_rank_error(KllSketch::default_k);
    const StreamKind kinds[] = {StreamKind::uniform,          StreamKind::normal,   StreamKind::sorted,
                                StreamKind::reverse_sorted,   StreamKind::heavy_duplicates, StreamKind::lognormal};
    TrialTally single;
    TrialTally merged;
    for (StreamKind kind : kinds) {
        INFO("stream " << name_of(kind));
        for (std::uint64_t seed = 1; seed <= 30; ++seed) run_trial(single, merged, kind, 50'000, seed);
        run_trial(single, merged, kind, 1'000'000, 99);
    }
    INFO("single: " << single.over_bound << " of " << single.trials << " over " << bound << ", worst " << single.worst);
    INFO("merged: " << merged.over_bound << " of " << merged.trials << " over " << bound << ", worst " << merged.worst);
    CHECK(single.over_bound * 100 <= single.trials);
    CHECK(merged.over_bound * 100 <= merged.trials);
    // No trial is far off either.
    CHECK(single.worst < 2 * bound);
    CHECK(merged.worst < 2 * bound);
}

TEST_CASE("kll: memory stays bounded") {
    KllSketch sketch;
    for (std::int64_t i = 0; i < 2'000'000; ++i) sketch.update(static_cast<double>((i * 7919) % 1'000'003));
    // About 3k items plus the minimum-width levels (DataSketches' estimate).
    CHECK(sketch.retained() < 3 * 200 + 8 * 20);
    CHECK(sketch.n() == 2'000'000);
}

TEST_CASE("kll: the same seed gives the same sketch, NaN is ignored") {
    const std::vector<double> stream = make_stream(StreamKind::uniform, 20'000, 5);
    KllSketch a(200, 42);
    KllSketch b(200, 42);
    a.update_many(stream);
    b.update_many(stream);
    b.update(std::nan(""));
    CHECK(a.serialize() == b.serialize());
    KllSketch c(200, 43);
    c.update_many(stream);
    CHECK(c.serialize() != a.serialize());
}

TEST_CASE("kll: queries on bad input") {
    KllSketch empty;
    CHECK(std::isnan(empty.quantile(0.5)));
    CHECK(std::isnan(empty.rank(1.0)));
    CHECK(std::isnan(empty.min()));
    CHECK_FALSE(empty.cdf(std::vector<double>{1.0}).ok());

    KllSketch sketch;
    for (int i = 0; i < 10; ++i) sketch.update(i);
    CHECK(std::isnan(sketch.quantile(1.5)));
    CHECK(std::isnan(sketch.quantile(-0.1)));
    CHECK(std::isnan(sketch.quantile(std::nan(""))));
    const auto not_increasing = sketch.cdf(std::vector<double>{1.0, 1.0});
    CHECK_FALSE(not_increasing.ok());
    CHECK(not_increasing.error.find("index 1") != std::string::npos);
    const auto cdf = sketch.cdf(std::vector<double>{-1.0, 4.0, 100.0});
    REQUIRE(cdf.ok());
    CHECK(cdf.values == std::vector<double>{0.0, 0.5, 1.0, 1.0});
    CHECK_THROWS_AS(KllSketch(7), std::invalid_argument);
}

TEST_CASE("kll: serialize round trip keeps every query and the random state") {
    const std::vector<double> stream = make_stream(StreamKind::lognormal, 100'000, 11);
    KllSketch sketch(200, 9);
    sketch.update_many(stream);
    const std::string blob = sketch.serialize();
    auto decoded = KllSketch::deserialize(blob);
    REQUIRE(decoded.ok());
    CHECK(decoded.value.serialize() == blob);
    CHECK(decoded.value.n() == sketch.n());
    for (double q : {0.01, 0.25, 0.5, 0.75, 0.99}) CHECK(decoded.value.quantile(q) == sketch.quantile(q));
    // Continuing both gives the same sketch: the generator state travelled.
    sketch.update_many(stream);
    decoded.value.update_many(stream);
    CHECK(decoded.value.serialize() == sketch.serialize());

    KllSketch empty;
    auto decoded_empty = KllSketch::deserialize(empty.serialize());
    REQUIRE(decoded_empty.ok());
    CHECK(decoded_empty.value.empty());
}

TEST_CASE("kll: corrupt blobs are errors, never undefined behaviour") {
    KllSketch sketch(200, 1);
    sketch.update_many(make_stream(StreamKind::normal, 5'000, 2));
    const std::string blob = sketch.serialize();

    for (std::size_t length = 0; length < blob.size(); ++length) {
        INFO("truncated to " << length);
        CHECK_FALSE(KllSketch::deserialize(blob.substr(0, length)).ok());
    }
    CHECK_FALSE(KllSketch::deserialize(blob + "x").ok());

    // Random single-byte corruptions: decoding either fails or yields a
    // sketch whose invariants hold (the sanitizer build checks the rest).
    std::mt19937_64 engine(17);
    for (int trial = 0; trial < 2000; ++trial) {
        std::string corrupt = blob;
        corrupt[engine() % corrupt.size()] = static_cast<char>(engine());
        auto decoded = KllSketch::deserialize(corrupt);
        if (decoded.ok()) {
            CHECK(decoded.value.quantile(0.5) >= decoded.value.min());
            decoded.value.update(1.0);
        }
    }

    std::string wrong_magic = blob;
    wrong_magic[0] = 'X';
    CHECK(KllSketch::deserialize(wrong_magic).error.find("magic") != std::string::npos);
    std::string wrong_n = blob;
    wrong_n[7] = static_cast<char>(wrong_n[7] ^ 1);  // lowest byte of n
    CHECK(KllSketch::deserialize(wrong_n).error.find("total weight") != std::string::npos);
    std::string zero_levels = blob;
    zero_levels[39] = 0;  // the level count follows magic, version, k, n, min, max, random state
    CHECK(KllSketch::deserialize(zero_levels).error.find("level count") != std::string::npos);
}

TEST_CASE("kll: merging with empty sketches") {
    const std::vector<double> stream = make_stream(StreamKind::uniform, 10'000, 21);
    KllSketch full(200, 1);
    full.update_many(stream);
    const std::string before = full.serialize();
    full.merge(KllSketch());
    CHECK(full.serialize() == before);

    KllSketch empty(200, 1);
    empty.merge(full);
    CHECK(empty.n() == full.n());
    CHECK(empty.min() == full.min());
    CHECK(empty.max() == full.max());
    for (double q : {0.1, 0.5, 0.9}) CHECK(empty.quantile(q) == full.quantile(q));
}

TEST_CASE("kll: merging sketches of different k gives the smaller k, within its bound") {
    // Both orders: a k = 400 sketch absorbing a k = 200 one, and the reverse.
    // The result must say k = 200 (its rank error is the k = 200 part's), hold
    // no more items than a k = 200 sketch may (deserialize checks that), and
    // stay within the k = 200 bound against the union's exact ranks.
    int over_bound = 0;
    int trials = 0;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        const std::vector<double> first = make_stream(StreamKind::lognormal, 40'000, seed);
        const std::vector<double> second = make_stream(StreamKind::normal, 30'000, seed + 100);
        std::vector<double> sorted(first);
        sorted.insert(sorted.end(), second.begin(), second.end());
        std::sort(sorted.begin(), sorted.end());
        for (const bool wide_first : {true, false}) {
            KllSketch wide(400, seed);
            KllSketch narrow(200, seed + 50);
            wide.update_many(wide_first ? first : second);
            narrow.update_many(wide_first ? second : first);
            KllSketch merged = wide_first ? wide : narrow;
            merged.merge(wide_first ? narrow : wide);
            INFO("seed " << seed << (wide_first ? ", k = 400 absorbing k = 200" : ", k = 200 absorbing k = 400"));
            CHECK(merged.k() == 200);
            CHECK(merged.n() == sorted.size());
            const auto stored = KllSketch::deserialize(merged.serialize());
            CHECK(stored.error.empty());
            ++trials;
            over_bound += max_rank_error(merged, sorted) > KllSketch::normalized_rank_error(200) ? 1 : 0;
        }
    }
    CHECK(over_bound * 10 <= trials);
    // An empty sketch of smaller k brings no error: nothing changes.
    KllSketch wide(400, 3);
    wide.update_many(make_stream(StreamKind::uniform, 5'000, 3));
    const std::string before = wide.serialize();
    wide.merge(KllSketch(200, 4));
    CHECK(wide.serialize() == before);
}

TEST_CASE("kll: before any compaction the CDF distances and bins are the raw samples' statistics") {
    // 150 and 180 values: below k = 200, so every value is retained with weight 1.
    std::mt19937_64 rng(5);
    std::normal_distribution<double> reference_law(0.0, 1.0);
    std::normal_distribution<double> current_law(0.4, 1.3);
    std::vector<double> reference(150);
    std::vector<double> current(180);
    for (double& v : reference) v = std::round(reference_law(rng) * 20) / 20;  // ties too
    for (double& v : current) v = std::round(current_law(rng) * 20) / 20;
    mw::stats::KllSketch a;
    mw::stats::KllSketch b;
    a.update_many(reference);
    b.update_many(current);
    REQUIRE(a.retained() == a.n());
    const auto distances = mw::stats::cdf_distances(a, b);
    REQUIRE(distances.ok());
    const auto ks = mw::stats::ks_2samp(reference, current);
    CHECK(distances.sup == Approx(ks.statistic).margin(1e-12));
    std::sort(reference.begin(), reference.end());
    std::sort(current.begin(), current.end());
    CHECK(distances.integral_absolute ==
          Approx(mw::stats::wasserstein_distance_sorted(reference, current).value).epsilon(1e-12));
    CHECK(std::sqrt(2 * distances.integral_squared) ==
          Approx(mw::stats::energy_distance(reference, current).value).epsilon(1e-12));
    // The p-value of ks_2samp, from the statistic alone.
    const auto from_statistic = mw::stats::ks_2samp_from_statistic(distances.sup, 150, 180);
    CHECK(from_statistic.statistic == Approx(ks.statistic).margin(1e-12));
    CHECK(from_statistic.p_value == Approx(ks.p_value).epsilon(1e-12));
    // The bins [e_{i-1}, e_i) as stats::bin_counts.
    const auto edges = mw::stats::quantile_bin_edges(reference, 10);
    CHECK(a.bin_counts(edges) == mw::stats::bin_counts(reference, edges));
    CHECK(b.bin_counts(edges) == mw::stats::bin_counts(current, edges));
    // Welch's test from moments is the test on the values.
    const auto moments = [](const std::vector<double>& values) {
        double mean = 0;
        for (double v : values) mean += v;
        mean /= static_cast<double>(values.size());
        double squares = 0;
        for (double v : values) squares += (v - mean) * (v - mean);
        return mw::stats::SampleMoments{values.size(), mean, squares / static_cast<double>(values.size() - 1)};
    };
    const auto welch = mw::stats::welch_t_test(reference, current);
    const auto welch_moments = mw::stats::welch_t_test_from_moments(moments(reference), moments(current));
    CHECK(welch_moments.statistic == Approx(welch.statistic).epsilon(1e-10));
    CHECK(welch_moments.p_value == Approx(welch.p_value).epsilon(1e-10));
    CHECK_FALSE(mw::stats::cdf_distances(a, mw::stats::KllSketch()).ok());
    CHECK_FALSE(mw::stats::ks_2samp_from_statistic(1.5, 10, 10).ok());
}

TEST_CASE("kll: the CDF distances of compacted sketches stay within the rank-error bound") {
    std::mt19937_64 rng(9);
    std::lognormal_distribution<double> law(0.0, 1.0);
    std::vector<double> reference(20000);
    std::vector<double> current(5000);
    for (double& v : reference) v = law(rng);
    for (double& v : current) v = 1.1 * law(rng);
    mw::stats::KllSketch a(200, 1);
    mw::stats::KllSketch b(200, 2);
    a.update_many(reference);
    b.update_many(current);
    REQUIRE(a.retained() < a.n());
    const auto distances = mw::stats::cdf_distances(a, b);
    const double eps = 2 * mw::stats::KllSketch::normalized_rank_error(200);
    CHECK(std::abs(distances.sup - mw::stats::ks_2samp(reference, current).statistic) <= eps);
    std::sort(reference.begin(), reference.end());
    std::sort(current.begin(), current.end());
    CHECK(std::abs(distances.integral_absolute -
                   mw::stats::wasserstein_distance_sorted(reference, current).value) <= eps * distances.span);
    const auto counts = a.bin_counts(mw::stats::quantile_bin_edges(reference, 10));
    for (double count : counts)
        CHECK(std::abs(count / 20000.0 - 0.1) <= mw::stats::KllSketch::normalized_pmf_error(200));
}
