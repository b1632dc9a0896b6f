#include <optional>

#include <catch2/catch.hpp>

#include "detectors/anomaly_rolling_window.h"
#include "detectors/anomaly_seasonal_profile.h"

using mw::anomaly::RollingWindow;
using mw::anomaly::SeasonalProfile;

// Expected values from numpy (mean, std with ddof 0, median) and
// scipy.stats.median_abs_deviation(x, scale="normal") (= 1.4826 MAD).
TEST_CASE("rolling window: location and scale of the last N values", "[anomaly]") {
    RollingWindow window(5);
    for (double v : {100.0, 1.0, 2.0, 4.0, 8.0, 16.0}) window.push(v);  // 100 has left
    REQUIRE(window.size() == 5);
    CHECK(window.mean() == Approx(6.2));
    CHECK(window.stddev() == Approx(5.455272678794343).epsilon(1e-12));
    CHECK(window.median() == 4.0);
    // |x - 4| = 3, 2, 0, 4, 12: MAD 3.
    CHECK(window.robust_scale() == Approx(4.447806655516806).epsilon(1e-12));

    RollingWindow even(4);
    for (double v : {1.0, 2.0, 3.0, 10.0}) even.push(v);
    CHECK(even.median() == 2.5);
}

TEST_CASE("rolling window: a mostly constant window falls back to the mean absolute deviation", "[anomaly]") {
    RollingWindow window(5);
    for (double v : {7.0, 7.0, 7.0, 7.0, 12.0}) window.push(v);
    // MAD is 0; mean |x - 7| = 1, times sqrt(pi / 2).
    CHECK(window.robust_scale() == Approx(1.2533141373155001).epsilon(1e-12));
    RollingWindow constant(3);
    for (double v : {7.0, 7.0, 7.0}) constant.push(v);
    CHECK(constant.robust_scale() == 0.0);
}

TEST_CASE("seasonal profile: the median of past occurrences of the slot, interpolated", "[anomaly]") {
    // A day of 4 slots of 6 hours; each slot's expectation is the median of its last 3 occurrences.
    constexpr double hour_s = 3600;
    constexpr double day_s = 24 * hour_s;
    SeasonalProfile profile(day_s, 6 * hour_s, 3, 2);

    // Day 0 and day 1: slot 0 (00:00-06:00) holds 10 then 14, slot 1 holds 20 then 24.
    for (int day = 0; day < 2; ++day) {
        profile.update(day * day_s + 1 * hour_s, 10 + 4 * day);
        profile.update(day * day_s + 5 * hour_s, 10 + 4 * day);
        profile.update(day * day_s + 7 * hour_s, 20 + 4 * day);
    }
    // Slot 0 has seen one complete occurrence (day 0) and one in progress: not ready.
    CHECK_FALSE(profile.expected(2 * day_s + 3 * hour_s).has_value());

    // Day 2 starts: slot 0's day-1 occurrence completes, slot 0 is ready: median of {10, 14} = 12.
    profile.update(2 * day_s + 1 * hour_s, 1000);
    // At the centre of slot 0 (03:00) the expectation is the slot's own.
    CHECK(profile.expected(2 * day_s + 3 * hour_s) == Approx(12.0));
    // At 01:30, a quarter slot before the centre: slot 3 is not ready, so no interpolation.
    CHECK(profile.expected(2 * day_s + 1.5 * hour_s) == Approx(12.0));
    // Slot 1 has one complete occurrence only: not ready yet, so 04:30 uses slot 0 alone.
    CHECK(profile.expected(2 * day_s + 4.5 * hour_s) == Approx(12.0));

    // Day 2 in slot 1 completes slot 1's day-1 occurrence: median {20, 24} = 22.
    profile.update(2 * day_s + 7 * hour_s, 0);
    // 04:30 is a quarter slot after slot 0's centre: 0.75 * 12 + 0.25 * 22.
    CHECK(profile.expected(3 * day_s + 4.5 * hour_s) == Approx(14.5));
}
