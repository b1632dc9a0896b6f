// A reference sample as stored in PostgreSQL (model_references.sample) and
// read back: the columns the detectors fit on, as JSON
//   {"version": 1, "rows": N, "columns": [{"name": "x", "numeric": true, "values": [0.5, null, ...]},
//                                         {"name": "c", "numeric": false, "values": ["a", "", ...]}]}
// (null is a missing number, "" a missing category). Fitting is deterministic,
// so a daemon that restarts refits exactly the reference it had.
#pragma once

#include <string>
#include <string_view>

#include "detectors/dataset_drift.h"

namespace mw::drift {

std::string reference_sample_to_json(const DriftTable& table);

struct ReferenceSampleRead {
    DriftTable table;
    std::string error;  // what is wrong with the document, and where
    bool ok() const { return error.empty(); }
};
ReferenceSampleRead reference_sample_from_json(std::string_view json);

}  // namespace mw::drift
