// Streaming anomaly detection on one operational time series of one model
// (records per minute, rejected share, score mean, ingest latency, ...).
//
// Points are fed in time order; each call scores the point against a model
// fitted on the past only, then folds the point into that model, so a score
// never depends on what comes after it. The daemon keeps one detector per
// (model, series) and `modelwatch anomaly` runs the same code over a CSV file.
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace mw::anomaly {

class AnomalyDetector {
public:
    virtual ~AnomalyDetector() = default;

    // The anomaly score of (timestamp_s, value) in [0, 1], 0 meaning fully
    // expected. Timestamps are seconds since the Unix epoch (UTC), expected in
    // non-decreasing order; a late point is scored where it arrives, placed
    // in time-of-day models by its own timestamp. A value or timestamp that
    // is not finite (NaN, infinity) scores 0 and is not folded in, so one
    // bad point cannot poison the model for good.
    virtual double score(double timestamp_s, double value) = 0;

    // Everything score() depends on, as JSON (detectors/detector_state.h),
    // so that a detector made with the same options and given it by
    // restore_state() scores exactly as this one would: the checkpoint a
    // successor daemon resumes from (docs/scaling.md). Every detector must
    // have one: a failover must not change the scores.
    virtual nlohmann::json save_state() const = 0;
    // Throws (std::invalid_argument, nlohmann::json::exception) when `state`
    // is not one save_state() of this detector gave; the detector must then
    // be discarded.
    virtual void restore_state(const nlohmann::json& state) = 0;
};

}  // namespace mw::anomaly
