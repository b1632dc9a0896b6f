// Special functions against scipy.special / scipy.stats values
// (tests/stats/vectors/special_functions.txt).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "stats/kolmogorov_distribution.h"
#include "stats/special_functions.h"
#include "vector_file.h"

using namespace mw::stats;
using mw::stats::testing::close;
using mw::stats::testing::read_vectors;

TEST_CASE("special functions match scipy on every reference vector") {
    const std::map<std::string, std::function<double(const std::vector<double>&)>> functions = {
        {"kolmogorov_n_sf", [](const auto& a) { return kolmogorov_n_sf(static_cast<long>(a[0]), a[1]); }},
        {"smirnov_sf", [](const auto& a) { return smirnov_sf(static_cast<long>(a[0]), a[1]); }},
        {"kolmogorov_sf", [](const auto& a) { return kolmogorov_sf(a[0]); }},
        {"gamma_p", [](const auto& a) { return gamma_p(a[0], a[1]); }},
        {"gamma_q", [](const auto& a) { return gamma_q(a[0], a[1]); }},
        {"chi_squared_sf", [](const auto& a) { return chi_squared_sf(a[0], a[1]); }},
        {"student_t_sf", [](const auto& a) { return student_t_sf(a[0], a[1]); }},
        {"beta_inc", [](const auto& a) { return beta_inc(a[0], a[1], a[2]); }},
        {"normal_sf", [](const auto& a) { return normal_sf(a[0]); }},
        {"normal_cdf", [](const auto& a) { return normal_cdf(a[0]); }},
        {"log_gamma", [](const auto& a) { return log_gamma(a[0]); }},
        {"bessel_k", [](const auto& a) { return bessel_k(a[0], a[1]); }},
    };
    const auto cases = read_vectors("special_functions.txt");
    REQUIRE(cases.size() >= 400);
    std::map<std::string, int> per_function;
    for (const auto& c : cases) {
        const std::string function = c.text("function");
        REQUIRE(functions.count(function) == 1);
        ++per_function[function];
        const double expected = c.number("expect");
        const double actual = functions.at(function)(c.numbers("args"));
        INFO(c.name);
        CAPTURE(actual, expected);
        // Probabilities: relative 1e-9 in the tail (this is what "accurate in
        // the tails" means) and 1e-12 absolute near 1.
        CHECK(close(actual, expected, 1e-9, 1e-12));
    }
    for (const auto& [function, count] : per_function) {
        INFO(function);
        CHECK(count >= 40);
    }
}

// The Birnbaum-Tingey sum over every term, in log space: what smirnov_sf
// computes, without its shortcut of summing only around the peak term.
static double smirnov_full_sum(long n, double d) {
    const long last = static_cast<long>(std::floor(n * (1.0 - d)));
    double sum = 0.0;
    for (long v = 0; v <= last; ++v) {
        const double e = d + static_cast<double>(v) / n;
        if (!(1.0 - e > 0.0)) continue;
        sum += std::exp(log_gamma(n + 1.0) - log_gamma(v + 1.0) - log_gamma(n - v + 1.0) + (v - 1) * std::log(e) +
                        (n - v) * std::log(1.0 - e));
    }
    return std::min(1.0, sum * d);
}

TEST_CASE("smirnov_sf summing around the peak equals the full Birnbaum-Tingey sum") {
    for (long n : {7L, 50L, 333L, 1000L, 4000L}) {
        for (double d = 0.004; d < 1.0; d *= 1.6) {
            INFO("n=" << n << " d=" << d);
            const double full = smirnov_full_sum(n, d);
            CAPTURE(smirnov_sf(n, d), full);
            CHECK(close(smirnov_sf(n, d), full, 1e-11, 1e-300));
        }
    }
}

TEST_CASE("survival functions keep relative accuracy where 1 - cdf would be 0") {
    // chi2.sf(1400, 2) = exp(-700): 1 - P would be exactly 0 in doubles.
    CHECK(close(chi_squared_sf(1400.0, 2.0), std::exp(-700.0), 1e-12));
    // norm.sf(30) = 4.906713927148187e-198 (scipy.stats.norm.sf(30)).
    CHECK(close(normal_sf(30.0), 4.906713927148187e-198, 1e-12));
    CHECK(normal_sf(40.0) == 0.0);  // underflows like scipy's
}

TEST_CASE("special functions reject arguments outside their domain with NaN") {
    CHECK(std::isnan(gamma_p(-1.0, 2.0)));
    CHECK(std::isnan(gamma_q(1.0, -2.0)));
    CHECK(std::isnan(beta_inc(1.0, 1.0, 1.5)));
    CHECK(std::isnan(kolmogorov_n_sf(0, 0.5)));
    CHECK(std::isnan(smirnov_sf(5, 1.5)));
    CHECK(std::isnan(student_t_sf(1.0, 0.0)));
}
