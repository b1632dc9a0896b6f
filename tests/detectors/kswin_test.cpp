// KSWIN's two borrowed pieces against the references they must match:
// CPython's random.Random(seed).sample() and scipy.stats.ks_2samp
// (vectors written by scripts/gen_river_streams.py).
#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "detectors/kswin.h"
#include "stats/ks_test.h"
#include "tests/support/detector_vectors.h"

namespace {

namespace cd = mw::concept_drift;


std::vector<double> parse_numbers(const std::string& text) {
    std::vector<double> numbers;
    std::istringstream in(text);
    for (double value; in >> value;) numbers.push_back(value);
    return numbers;
}

}  // namespace

TEST_CASE("PythonRandom draws what CPython's random.Random(seed).sample draws", "[concept][kswin]") {
    std::ifstream in(mw::testing::detector_vectors_dir + "python_random_samples.txt");
    REQUIRE(in);
    // The script draws three samples in a row from one fresh generator per
    // case, so a fresh generator starts every three lines.
    std::unique_ptr<cd::PythonRandom> rng;
    std::size_t cases = 0;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto colon = line.find(':');
        REQUIRE(colon != std::string::npos);
        std::istringstream head(line.substr(0, colon));
        std::uint64_t seed = 0;
        std::uint32_t n = 0;
        std::uint32_t k = 0;
        head >> seed >> n >> k;
        if (cases % 3 == 0) rng = std::make_unique<cd::PythonRandom>(seed);
        std::vector<std::uint32_t> expected;
        for (double value : parse_numbers(line.substr(colon + 1))) expected.push_back(static_cast<std::uint32_t>(value));
        INFO(line.substr(0, colon));
        CHECK(rng->sample_range(n, k) == expected);
        ++cases;
    }
    CHECK(cases == 24);
}

TEST_CASE("the KS test KSWIN uses (stats::ks_2samp) matches scipy.stats.ks_2samp on its samples", "[concept][kswin]") {
    std::ifstream in(mw::testing::detector_vectors_dir + "ks_2samp_same_size.txt");
    REQUIRE(in);
    std::size_t cases = 0;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto bar1 = line.find('|');
        const auto bar2 = line.find('|', bar1 + 1);
        const auto expected = parse_numbers(line.substr(0, bar1));
        const auto a = parse_numbers(line.substr(bar1 + 1, bar2 - bar1 - 1));
        const auto b = parse_numbers(line.substr(bar2 + 1));
        REQUIRE(expected.size() == 2);
        INFO("n=" << a.size() << " expected D=" << expected[0] << " p=" << expected[1]);
        const auto result = mw::stats::ks_2samp(a, b);
        REQUIRE(result.ok());
        CHECK(result.statistic == Approx(expected[0]).epsilon(1e-15));
        CHECK(result.p_value == Approx(expected[1]).epsilon(1e-12));
        CHECK(mw::stats::ks_2samp(b, a).p_value == result.p_value);
        ++cases;
    }
    CHECK(cases == 14);
}

TEST_CASE("kswin starts testing once the window is full and restarts after a drift", "[concept][kswin]") {
    const std::vector<std::string> options{"alpha=0.01", "window_size=10", "stat_size=5", "seed=1"};
    cd::Kswin kswin(mw::config::parse_settings(cd::kswin_option_table(), options).settings);
    // Nine values: no test yet, whatever they are.
    for (int i = 0; i < 9; ++i) CHECK(kswin.update(0.0) == cd::DriftState::none);
    CHECK(kswin.p_value() == 0.0);
    // The tenth fills the window: the five oldest (all drawn, as stat_size
    // equals their number) are zeros, the newest five four zeros and a one:
    // D = 1/5, p = 1.
    CHECK(kswin.update(1.0) == cd::DriftState::none);
    CHECK(kswin.p_value() == Approx(1.0));
    // After four 100s the window is 0 0 0 0 0 | 1 100 100 100 100: D = 1 and, by the exact
    // distribution, p = P(D_{5,5} >= 1) = 2 / C(10, 5) = 2 / 252 <= 0.01.
    for (int i = 0; i < 3; ++i) CHECK(kswin.update(100.0) == cd::DriftState::none);
    CHECK(kswin.update(100.0) == cd::DriftState::drift);
    CHECK(kswin.p_value() == Approx(2.0 / 252.0));
    // River resets on the next value: an empty window, so nine more values
    // run no test, and the tenth is tested again (all 100s: D = 0, p = 1).
    for (int i = 0; i < 9; ++i) CHECK(kswin.update(100.0) == cd::DriftState::none);
    CHECK(kswin.p_value() == 0.0);
    CHECK(kswin.update(100.0) == cd::DriftState::none);
    CHECK(kswin.p_value() == 1.0);
}
