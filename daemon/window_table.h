// Stored rows (store/monitor_store.h) as the columns the detectors read.
// One table holds everything about a set of rows, by column name: each
// declared feature under its own name, the model's outputs as "@score" and
// "@prediction", the outcome as "@label", and each attribute as "#<name>";
// features_view() and outputs_view() cut it into what the feature-drift and
// prediction-drift references fit on. The same table is the stored sample of
// a reference (detectors/reference_sample.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/record.h"
#include "detectors/dataset_drift.h"
#include "detectors/performance_metrics.h"
#include "detectors/root_cause.h"
#include "store/monitor_store.h"

namespace mw::daemon {

inline constexpr const char* score_column = "@score";
inline constexpr const char* prediction_column = "@prediction";
inline constexpr const char* label_column = "@label";
inline std::string attribute_column(const std::string& name) { return "#" + name; }

// A number for a numeric feature (NaN when missing or of another type); the
// text of a categorical or boolean one ("" when missing). Regression models'
// predictions and outcomes are numeric, the others' are labels.
drift::DriftTable rows_to_table(const std::vector<store::WindowRow>& rows, const ModelSchema& schema);
// The same from features already parsed (parse_features), for callers that
// read the feature objects too.
drift::DriftTable rows_to_table(const std::vector<store::WindowRow>& rows,
                                const std::vector<nlohmann::json>& feature_objects, const ModelSchema& schema);
// Each row's features JSON as an object; a row that is not valid JSON gives
// a discarded value, which reads as all features missing.
std::vector<nlohmann::json> parse_features(const std::vector<store::WindowRow>& rows);

// The declared features, plus the attribute columns under their plain names
// (for segment verdicts); the features' names are listed in `feature_columns`.
drift::DriftTable features_view(const drift::DriftTable& table, const ModelSchema& schema,
                                const std::vector<std::string>& segment_attributes);
// "score" and "prediction", the columns whose drift is prediction drift.
drift::DriftTable outputs_view(const drift::DriftTable& table);
// "label": the outcomes of the rows that have one, whose drift is label drift.
drift::DriftTable labels_view(const drift::DriftTable& table);

// The performance library's view of rows: labels (or, for regression,
// values), predictions and label delays; the scores only when every row has one.
performance::PerformanceWindow performance_window(const std::vector<store::WindowRow>& rows, bool regression);

// The root-cause ranking's view of a table (a window's, or a reference
// sample): the declared features and the segment attributes (`attributes`,
// plain names) per row, with outcomes, predictions and scores. With
// `labelled_only` the rows without an outcome are left out.
rootcause::RankingRows ranking_rows(const drift::DriftTable& table, const ModelSchema& schema,
                                    const std::vector<std::string>& attributes, bool labelled_only);

}  // namespace mw::daemon
