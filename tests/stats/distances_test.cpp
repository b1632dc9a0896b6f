// Distances against scipy / the documented definitions
// (tests/stats/vectors/distances.txt): every vector within 1e-9 relative.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "stats/distances.h"
#include "vector_file.h"

using namespace mw::stats;
using mw::stats::testing::close;
using mw::stats::testing::read_vectors;

namespace {

DistanceResult evaluate(const mw::stats::testing::VectorCase& c) {
    const std::string method = c.text("method");
    const std::vector<double> reference = c.sample("reference");
    const std::vector<double> current = c.sample("current");
    if (method == "psi") return psi(reference, current);
    if (method == "kl") return kl_divergence(reference, current);
    if (method == "js_e") return jensen_shannon_distance(reference, current);
    if (method == "js_2") return jensen_shannon_distance(reference, current, 2.0);
    if (method == "hellinger") return hellinger_distance(reference, current);
    if (method == "tvd") return total_variation_distance(reference, current);
    if (method == "wasserstein") return wasserstein_distance(reference, current);
    if (method == "normalized_wasserstein") return normalized_wasserstein_distance(reference, current);
    if (method == "energy") return energy_distance(reference, current);
    if (method == "psi_numeric") return psi_numeric(reference, current, static_cast<std::size_t>(c.number("bins")));
    FAIL("unknown method " << method);
    return {};
}

}  // namespace

TEST_CASE("distances match scipy and their definitions on every reference vector") {
    const auto cases = read_vectors("distances.txt");
    std::map<std::string, int> per_method;
    for (const auto& c : cases) {
        INFO(c.name);
        const DistanceResult r = evaluate(c);
        if (c.has("error")) {
            CHECK_FALSE(r.ok());
            CHECK_FALSE(r.error.empty());
            continue;
        }
        ++per_method[c.text("method")];
        INFO(r.error);
        REQUIRE(r.ok());
        CAPTURE(r.value, c.number("expect"));
        CHECK(std::isfinite(r.value));
        CHECK(close(r.value, c.number("expect"), 1e-9, 1e-14));
    }
    REQUIRE(per_method.size() == 10);
    for (const auto& [method, count] : per_method) {
        INFO(method);
        CHECK(count >= 40);
    }
}

TEST_CASE("a category unseen in the reference keeps every histogram distance finite") {
    const std::vector<double> reference = {50, 50, 0};
    const std::vector<double> current = {40, 40, 20};
    for (const DistanceResult& r : {psi(reference, current), kl_divergence(reference, current),
                                    jensen_shannon_distance(reference, current), hellinger_distance(reference, current),
                                    total_variation_distance(reference, current)}) {
        REQUIRE(r.ok());
        CHECK(std::isfinite(r.value));
        CHECK(r.value > 0);
    }
    // PSI with the 1e-4 floor: (0.5-0.4) ln(0.5/0.4) * 2 + (1e-4 - 0.2) ln(1e-4 / 0.2).
    const double expected = 2 * 0.1 * std::log(0.5 / 0.4) + (1e-4 - 0.2) * std::log(1e-4 / 0.2);
    CHECK(close(psi(reference, current).value, expected, 1e-12));
}

TEST_CASE("Jensen-Shannon distance in base 2 is bounded by 1 and equals 1 for disjoint support") {
    const std::vector<double> a = {1, 0};
    const std::vector<double> b = {0, 1};
    CHECK(close(jensen_shannon_distance(a, b, 2.0).value, 1.0, 1e-12));
    CHECK(close(jensen_shannon_distance(a, b).value, std::sqrt(std::log(2.0)), 1e-12));
}

TEST_CASE("identical inputs give zero distance") {
    const std::vector<double> x = {3.0, 1.0, 2.0, 2.0, 5.0};
    CHECK(wasserstein_distance(x, x).value == 0.0);
    CHECK(energy_distance(x, x).value == 0.0);
    CHECK(psi_numeric(x, x, 3).value == 0.0);
    CHECK(jensen_shannon_distance(x, x).value == 0.0);
}

TEST_CASE("quantile bins put equal shares of the reference in each bin") {
    std::vector<double> reference(1000);
    for (std::size_t i = 0; i < reference.size(); ++i) reference[i] = static_cast<double>(i);
    const auto edges = quantile_bin_edges(reference, 10);
    REQUIRE(edges.size() == 9);
    const auto counts = bin_counts(reference, edges);
    REQUIRE(counts.size() == 10);
    // Edges at 99.9, 199.8, ...: 100 values per bin.
    for (double c : counts) CHECK(c == 100.0);
}

