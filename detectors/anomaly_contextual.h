// Contextual anomaly detection: how new is what the series does next, given
// what it did just before? In the spirit of the Contextual Anomaly Detector
// (CAD OSE, Smirnov and Pastukhov, third of NAB v1.1's scoreboard at 69.9;
// https://github.com/smirmik/CAD), which scores a point by the share of the
// value "contexts" it activates that were never seen before, and of HTM's
// raw anomaly score, the share of the current input its sequence memory did
// not predict (Ahmad et al., Neurocomputing 2017, section 4.1). Here the
// sequence memory is a variable-order Markov count model over quantised
// values, the context models of prediction by partial matching (Cleary and
// Witten, "Data compression using adaptive coding and partial string
// matching", IEEE Trans. Communications 32(4), 1984):
//
//   quantise  values are cut into levels of width (max - min) / `levels` of
//             the first `calibration_points` values (the width never changes
//             afterwards, so what was learnt keeps its meaning; a value
//             outside that range gets a level of its own beyond it, up to
//             `levels` levels either side, so a level shift is new at first
//             and learnt after it lasts). While the series has been flat
//             since its start, calibration goes on until it moves;
//   predict   for every order o = 1..`context_length`, the last o levels are
//             a context, and (context, current level) a transition;
//   raw       the share of the orders whose transition was never seen
//             before (then remembered): 1 when the series breaks its habits at
//             every depth, 0 when it repeats a known move, so a point is
//             surprising when it is new in its context, not when it is merely
//             far from the mean. (Weighting each order by how rare its
//             transition is, 1 - c(context, next) / (c(context) + 1), scored
//             -11.72 against 37.81 on NAB's standard profile held out by
//             category (10.75 against 41.14 in-sample; this choice was made
//             after seeing all 25 series): on noisy series rare moves are
//             common, and the likelihood below then drowns the new ones);
//   score     Numenta's anomaly likelihood of the raw score
//             (detectors/anomaly_likelihood.h).
//
// The timestamp is not used: the context is the shape of the recent past.
// Memory is bounded: at most (3 levels)^(o+1) transitions per order.
// Unlike CAD OSE, which NAB hands each file's minimum and maximum in
// advance, the range is learnt from the stream's start only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>

#include "detectors/anomaly_detector.h"
#include "detectors/anomaly_likelihood.h"
#include "detectors/anomaly_registry.h"

namespace mw::anomaly {

struct ContextualDetectorOptions {
    std::size_t levels = 0;
    std::size_t context_length = 0;
    std::size_t calibration_points = 0;
    AnomalyLikelihoodOptions likelihood;
};

class ContextualDetector final : public AnomalyDetector {
public:
    explicit ContextualDetector(const ContextualDetectorOptions& options);
    double score(double timestamp_s, double value) override;
    // The calibration, the recent levels, every transition seen (sorted, so
    // equal states save equal JSON) and the likelihood's state.
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

    static std::span<const config::SettingRow> options();
    static std::unique_ptr<AnomalyDetector> make(const config::Settings& params);

private:
    // The level of `value`, or nothing while the range is being calibrated.
    std::optional<int> level_of(double value);
    // The raw novelty of `level` after the current history, then learnt.
    double raw_novelty(int level);

    ContextualDetectorOptions options_;
    std::size_t calibrated_ = 0;  // values seen while calibrating
    double minimum_ = 0;
    double maximum_ = 0;
    double width_ = 0;  // 0 until calibrated
    std::deque<int> history_;  // the last context_length levels, oldest first
    // The transitions seen, keyed by (order, context levels, next level) packed into 64 bits.
    std::unordered_set<std::uint64_t> transitions_seen_;
    AnomalyLikelihood likelihood_;
};

}  // namespace mw::anomaly
