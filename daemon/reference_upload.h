// An uploaded reference sample (POST /v1/models/{model}/reference, or
// `modelwatch reference upload`): CSV with a header, or NDJSON, turned into
// the table the monitor stores and fits (daemon/window_table.h).
//   CSV: one column per declared feature (by name; absent columns are
//        missing values), optionally "score", "prediction", "label" and the
//        model's attributes by name. Unknown columns are an error (a typo
//        would silently drop a feature).
//   NDJSON: one object per line shaped like an ingested prediction:
//        {"features": {...}, "score": 0.7, "prediction": "UP", "label": "UP", "attributes": {...}}.
// The first max_rows rows are kept.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/record.h"
#include "detectors/dataset_drift.h"

namespace mw::daemon {

struct ReferenceUpload {
    drift::DriftTable table;
    std::size_t rows_read = 0;
    std::string error;  // "line 17: ..." / "column 'agee' is not a feature, attribute, score, prediction or label"
    bool ok() const { return error.empty(); }
};

// `content_type` chooses the format: text/csv for CSV, anything with
// "ndjson" or "json" for NDJSON; otherwise the first byte decides ('{': NDJSON).
// An NDJSON row nested deeper than `max_json_depth` (server.max_json_depth)
// is an error: its values are copied and written back out, which recurses
// once per level (core/json_nesting.h).
ReferenceUpload parse_reference_upload(std::string_view body, std::string_view content_type,
                                       const ModelSchema& schema, std::size_t max_rows, std::size_t max_json_depth);

}  // namespace mw::daemon
