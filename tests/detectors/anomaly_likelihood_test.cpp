#include <cmath>
#include <cstddef>

#include <catch2/catch.hpp>

#include "detectors/anomaly_likelihood.h"

namespace {

using mw::anomaly::AnomalyLikelihood;
using mw::anomaly::AnomalyLikelihoodOptions;

// computeLogLikelihood of an upper tail q (nupic anomaly_likelihood.py).
double log_score_of_tail(double tail) { return std::log(tail + 1e-10) / std::log(1e-10); }

}  // namespace

TEST_CASE("anomaly likelihood: 0 during warm-up, then the log score of the normal tail", "[anomaly]") {
    AnomalyLikelihood likelihood(AnomalyLikelihoodOptions{.short_window = 1, .likelihood_window = 100, .min_history = 10});
    for (int i = 0; i < 10; ++i) CHECK(likelihood.score(i % 2 == 0 ? 0.1 : 0.3) == 0.0);
    // Ten averages alternating 0.1 and 0.3: mean 0.2, variance 0.01; a raw of
    // 0.5 is 3 standard deviations above: tail 0.5 erfc(3 / sqrt 2).
    const double tail = 0.5 * std::erfc(3.0 / std::sqrt(2.0));
    CHECK(likelihood.score(0.5) == Approx(log_score_of_tail(tail)).epsilon(1e-12));
}

TEST_CASE("anomaly likelihood: the floors keep a constant history from making everything surprising",
          "[anomaly]") {
    AnomalyLikelihood likelihood(AnomalyLikelihoodOptions{.short_window = 10, .likelihood_window = 2000, .min_history = 100});
    double largest = 0;
    for (int i = 0; i < 1000; ++i) largest = std::max(largest, likelihood.score(0.0));
    // Mean floor 0.03 and variance floor 0.0003: an average of 0 is 1.7 sd below the mean.
    CHECK(largest == Approx(log_score_of_tail(0.5 * std::erfc(-0.03 / std::sqrt(2 * 0.0003)))));
    CHECK(largest < 0.01);
}

TEST_CASE("anomaly likelihood: a lasting anomaly alerts at its start, then is reported in the yellow zone",
          "[anomaly]") {
    AnomalyLikelihood likelihood(AnomalyLikelihoodOptions{.short_window = 1, .likelihood_window = 2000, .min_history = 100});
    for (int i = 0; i < 500; ++i) likelihood.score(0.0);
    const double first = likelihood.score(1.0);
    const double second = likelihood.score(1.0);
    CHECK(first > 0.9);
    // Red zone twice in a row: the second is reported as q = 1e-3.
    CHECK(second == Approx(log_score_of_tail(1e-3)));
}
