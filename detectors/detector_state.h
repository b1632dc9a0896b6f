// A streaming detector's state as JSON, for the checkpoints a successor
// daemon resumes from (docs/scaling.md). Doubles must come back bit for bit,
// so that a restored detector gives exactly the verdicts the original would
// have: finite values are JSON numbers (written with the shortest digits
// that read back to the same double, and kept as such by PostgreSQL's
// jsonb numeric), the rest (infinities, NaN, and -0, which jsonb would
// turn into 0) are strings.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace mw::detector_state {

nlohmann::json from_double(double value);
// Throws std::invalid_argument (or nlohmann's exceptions) when `value` is not one from from_double.
double to_double(const nlohmann::json& value);
nlohmann::json from_doubles(std::span<const double> values);
std::vector<double> to_doubles(const nlohmann::json& values);

}  // namespace mw::detector_state
