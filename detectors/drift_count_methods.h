// Drift methods on aligned count vectors (detectors/drift_method.h's counts
// view): the tests of categories chi2 and z, and the histogram distances
// psi, jensenshannon, hellinger, tvd and kl. They are one family by nature:
// each reads the same two count vectors, built the same way (one entry per
// category, or per reference-quantile bin of a numeric feature), and every
// definition describes that binning in the same words (count_bins_definition).
#pragma once

#include <string>

#include "detectors/drift_method.h"

namespace mw::drift {

extern const DriftMethod chi2_drift_method;
extern const DriftMethod z_drift_method;
extern const DriftMethod psi_drift_method;
extern const DriftMethod jensenshannon_drift_method;
extern const DriftMethod hellinger_drift_method;
extern const DriftMethod tvd_drift_method;
extern const DriftMethod kl_drift_method;

// How the counts are binned (detectors/feature_drift.cpp builds them), as the
// definitions of these methods print it.
std::string count_bins_definition(bool categorical, const DriftOptions& options);

}  // namespace mw::drift
