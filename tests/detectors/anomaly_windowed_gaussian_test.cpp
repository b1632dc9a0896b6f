#include <catch2/catch.hpp>

#include "detectors/anomaly_windowed_gaussian.h"

using mw::anomaly::WindowedGaussianDetector;

// Expected values from scipy.stats.norm.cdf, the CDF NAB's published
// windowedGaussian results hold (see anomaly_windowed_gaussian.h).
TEST_CASE("windowed gaussian: the normal CDF of the value under the window's mean and population stddev",
          "[anomaly]") {
    WindowedGaussianDetector detector(1000);
    CHECK(detector.score(0, 1.0) == 0.0);  // no past yet
    // Past [1]: stddev 0, replaced by 1e-6 as in NAB; 3 is far above.
    CHECK(detector.score(1, 3.0) == Approx(1.0));
    // Past [1, 3]: mean 2, stddev 1 (ddof 0). norm.cdf(0.5) = 0.6914624612740131
    CHECK(detector.score(2, 2.5) == Approx(0.6914624612740131).epsilon(1e-12));
    // Past [1, 3, 2.5]: mean 2.1666..., stddev 0.8498365855987975; norm.cdf((0 - mean) / stddev)
    CHECK(detector.score(3, 0.0) == Approx(0.005393724627335183).epsilon(1e-9));
}

TEST_CASE("windowed gaussian: only the last window_size values count", "[anomaly]") {
    WindowedGaussianDetector detector(3);
    for (double v : {100.0, 1.0, 2.0, 3.0}) detector.score(0, v);
    // Past window [1, 2, 3] (100 has left): mean 2, stddev 0.816496580927726; norm.cdf(1 / stddev)
    CHECK(detector.score(0, 3.0) == Approx(0.8896643190400766).epsilon(1e-12));
}
