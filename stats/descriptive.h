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

// Pearson's correlation coefficient of the pairs whose both values are finite
// (scipy.stats.pearsonr's statistic); NaN below two such pairs or when either
// side is constant over them. x and y have the same length.
double pearson_correlation(std::span<const double> x, std::span<const double> y);

}  // namespace mw::stats
