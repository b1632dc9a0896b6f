// Summaries of a sample that skip what is not a number.
#pragma once

#include <span>

namespace mw::stats {

// The mean of the finite values (NaN and infinities skipped, like
// numpy.nanmean with infinities treated as missing too); NaN when none is.
double finite_mean(std::span<const double> values);

// The sample standard deviation (ddof = 1, numpy.nanstd(ddof=1)) of the
// finite values; NaN when fewer than two are.
double finite_sample_sd(std::span<const double> values);

}  // namespace mw::stats
