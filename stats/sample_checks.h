// Input checks shared by the tests and distances of stats/: each returns an
// empty string when the input is usable, otherwise a message naming the
// function, the sample and the first offending index.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace mw::stats {

// The first NaN in x or y, e.g. "ks_2samp: y[12] is NaN".
std::string find_nan(std::string_view function, std::span<const double> x, std::span<const double> y);

// The first negative, NaN or infinite count, e.g. "psi: current count [3] is -1".
std::string find_bad_count(std::string_view function, std::string_view which, std::span<const double> counts);

}  // namespace mw::stats
