// The streaming concept-drift detectors by name: one explicit table (STYLE.md
// section 2) mapping a name to its option table, an optional check between
// options, and a factory. Adding a detector is one header/source pair, one row
// in concept_registry.cpp, and its tests.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "config/component.h"
#include "detectors/concept_detector.h"

namespace mw::concept_drift {

struct ConceptDetectorEntry {
    config::ComponentInfo info;  // name, summary, option table, checks between options
    // The implementation whose detection indices this one reproduces.
    std::string_view reference;
    bool binary_input;  // expects 0 (success) / 1 (error) values
    std::unique_ptr<ConceptDetector> (*make)(config::Settings);
};

std::span<const ConceptDetectorEntry> concept_detectors();
// nullptr when no detector has that name.
const ConceptDetectorEntry* find_concept_detector(std::string_view name);

struct MakeDetectorResult {
    std::unique_ptr<ConceptDetector> detector;
    std::string error;  // empty on success, else e.g. "adwin: delta: expected a number in (0, 1), got \"2\""

    bool ok() const { return error.empty(); }
};

// Builds the detector `name` from "key=value" assignments (missing keys take
// the defaults of its option table).
MakeDetectorResult make_concept_detector(std::string_view name, std::span<const std::string> assignments);

}  // namespace mw::concept_drift
