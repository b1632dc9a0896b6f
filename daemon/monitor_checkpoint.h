// The state of one model's streaming detectors (the concept-drift detector
// on the error stream, the anomaly detector of each operational series) as
// the JSON stored in monitor_checkpoints with every write of the model's
// monitor, and back: the daemon that owns the model next resumes exactly
// where the last owner stopped (docs/scaling.md). The rest of a monitor is
// not state: the fitted reference (and its PCA) is refitted from the stored
// reference sample, the window cursor is the last stored window.
//
// A checkpoint names the detectors and the options they were made with; it
// is restored only into the same ones (after a reload changed them the
// detectors start afresh, as a reload does in one daemon).
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "daemon/operational_series.h"
#include "detectors/concept_detector.h"

namespace mw::daemon {

std::string save_monitor_state(const config::ModelOptions& options, const concept_drift::ConceptDetector* concept_detector,
                               const AnomalyDetectors& anomaly);

struct RestoredMonitorState {
    std::unique_ptr<concept_drift::ConceptDetector> concept_detector;  // null when none is configured or none was saved
    AnomalyDetectors anomaly;
    // Why part of the state was not restored (another detector or options
    // configured, a malformed checkpoint); empty when all of it was.
    std::string not_restored;
};

// The detectors `options` configure, in the state `state_json` holds.
RestoredMonitorState restore_monitor_state(const config::ModelOptions& options, const std::string& state_json);

}  // namespace mw::daemon
