// The fixed clock of the tests that pass times in: 2026-01-01T00:00:00Z and
// units to move from it, in microseconds since the Unix epoch.
#pragma once

#include <cstdint>

namespace mw::testing {

inline constexpr std::int64_t second_us = 1'000'000;
inline constexpr std::int64_t minute_us = 60 * second_us;
inline constexpr std::int64_t hour_us = 60 * minute_us;
inline constexpr std::int64_t day_us = 24 * hour_us;
inline constexpr std::int64_t t0_us = 1'767'225'600 * second_us;  // 2026-01-01T00:00:00Z

}  // namespace mw::testing
