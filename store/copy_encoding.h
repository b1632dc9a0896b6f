// Records to PostgreSQL COPY text rows (the format of COPY ... FROM STDIN
// without options: https://www.postgresql.org/docs/15/sql-copy.html, "Text
// Format"): one row per record, columns separated by a tab, "\N" for NULL,
// and backslash, tab, newline and carriage return escaped as \\ \t \n \r.
//
// The column order is fixed here and is what StoreWriter's staging tables
// and the spool's frames rely on:
//
//   predictions: model, id, ts, model_version, features, prediction_label,
//                prediction_value, score, attributes, received_at
//   outcomes:    model, id, ts, label, value, received_at
//
// - ts and received_at are RFC 3339 UTC with microseconds
//   ("2026-11-25T12:45:05.123456Z"), which timestamptz input accepts; years
//   from 10000 have more digits, and a year <= 0, which PostgreSQL refuses
//   as such, is written the way it accepts ("0001-...Z BC" for year 0).
//   This is core/time.h's append_rfc3339_us with the era relabelled.
// - model_version is NULL when empty.
// - features is a JSON object (RFC 8259) with every feature the schema
//   declares, in schema order, JSON null when absent, followed by the
//   undeclared features as they arrived; attributes is a JSON object of
//   strings. Both are loaded as jsonb.
// - Numbers are the shortest text that reads back as the same double
//   (std::to_chars). JSON has no NaN or infinity, so a non-finite feature is
//   written as JSON null; prediction_value and score are double precision
//   columns and keep NaN, Infinity and -Infinity.
// - PostgreSQL text and jsonb cannot hold U+0000. The collectors refuse it
//   (collectors/ingest_parser.h); should a NUL byte still reach the encoder,
//   it is written as U+FFFD, since one such row would make the whole COPY
//   fail on every replay. Strings are otherwise assumed to be valid UTF-8
//   (the JSON parsers of the collectors validate it).
// - Timestamps before 4714-11-24 BC or after year 294276 are outside
//   timestamptz and make the COPY fail; the collectors' RFC 3339 parser only
//   yields years 0000-9999.
//
// This is on the ingest hot path: the only allocations are the appends to
// `out` (plus one small buffer per batch for the escaped schema keys).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/record.h"

namespace mw::store {

// The columns of the rows, in their order (the list above): StoreWriter's
// COPY names them, and a quarantine file's rows are told by their count.
inline constexpr std::array<std::string_view, 10> prediction_copy_columns{
    "model", "id", "ts", "model_version", "features", "prediction_label", "prediction_value", "score",
    "attributes", "received_at"};
inline constexpr std::array<std::string_view, 6> outcome_copy_columns{"model", "id", "ts", "label", "value",
                                                                      "received_at"};

// Appends one COPY row per prediction of `batch`; `schema` names the
// features parallel to Prediction::features, so it must be the schema the
// records were validated under (PredictionBatch::schema): each row then
// holds its values under the names they were sent with, and the spool and
// the store need no schema to write it, whatever reloads and restarts
// happen before the drain gets to it. `received_us` (microseconds since the
// Unix epoch) is written as received_at for every row.
void append_prediction_rows(const PredictionBatch& batch, const ModelSchema& schema, std::int64_t received_us,
                            std::string& out);

// Appends one COPY row per outcome of `batch`.
void append_outcome_rows(const OutcomeBatch& batch, std::int64_t received_us, std::string& out);

// Appends `ts_us` (microseconds since the Unix epoch) as RFC 3339 UTC with
// six fractional digits (core/time.h's append_rfc3339_us), in the form
// PostgreSQL's timestamptz input reads: a year <= 0 as "YYYY-...Z BC".
// Exposed for tests and for the SQL the writer builds.
void append_timestamptz_us(std::int64_t ts_us, std::string& out);

}  // namespace mw::store
