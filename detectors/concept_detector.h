// The common interface of the streaming concept-drift detectors (ADWIN, DDM,
// EDDM, HDDM_A, HDDM_W, KSWIN, Page-Hinkley). Each follows a reference
// implementation step for step (named in its registry row: River 0.21's
// river.drift.* for most, MOA and current River for ADWIN), so a stream gives
// the same warning and drift indices as that reference.
//
// As in River, after update() reports a drift the detector resets itself at
// the start of the next update(); a caller never needs to call reset() after
// a drift (reset() is for a caller that wants to forget the past, e.g. after
// a model was replaced).
#pragma once

#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "config/option_table.h"

namespace mw::concept_drift {

enum class DriftState { none, warning, drift };

const char* to_string(DriftState);

// river.stats.Mean: a count and a running mean updated as
// mean += (w / n) * (x - mean), in River's operation order so that the
// detectors built on it round exactly as River's do.
struct RiverMean {
    double n = 0.0;
    double mean = 0.0;

    void update(double x) {
        n += 1.0;
        mean += (1.0 / n) * (x - mean);
    }
};

class ConceptDetector {
public:
    virtual ~ConceptDetector() = default;

    // Feeds one value (for the binary detectors: 1 an error, 0 a success) and
    // returns the detector's state after it.
    virtual DriftState update(double x) = 0;
    // Back to the state right after construction.
    virtual void reset() = 0;
    // The registry name: "adwin", "ddm", ...
    virtual std::string_view name() const = 0;
    // The validated options it was built with, defaults included.
    virtual const config::Settings& options() const = 0;

    // Everything update() depends on, as JSON (detectors/detector_state.h),
    // so that a detector built with the same options and given it by
    // restore_state() continues exactly as this one would: the checkpoint a
    // successor daemon resumes from (docs/scaling.md). Every detector must
    // have one: a failover must not change the verdicts.
    virtual nlohmann::json save_state() const = 0;
    // Throws (std::invalid_argument, nlohmann::json::exception) when `state`
    // is not one save_state() of this detector gave; the detector must then
    // be discarded.
    virtual void restore_state(const nlohmann::json& state) = 0;
};

}  // namespace mw::concept_drift
