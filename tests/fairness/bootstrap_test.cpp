// Bootstrap intervals: reproducible with a seed, different with another seed,
// stratified (group sizes fixed), and wide or narrow as the data warrant.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "fairness/audit.h"
#include "fairness/bootstrap.h"

using namespace mw::fairness;

namespace {

// Two groups of `n` rows each with the given selection rates and a TPR gap.
AuditData two_groups(std::uint64_t n, double rate_a, double rate_b) {
    AuditData data;
    data.attributes.push_back(AttributeColumn{"g", {}, {}});
    AttributeEncoder encoder(data.attributes[0]);
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::uint64_t i = 0; i < 2 * n; ++i) {
        const bool a = i < n;
        encoder.append(a ? "a" : "b");
        const bool truth = u(rng) < 0.4;
        data.y_true.push_back(truth ? 1 : 0);
        data.y_pred.push_back(u(rng) < (a ? rate_a : rate_b) ? 1 : 0);
    }
    return data;
}

AuditResult audit(const AuditData& data, std::uint64_t seed) {
    AuditOptions options;
    options.sensitive_attributes = {"g"};
    options.bootstrap.seed = seed;
    options.bootstrap.replicates = 400;
    options.metrics.min_group_size = 10;
    AuditRun run = run_audit(data, options);
    REQUIRE(run.ok());
    return run.result;
}

// Equal, or both undefined (metrics judged by difference have no ratio).
bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

}  // namespace

TEST_CASE("resampled counts keep the group size") {
    std::mt19937_64 rng(1);
    const ConfusionCounts counts{30, 5, 50, 15};
    bool varied = false;
    for (int i = 0; i < 50; ++i) {
        const ConfusionCounts r = resample_counts(counts, rng);
        CHECK(r.total() == counts.total());
        varied = varied || r.tp != counts.tp;
    }
    CHECK(varied);
    const ConfusionCounts empty_cells{0, 0, 7, 0};
    CHECK(resample_counts(empty_cells, rng).tn == 7);
}

TEST_CASE("bootstrap intervals are reproducible with a seed") {
    const AuditData data = two_groups(500, 0.3, 0.5);
    const AuditResult first = audit(data, 42);
    const AuditResult again = audit(data, 42);
    const AuditResult other = audit(data, 43);
    const auto& v1 = first.groupings[0].disparities.between_groups;
    const auto& v2 = again.groupings[0].disparities.between_groups;
    const auto& v3 = other.groupings[0].disparities.between_groups;
    REQUIRE(v1.size() == v2.size());
    bool any_differs = false;
    for (std::size_t i = 0; i < v1.size(); ++i) {
        CHECK(v1[i].difference_interval.lower == v2[i].difference_interval.lower);
        CHECK(v1[i].difference_interval.upper == v2[i].difference_interval.upper);
        CHECK(same(v1[i].ratio_interval.upper, v2[i].ratio_interval.upper));
        any_differs = any_differs || v1[i].difference_interval.lower != v3[i].difference_interval.lower;
    }
    CHECK(any_differs);
}

TEST_CASE("a large clear gap is beyond tolerance and clear; no gap is within") {
    // Selection rates 0.3 and 0.5 over 2 x 5000 rows: ratio about 0.6, its interval far below 0.8.
    const AuditResult big = audit(two_groups(5000, 0.3, 0.5), 5);
    REQUIRE_FALSE(big.groupings[0].disparities.between_groups.empty());
    const auto& dp = big.groupings[0].disparities.between_groups[0];
    REQUIRE(dp.metric == DisparityMetric::demographic_parity);
    CHECK(dp.ratio == Approx(0.6).margin(0.05));
    CHECK(dp.ratio_interval.lower < dp.ratio);
    CHECK(dp.ratio_interval.upper > dp.ratio);
    CHECK(dp.ratio_interval.upper < 0.8);
    CHECK(dp.verdict == Verdict::beyond_clear);

    // The same rates over 2 x 20 rows: the point is beyond, the interval reaches inside.
    const AuditResult small = audit(two_groups(20, 0.3, 0.5), 5);
    REQUIRE_FALSE(small.groupings[0].disparities.between_groups.empty());
    const auto& dp_small = small.groupings[0].disparities.between_groups[0];
    if (dp_small.verdict != Verdict::within_tolerance) CHECK(dp_small.verdict == Verdict::beyond_unclear);
    CHECK(dp_small.ratio_interval.upper - dp_small.ratio_interval.lower >
          dp.ratio_interval.upper - dp.ratio_interval.lower);

    const AuditResult equal = audit(two_groups(5000, 0.4, 0.4), 5);
    CHECK(equal.groupings[0].disparities.between_groups[0].verdict == Verdict::within_tolerance);
}
