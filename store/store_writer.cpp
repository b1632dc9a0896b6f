#include "store/store_writer.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <pqxx/result>
#include <pqxx/subtransaction>
#include <pqxx/tablewriter>
#include <pqxx/transaction>

#include "core/log.h"
#include "core/time.h"
#include "store/copy_encoding.h"

namespace mw::store {
namespace {

// Partitions are created on demand only for ranges starting within this
// window around the database's now(); rows outside it go to
// predictions_default. Creating a partition fails if the default partition
// already holds rows of its range, so the window must never admit a range
// that may already have rows in default:
// - past: a range starting before now() - 400 days is never created, and
//   the bound only moves forward, so a range whose rows once went to default
//   for being too old stays out of the window forever;
// - future: the collectors reject ts more than 1 hour ahead of the daemon's
//   clock, so no row can be 2 days ahead and default never holds rows of a
//   future range. This bound depends on that ingest check.
constexpr int partition_past_days = 400;
constexpr int partition_future_days = 2;

constexpr std::string_view create_staging_tables = R"sql(
CREATE TEMP TABLE IF NOT EXISTS staging_predictions (
    model text COLLATE "C", id text COLLATE "C", ts timestamptz, model_version text, features jsonb,
    prediction_label text, prediction_value double precision, score double precision,
    attributes jsonb, received_at timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staging_outcomes (
    model text COLLATE "C", id text COLLATE "C", ts timestamptz, label text, value double precision, received_at timestamptz
) ON COMMIT DELETE ROWS)sql";

// Claim each (model, id) in prediction_keys, then store the rows claimed.
// DISTINCT ON keeps one row per id of this write (received first, then the
// earliest ts); its sort also feeds both indexes in key order, which
// measured no slower than skipping it (bench/store_writer_bench.cpp).
// The insert into predictions has no ON CONFLICT: every row it gets was
// just claimed, so it can only conflict if the two tables were edited apart
// (a key deleted, its prediction kept), and then the write fails with
// unique_violation rather than guess. ON CONFLICT would cost an index probe
// and a speculative insertion per row: 14% of the write's server CPU in
// bench/store_writer_bench.cpp.
constexpr std::string_view insert_predictions = R"sql(
WITH candidates AS (
    SELECT DISTINCT ON (model, id) *
    FROM staging_predictions
    ORDER BY model, id, received_at, ts
), claimed AS (
    INSERT INTO prediction_keys (model, id, ts)
    SELECT model, id, ts FROM candidates
    ON CONFLICT DO NOTHING
    RETURNING model, id
)
INSERT INTO predictions (model, id, ts, model_version, features, prediction_label,
                         prediction_value, score, attributes, received_at)
SELECT c.model, c.id, c.ts, c.model_version, c.features, c.prediction_label,
       c.prediction_value, c.score, c.attributes, c.received_at
FROM candidates c
JOIN claimed k ON k.model = c.model AND k.id = c.id)sql";

// The first outcome for an id wins; see the outcomes table in migrations.cpp.
constexpr std::string_view insert_outcomes = R"sql(
INSERT INTO outcomes (model, id, ts, label, value, received_at)
SELECT DISTINCT ON (model, id) model, id, ts, label, value, received_at
FROM staging_outcomes
ORDER BY model, id, received_at, ts
ON CONFLICT DO NOTHING)sql";

const std::vector<std::string> prediction_columns{"model",      "id",         "ts",
                                                   "model_version", "features", "prediction_label",
                                                   "prediction_value", "score", "attributes",
                                                   "received_at"};
const std::vector<std::string> outcome_columns{"model", "id", "ts", "label", "value", "received_at"};
const std::vector<std::string> key_columns{"model", "id", "ts"};

// COPYs the rows of every batch of `kind` into `table`. pqxx 6.4's only
// public way to send COPY data as is, without parsing it back into fields,
// is the deprecated tablewriter::write_raw_line; stream_to keeps its raw
// writer private. It sends the line plus one '\n', so many rows go as one
// "line" without their final newline. The deprecation warning is silenced
// here and only here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
// Returns the sum of the batches' record counts, or nothing when no batch
// of `kind` had rows (so that a frame with rows but a zero count is still
// moved out of staging rather than dropped at commit).
std::optional<std::uint64_t> copy_rows(pqxx::dbtransaction& transaction, const std::string& table, RecordKind kind,
                                       std::span<const EncodedBatch> batches, std::string& line_buffer) {
    std::uint64_t records = 0;
    bool any = false;
    for (const auto& batch : batches)
        any = any || (batch.kind == kind && !batch.copy_rows.empty());
    if (!any) return std::nullopt;

    const auto& columns = kind == RecordKind::prediction ? prediction_columns : outcome_columns;
    pqxx::tablewriter writer(transaction, table, columns.begin(), columns.end());
    for (const auto& batch : batches) {
        if (batch.kind != kind || batch.copy_rows.empty()) continue;
        const std::string_view rows = batch.copy_rows;
        line_buffer.assign(rows.data(), rows.ends_with('\n') ? rows.size() - 1 : rows.size());
        writer.write_raw_line(line_buffer);
        records += batch.record_count;
    }
    writer.complete();
    return records;
}

// COPYs ready-made text rows ('\n'-terminated) into `table`.
void copy_text(pqxx::dbtransaction& transaction, const std::string& table, const std::vector<std::string>& columns,
               std::string_view rows) {
    if (rows.ends_with('\n')) rows.remove_suffix(1);
    pqxx::tablewriter writer(transaction, table, columns.begin(), columns.end());
    writer.write_raw_line(std::string(rows));
    writer.complete();
}
#pragma GCC diagnostic pop

// The (model, id, ts) keys of the prediction rows, as COPY rows for
// prediction_keys, and the partition ranges their ts fall in. The first three
// columns of a prediction row are model, id and ts (store/copy_encoding.h),
// and COPY escaping leaves no raw tab inside a field. Empty when a ts is not
// in the RFC 3339 form the encoder writes (years outside 0001-9999): the
// staging path handles those.
struct PredictionKeys {
    std::string rows;
    std::vector<std::int64_t> range_starts;
};

std::optional<PredictionKeys> scan_prediction_keys(std::span<const EncodedBatch> batches,
                                                   std::int64_t partition_seconds) {
    PredictionKeys keys;
    std::int64_t last_start = std::numeric_limits<std::int64_t>::min();
    for (const auto& batch : batches) {
        if (batch.kind != RecordKind::prediction) continue;
        std::string_view rest = batch.copy_rows;
        while (!rest.empty()) {
            const auto line_end = rest.find('\n');
            const std::string_view line = rest.substr(0, line_end);
            rest = line_end == std::string_view::npos ? std::string_view{} : rest.substr(line_end + 1);
            const auto first_tab = line.find('\t');
            const auto second_tab = first_tab == std::string_view::npos ? first_tab : line.find('\t', first_tab + 1);
            const auto third_tab = second_tab == std::string_view::npos ? second_tab : line.find('\t', second_tab + 1);
            if (third_tab == std::string_view::npos) return std::nullopt;
            const auto ts = parse_rfc3339_us(line.substr(second_tab + 1, third_tab - second_tab - 1));
            if (!ts) return std::nullopt;
            keys.rows.append(line.substr(0, third_tab));
            keys.rows += '\n';
            // date_bin from the epoch, as the staging path computes it.
            const std::int64_t seconds = *ts >= 0 ? *ts / 1'000'000 : -((-*ts + 999'999) / 1'000'000);
            const std::int64_t start = seconds >= 0 ? seconds / partition_seconds * partition_seconds
                                                    : -((-seconds + partition_seconds - 1) / partition_seconds) *
                                                          partition_seconds;
            if (start != last_start) {
                keys.range_starts.push_back(start);
                last_start = start;
            }
        }
    }
    std::sort(keys.range_starts.begin(), keys.range_starts.end());
    keys.range_starts.erase(std::unique(keys.range_starts.begin(), keys.range_starts.end()), keys.range_starts.end());
    return keys;
}

std::string partition_name(std::int64_t start_seconds) {
    std::string timestamp;
    append_timestamptz_us(start_seconds * 1'000'000, timestamp);
    // "YYYY-MM-DD..." -> predictions_pYYYYMMDD
    return fmt::format("predictions_p{}{}{}", timestamp.substr(0, 4), timestamp.substr(5, 2), timestamp.substr(8, 2));
}

std::string sql_timestamp(std::int64_t seconds) {
    std::string timestamp;
    append_timestamptz_us(seconds * 1'000'000, timestamp);
    return timestamp;
}

// The partition ranges (start, epoch seconds) of the staged predictions
// that lie inside the creation window.
std::vector<std::int64_t> staged_ranges(pqxx::work& transaction, std::int64_t partition_seconds) {
    // date_bin works in integer microseconds; extract(epoch ...) per row
    // would be numeric arithmetic on every staged row.
    const auto ranges = transaction.exec_params(
        fmt::format(R"sql(
SELECT extract(epoch FROM start)::bigint FROM (
    SELECT DISTINCT date_bin(make_interval(secs => $1::bigint), ts, timestamptz '1970-01-01 00:00:00+00') AS start
    FROM staging_predictions
) r
WHERE start >= now() - interval '{} days'
  AND start < now() + interval '{} days'
ORDER BY start)sql",
                    partition_past_days, partition_future_days),
        partition_seconds);
    std::vector<std::int64_t> starts;
    for (const auto& row : ranges) starts.push_back(row[0].as<std::int64_t>());
    return starts;
}

// Of `starts`, those not known yet that lie inside the creation window.
std::vector<std::int64_t> ranges_in_window(pqxx::work& transaction, const std::vector<std::int64_t>& starts,
                                           const std::unordered_set<std::int64_t>& known) {
    std::string unknown;
    for (auto start : starts)
        if (!known.contains(start)) unknown += fmt::format("{}{}", unknown.empty() ? "" : ",", start);
    if (unknown.empty()) return {};
    const auto ranges = transaction.exec_params(
        fmt::format(R"sql(
SELECT s FROM unnest($1::bigint[]) s
WHERE to_timestamp(s) >= now() - interval '{} days'
  AND to_timestamp(s) < now() + interval '{} days'
ORDER BY s)sql",
                    partition_past_days, partition_future_days),
        "{" + unknown + "}");
    std::vector<std::int64_t> in_window;
    for (const auto& row : ranges) in_window.push_back(row[0].as<std::int64_t>());
    return in_window;
}

// Creates the partitions missing for `starts` and returns the range starts
// it found existing, created, or could not create (to remember once the
// transaction commits).
std::vector<std::int64_t> ensure_partitions(pqxx::work& transaction, const std::vector<std::int64_t>& starts,
                                            std::int64_t partition_seconds,
                                            const std::unordered_set<std::int64_t>& known) {
    std::vector<std::int64_t> settled;
    bool locked = false;
    for (const auto start : starts) {
        if (known.contains(start)) continue;
        settled.push_back(start);
        const std::string name = partition_name(start);
        if (transaction.exec_params1("SELECT to_regclass($1) IS NOT NULL", name)[0].as<bool>()) continue;
        if (!locked) {
            transaction.exec(fmt::format("SELECT pg_advisory_xact_lock({})", partition_lock_key));
            locked = true;
        }
        const auto create = fmt::format(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF predictions FOR VALUES FROM ('{}') TO ('{}')", name,
            sql_timestamp(start), sql_timestamp(start + partition_seconds));
        try {
            pqxx::subtransaction attempt(transaction, "create_partition");
            attempt.exec0(create);
            attempt.commit();
            log::info("partition_created name={}", name);
        } catch (const pqxx::sql_error& error) {
            // 42P17: the range overlaps an existing partition (partition_days
            // changed on an existing database); 23514: predictions_default
            // already holds rows of the range. Either way the rows stay
            // correct, in the partition that covers them or in the default.
            if (error.sqlstate() != "42P17" && error.sqlstate() != "23514") throw;
            log::warning("partition_not_created name={} sqlstate={} reason=\"{}\"", name, error.sqlstate(),
                         error.what());
        }
    }
    return settled;
}

}  // namespace

StoreWriter::StoreWriter(pqxx::connection_base& connection, const config::StoreOptions& options)
    : connection_(connection), partition_seconds_(std::int64_t{86400} * std::max<std::uint32_t>(options.partition_days, 1)) {}

void StoreWriter::ensure_staging_tables() {
    if (connection_.is_open() && connection_.backendpid() == staging_backend_pid_) return;
    pqxx::work transaction(connection_, "create_staging");
    // A temp table larger than temp_buffers spills to temp files, and a
    // write of batch_max_records rows is tens of MB. PostgreSQL refuses to
    // change the setting once the session has used a temp table; then the
    // writer works as well, only slower, so that failure is not an error.
    try {
        pqxx::subtransaction setting(transaction, "set_temp_buffers");
        setting.exec0("SET temp_buffers = '128MB'");
        setting.commit();
    } catch (const pqxx::sql_error& error) {
        log::warning("store_temp_buffers_unchanged reason=\"{}\"", error.what());
    }
    // The duplicate check sorts a whole write (tens of MB at
    // batch_max_records = 50,000); the default 4MB would spill it to disk.
    transaction.exec0("SET work_mem = '64MB'");
    transaction.exec0(std::string(create_staging_tables));
    transaction.commit();
    staging_backend_pid_ = connection_.backendpid();
}

WriteResult StoreWriter::write(std::span<const EncodedBatch> batches) {
    WriteResult result;
    if (batches.empty()) return result;
    ensure_staging_tables();

    pqxx::work transaction(connection_, "store_write");
    std::vector<std::int64_t> settled_partitions;

    // The common case has no (model, id) stored before and no repeat inside
    // the write: then the rows go straight into their tables, COPY for COPY,
    // with the keys claimed by a COPY into prediction_keys that fails on the
    // first duplicate. A duplicate (a replay after a crash, a client retry)
    // rolls that back to its savepoint and the write takes the staging path,
    // which keeps the first of each id. See bench/ingest_bench.py.
    bool predictions_done = false;
    if (auto keys = scan_prediction_keys(batches, partition_seconds_); keys && !keys->rows.empty()) {
        settled_partitions = ensure_partitions(
            transaction, ranges_in_window(transaction, keys->range_starts, known_partitions_), partition_seconds_,
            known_partitions_);
        try {
            pqxx::subtransaction direct(transaction, "direct_predictions");
            copy_text(direct, "prediction_keys", key_columns, keys->rows);
            const auto copied = copy_rows(direct, "predictions", RecordKind::prediction, batches, line_buffer_);
            direct.commit();
            result.predictions_received = result.predictions_inserted = copied.value_or(0);
            predictions_done = true;
        } catch (const pqxx::unique_violation&) {
            // Some id is stored already or repeated: the staging path sorts it out.
        }
    }
    if (!predictions_done) {
        if (const auto predictions =
                copy_rows(transaction, "staging_predictions", RecordKind::prediction, batches, line_buffer_)) {
            result.predictions_received = *predictions;
            const auto created = ensure_partitions(transaction, staged_ranges(transaction, partition_seconds_),
                                                   partition_seconds_, known_partitions_);
            settled_partitions.insert(settled_partitions.end(), created.begin(), created.end());
            result.predictions_inserted = transaction.exec0(std::string(insert_predictions)).affected_rows();
        }
    }

    const bool any_outcomes = std::any_of(batches.begin(), batches.end(), [](const EncodedBatch& batch) {
        return batch.kind == RecordKind::outcome && !batch.copy_rows.empty();
    });
    bool outcomes_done = false;
    if (any_outcomes) {
        try {
            pqxx::subtransaction direct(transaction, "direct_outcomes");
            const auto copied = copy_rows(direct, "outcomes", RecordKind::outcome, batches, line_buffer_);
            direct.commit();
            result.outcomes_received = result.outcomes_inserted = copied.value_or(0);
            outcomes_done = true;
        } catch (const pqxx::unique_violation&) {
            // An outcome for this id is stored already or repeated: staging path.
        }
    }
    if (any_outcomes && !outcomes_done) {
        if (const auto outcomes =
                copy_rows(transaction, "staging_outcomes", RecordKind::outcome, batches, line_buffer_)) {
            result.outcomes_received = *outcomes;
            result.outcomes_inserted = transaction.exec0(std::string(insert_outcomes)).affected_rows();
        }
    }
    transaction.commit();

    known_partitions_.insert(settled_partitions.begin(), settled_partitions.end());
    return result;
}

}  // namespace mw::store
