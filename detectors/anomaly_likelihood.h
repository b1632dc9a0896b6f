// Numenta's anomaly likelihood, on top of any raw anomaly score: how unusual
// the recent raw scores are *for this series* (Ahmad, Lavin, Purdy, Agha,
// "Unsupervised real-time anomaly detection for streaming data",
// Neurocomputing 262, 2017, section 4.3; nupic
// algorithms/anomaly_likelihood.py). A detector computes a raw score per
// point (its own surprise, in [0, some cap]); this layer turns it into the
// score the detector reports:
//   the mean of the last `short_window` raw values is compared with a normal
//   fitted to its own last `likelihood_window` values (mean at least 0.03,
//   variance at least 0.0003, as estimateNormal); the upper tail q of that
//   normal is small when recent surprise is high for this series; when q
//   stays in the red zone (q <= 1e-5) from one point to the next, the later
//   points are reported as q = 1e-3 (as _filterLikelihoods), so a long
//   anomaly alerts once at its start rather than at every point;
//   score = ln(q + 1e-10) / ln(1e-10) (computeLogLikelihood), so 0.5 means
//   q = 1e-5 and the score reaches 1 only at q ~ 1e-10.
// The score is 0 until `min_history` averages have been seen (warm-up).
// A series that is surprising on schedule (a square wave's edges) or whose
// raw scores are never normal thereby calibrates itself.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mw::anomaly {

struct AnomalyLikelihoodOptions {
    std::size_t short_window = 10;        // nupic: 10
    std::size_t likelihood_window = 2000;  // short-term averages the current one is tested against
    std::size_t min_history = 100;         // averages needed before the score leaves 0
};

class AnomalyLikelihood {
public:
    explicit AnomalyLikelihood(const AnomalyLikelihoodOptions& options);

    // Folds in one raw score (finite, >= 0) and returns the likelihood score in [0, 1].
    double score(double raw);

    // The rings, running sums and red-zone flag (detectors/detector_state.h);
    // the sums are saved as they are rather than summed again, which could
    // round differently. restore_state throws std::invalid_argument when
    // `state` is longer than the options' windows.
    nlohmann::json save_state() const;
    void restore_state(const nlohmann::json& state);

private:
    AnomalyLikelihoodOptions options_;
    std::vector<double> recent_raw_;  // ring of the last short_window raw scores
    std::size_t recent_raw_next_ = 0;
    std::vector<double> averages_;  // ring of the last likelihood_window short-term means
    std::size_t averages_next_ = 0;
    // Running sums over the ring. Raw scores are bounded by their detector's
    // cap, so the rounding error these sums gather over months of points
    // stays far below the variance floor (3e-4).
    double averages_sum_ = 0;
    double averages_sum_squares_ = 0;
    bool previous_in_red_zone_ = false;
};

}  // namespace mw::anomaly
