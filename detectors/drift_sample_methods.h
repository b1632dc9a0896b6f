// Drift methods on the sorted numeric samples (detectors/drift_method.h's
// samples view): the two-sample tests ks, anderson, cvm, ttest and the
// distances wasserstein and energy. They are one family by nature: each is a
// call of its stats/ function on the same two sorted samples plus the
// definition of what that function computes, a few lines each.
#pragma once

#include "detectors/drift_method.h"

namespace mw::drift {

extern const DriftMethod ks_drift_method;
extern const DriftMethod wasserstein_drift_method;
extern const DriftMethod energy_drift_method;
extern const DriftMethod anderson_drift_method;
extern const DriftMethod cvm_drift_method;
extern const DriftMethod ttest_drift_method;

// Evidently's floor on the reference sd (evidently stattests/wasserstein_distance_norm.py).
inline constexpr double wasserstein_reference_sd_floor = 0.001;

// W1(reference, current) / max(reference sd, 0.001): Evidently's normalised
// Wasserstein, also the effect size of every numeric feature.
double normalized_wasserstein(std::span<const double> reference_sorted, std::span<const double> current_sorted,
                              double reference_sd);

}  // namespace mw::drift
