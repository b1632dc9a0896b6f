// Distances and divergences between a reference and a current distribution.
//
// Numeric samples:
// - wasserstein_distance: W1 = integral |F_u - F_v|, as
//   scipy.stats.wasserstein_distance(u, v) (unweighted).
// - normalized_wasserstein_distance: W1 / max(sd_reference, 0.001), sd the
//   population standard deviation (ddof=0), Evidently's "wasserstein" drift
//   method.
// - energy_distance: sqrt(2 * integral (F_u - F_v)^2), as
//   scipy.stats.energy_distance(u, v) (Székely & Rizzo 2013 via the cdf form).
// - psi on numeric samples: bins from the reference (see quantile_bin_edges
//   and bin_counts below), then psi on the two count vectors.
//
// Histograms (two aligned count vectors, one entry per bin or category; a
// category seen only in the current data is simply a bin whose reference
// count is 0 - no statistic becomes infinite or NaN because of it):
// - psi (Population Stability Index), Evidently's definition:
//     r_i = reference_i / sum(reference), c_i = current_i / sum(current),
//     every r_i or c_i that is exactly 0 is REPLACED by epsilon (default 1e-4;
//     the vectors are not renormalised afterwards), then
//     PSI = sum_i (r_i - c_i) * ln(r_i / c_i).
// - kl_divergence: KL(reference || current) = sum_i r_i ln(r_i / c_i) in nats,
//   with the same epsilon replacement, after which both vectors ARE
//   renormalised to sum to 1: exactly scipy.stats.entropy(r_eps, c_eps).
// - jensen_shannon_distance: as scipy.spatial.distance.jensenshannon(p, q,
//   base): sqrt((KL(p||m) + KL(q||m)) / 2), m = (p + q) / 2, on the normalised
//   counts, logarithms in `log_base`. The default base is e (natural log), as
//   scipy's default and Evidently's; base 2 bounds the distance by 1. No
//   epsilon is needed: m > 0 wherever p or q is.
// - hellinger_distance: sqrt(sum (sqrt r_i - sqrt c_i)^2) / sqrt(2), in [0, 1]
//   (Evidently's definition).
// - total_variation_distance: sum |r_i - c_i| / 2, in [0, 1].
//
// Errors: an empty sample, NaN values, count vectors of different lengths,
// negative or non-finite counts, a count vector summing to 0, a bin count
// below 1, epsilon outside (0, 1), log base <= 0 or equal to 1.
#pragma once

#include <cstddef>
#include <numbers>
#include <span>
#include <vector>

#include "stats/result.h"

namespace mw::stats {

constexpr double default_psi_epsilon = 1e-4;
constexpr std::size_t default_psi_bin_count = 10;

// Interior edges of `bin_count` bins holding equal shares of the reference:
// the quantiles at i / bin_count, i = 1 .. bin_count - 1, computed bit for bit
// as numpy.quantile(reference, numpy.linspace(0, 1, bin_count + 1))[1:-1]
// (method 'linear'). The outer bins are open: (-inf, e_1) and [e_last, +inf),
// so current values outside the reference range are counted. Edges repeat
// when the reference has ties; a repeated edge makes an empty bin.
// `sorted_reference` must be sorted ascending and non-empty.
std::vector<double> quantile_bin_edges(std::span<const double> sorted_reference, std::size_t bin_count);

// Equal-width interior edges over [low, high] (numpy.histogram_bin_edges(...,
// bins=bin_count, range=(low, high))[1:-1]); outer bins open as above.
std::vector<double> equal_width_bin_edges(double low, double high, std::size_t bin_count);

// Counts of `sorted_values` in the bins [e_{i-1}, e_i) defined by the interior
// edges (edges.size() + 1 bins), by binary search: O(bins log n).
std::vector<double> bin_counts(std::span<const double> sorted_values, std::span<const double> interior_edges);

DistanceResult psi(std::span<const double> reference_counts, std::span<const double> current_counts,
                   double epsilon = default_psi_epsilon);
// PSI of two numeric samples over `bin_count` reference-quantile bins.
DistanceResult psi_numeric(std::span<const double> reference, std::span<const double> current,
                           std::size_t bin_count = default_psi_bin_count, double epsilon = default_psi_epsilon);

DistanceResult kl_divergence(std::span<const double> reference_counts, std::span<const double> current_counts,
                             double epsilon = default_psi_epsilon);
DistanceResult jensen_shannon_distance(std::span<const double> reference_counts,
                                       std::span<const double> current_counts, double log_base = std::numbers::e);
DistanceResult hellinger_distance(std::span<const double> reference_counts, std::span<const double> current_counts);
DistanceResult total_variation_distance(std::span<const double> reference_counts,
                                        std::span<const double> current_counts);

DistanceResult wasserstein_distance(std::span<const double> u, std::span<const double> v);
// The same on samples already sorted ascending (no copy, no sort).
DistanceResult wasserstein_distance_sorted(std::span<const double> u_sorted, std::span<const double> v_sorted);
DistanceResult normalized_wasserstein_distance(std::span<const double> reference, std::span<const double> current);
DistanceResult energy_distance(std::span<const double> u, std::span<const double> v);

}  // namespace mw::stats
