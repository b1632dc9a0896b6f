// Standard errors of the performance metrics that are not means over rows,
// on any subset of a window's labelled rows, from per-row influence values
// (the delta method): a metric theta of the empirical distribution has
// Var(theta_hat) ~ sum_i IF_i^2 / n^2, the same first-order variance a
// bootstrap of the rows estimates (Efron and Tibshirani 1993, "An
// Introduction to the Bootstrap", ch. 21; van der Vaart 1998, "Asymptotic
// Statistics", ch. 20), at the cost of one pass instead of hundreds of
// recomputations, and right for each subset on its own rows instead of the
// whole window's error scaled by its size.
//   rmse: sqrt of the mean squared error; IF_i = (e_i^2 - MSE) / (2 RMSE).
//   r2: 1 - MSE / V with V the target's variance (sklearn's r2_score with
//     the means over rows); IF_i = -[(e_i^2 - MSE) - (1 - r2)((y_i - ybar)^2 - V)] / V.
//   f1 (of the positive class): 2TP / (2TP + FP + FN) as a ratio of means
//     over rows; the delta method on the multinomial TP/FP/FN counts:
//     IF = (2 - 2 F1) / b for a true positive, -F1 / b for a false positive
//     or negative, 0 for a true negative, b = (2TP + FP + FN) / n.
//   roc_auc: DeLong's variance (DeLong, DeLong and Clarke-Pearson 1988,
//     Biometrics 44:837-845) from the placement values, computed by midranks
//     (Sun and Xu 2014, IEEE Signal Processing Letters 21:1389-1393):
//     Var = s10^2 / n1 + s01^2 / n0.
//   ece: sum over the 10 bins of |d_b|, d_b = sum_{i in b}(y_i - p_i) / n;
//     IF_i = sign(d_b(i)) (y_i - p_i) - ECE: each bin's binomial (y given p)
//     and membership variance. Biased where a bin is calibrated (|.| at 0),
//     as any first-order rule is.
// The other metrics (the macro and weighted averages, average_precision)
// have none here; the caller falls back to a bootstrap.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "detectors/performance_metrics.h"

namespace mw::performance {

// True for the metrics metric_standard_error covers.
bool has_influence_standard_error(std::string_view metric);

// The standard error of `metric` on the rows `subset` (indices into the
// window's columns; rows without a label are skipped). Nothing when the
// metric is not covered or undefined on them (one class, a constant target,
// no positive predicted or actual for f1).
std::optional<double> metric_standard_error(std::string_view metric, const PerformanceWindow& window,
                                            const PerformanceSpec& spec, const std::vector<std::size_t>& subset);

}  // namespace mw::performance
