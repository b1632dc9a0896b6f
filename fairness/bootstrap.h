// Bootstrap percentile intervals for disparities (Efron and Tibshirani 1993,
// ch. 13), stratified by group: each replicate resamples every eligible group
// at its own size, so group sizes stay as observed and only the outcomes vary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "fairness/disparities.h"
#include "fairness/group_metrics.h"

namespace mw::fairness {

struct BootstrapOptions {
    std::size_t replicates = 1000;
    std::uint64_t seed = 20240601;
    double confidence = 0.95;
};

// One stratified resample of a group of n rows: the four confusion cells are
// a multinomial draw with n trials and the observed cell shares, which is the
// distribution of the cells of n rows drawn with replacement. Drawn as
// sequential binomials with std::binomial_distribution, so a seed reproduces
// the same draws with the same standard library (libstdc++ here).
ConfusionCounts resample_counts(const ConfusionCounts& counts, std::mt19937_64& rng);

// Attaches percentile intervals to every value of `disparities` and judges
// each again with them. Calibration gaps get no interval: the resample keeps
// confusion cells, not scores, so the calibration error would not vary.
void attach_bootstrap_intervals(GroupingDisparities& disparities, const std::vector<GroupMetrics>& groups,
                                const BootstrapOptions& options, const Tolerance& tolerance);

}  // namespace mw::fairness
