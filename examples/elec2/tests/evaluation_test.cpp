#include <cmath>

#include <catch2/catch.hpp>

#include "examples/elec2/evaluation.h"


TEST_CASE("metrics match sklearn.metrics on a small case") {
    // Expected values from scikit-learn 1.2.1:
    //   y = [1, 0, 1, 0, 1]; p = [0.9, 0.2, 0.6, 0.0, 0.3]
    //   log_loss(y, p) = 0.40866049901279256 (p = 0 is clipped to 1e-15)
    //   brier_score_loss(y, p) = 0.14; accuracy_score(y, p >= 0.5) = 0.8
    const auto metrics = mw::elec2::score_probabilities({0.9, 0.2, 0.6, 0.0, 0.3}, {true, false, true, false, true});
    CHECK(metrics.rows == 5);
    CHECK(metrics.accuracy == Approx(0.8).epsilon(1e-12));
    CHECK(metrics.log_loss == Approx(0.40866049901279256).epsilon(1e-12));
    CHECK(metrics.brier == Approx(0.14).epsilon(1e-12));
}

TEST_CASE("log loss is clipped, not infinite, for a confident wrong answer") {
    const auto metrics = mw::elec2::score_probabilities({0.0}, {true});
    CHECK(metrics.log_loss == Approx(-std::log(1e-15)).epsilon(1e-9));
    CHECK(metrics.accuracy == 0.0);
    CHECK(metrics.brier == 1.0);
}
