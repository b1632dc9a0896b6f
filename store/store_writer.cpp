#include "store/store_writer.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <libpq-fe.h>
#include <pqxx/except>
#include <pqxx/largeobject>
#include <pqxx/result>
#include <pqxx/stream_to>
#include <pqxx/subtransaction>
#include <pqxx/transaction>

#include "core/log.h"
#include "core/time.h"
#include "store/copy_encoding.h"

namespace mw::store {
namespace {

// Partitions are created on demand only for ranges starting within this
// window around the database's now(); rows outside it go to the default
// partition. received_at is the daemon's clock at acknowledgement, so only a
// spool replayed after more than 400 days, or a clock far off the
// database's, gets there. Creating a partition fails if the default
// partition already holds rows of its range, so the window must never admit
// a range that may already have rows in default:
// - past: a range starting before now() - 400 days is never created, and
//   the bound only moves forward, so a range whose rows once went to default
//   for being too old stays out of the window forever;
// - future: a received_at more than 2 days ahead of the database's clock
//   would need a daemon clock that far off; such rows go to default and
//   their range is then never creatable (23514 below, logged).
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
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staging_prediction_boundary (
    model text COLLATE "C", id text COLLATE "C", received_at timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staging_outcome_boundary (
    model text COLLATE "C", id text COLLATE "C", received_at timestamptz
) ON COMMIT DELETE ROWS)sql";

const std::vector<std::string> prediction_columns(prediction_copy_columns.begin(), prediction_copy_columns.end());
const std::vector<std::string> outcome_columns(outcome_copy_columns.begin(), outcome_copy_columns.end());
const std::vector<std::string> boundary_columns{"model", "id", "received_at"};

// The tables one kind of record goes through; predictions and outcomes are
// stored the same way (store/migrations.cpp, version 4).
struct KindTables {
    RecordKind kind;
    std::string_view table;            // partitions <table>_pYYYYMMDD
    std::string_view boundary_prefix;  // table <prefix>_keys, partitions <prefix>_pYYYYMMDD
    std::string_view staging;
    std::string_view staging_boundary;
    const std::vector<std::string>& columns;
};

const KindTables prediction_tables{RecordKind::prediction, "predictions", "prediction_boundary",
                                   "staging_predictions", "staging_prediction_boundary", prediction_columns};
const KindTables outcome_tables{RecordKind::outcome, "outcomes", "outcome_boundary", "staging_outcomes",
                                "staging_outcome_boundary", outcome_columns};

// The staging path, for a write with a duplicate in it: one row per
// (model, id) and partition of this write (received first, then the earliest
// ts), the boundary claims of those near a boundary (earliest received
// first, so of two copies in one boundary's hour the first wins), and every
// row that needs no claim or got one, unless its day already has its id.
// $1 is the partition width in seconds; the DISTINCT ON's sort also feeds
// the indexes in key order.
std::string staging_insert_sql(const KindTables& tables) {
    std::string columns, candidate_columns;
    for (const auto& column : tables.columns) {
        columns += (columns.empty() ? "" : ", ") + column;
        candidate_columns += (candidate_columns.empty() ? "c." : ", c.") + column;
    }
    return fmt::format(R"sql(
WITH candidates AS (
    SELECT DISTINCT ON (model, id, day) *
    FROM (SELECT *, date_bin(make_interval(secs => $1::bigint), received_at,
                             timestamptz '1970-01-01 00:00:00+00') AS day
          FROM {staging}) s
    ORDER BY model, id, day, received_at, ts
), claimed AS (
    INSERT INTO {boundary}_keys (model, id, received_at)
    SELECT model, id, received_at FROM (SELECT DISTINCT model, id, received_at FROM {staging_boundary}) b
    ORDER BY received_at
    ON CONFLICT DO NOTHING
    RETURNING model, id, received_at
)
INSERT INTO {table} ({columns})
SELECT {candidate_columns} FROM candidates c
WHERE NOT EXISTS (SELECT 1 FROM {staging_boundary} b
                  WHERE b.model = c.model AND b.id = c.id AND b.received_at = c.received_at)
   OR EXISTS (SELECT 1 FROM claimed k WHERE k.model = c.model AND k.id = c.id AND k.received_at = c.received_at)
ON CONFLICT DO NOTHING)sql",
                       fmt::arg("staging", tables.staging), fmt::arg("boundary", tables.boundary_prefix),
                       fmt::arg("staging_boundary", tables.staging_boundary), fmt::arg("table", tables.table),
                       fmt::arg("columns", columns), fmt::arg("candidate_columns", candidate_columns));
}


std::int64_t floor_div(std::int64_t value, std::int64_t divisor) {
    return value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor);
}

// What the writer must know of a write's rows of one kind: the partitions
// their received_at fall in, and the boundary claims of those received
// within boundary_window_seconds of a partition boundary, as COPY rows
// (model, id, received_at) by boundary (epoch seconds). The first two
// columns of every row are model and id and the last is received_at
// (store/copy_encoding.h); COPY escaping leaves no raw tab inside a field.
// The rows, and the claims of each boundary, are written in (model, id)
// order (byte order: the keys' "C" collation but for COPY escapes, which
// only locality depends on): a write's keys then go into the primary keys
// in index order, each next to the last, instead of one random leaf each,
// and two writers of the same keys meet them in the same order.
struct KeyedLine {
    std::string_view key;   // "model\tid"
    std::string_view line;  // the row without its '\n'
};

struct ScannedRows {
    std::vector<std::int64_t> partition_starts;
    std::map<std::int64_t, std::string> boundary_rows;  // each row '\n'-terminated
    std::vector<KeyedLine> lines;
    std::uint64_t records = 0;  // the batches' record counts
};

// One boundary claim while scanning: "model\tid\t" and received_at, views
// into the batches' rows.
struct ClaimLine {
    std::string_view key;
    std::string_view received;
};

ScannedRows scan_rows(std::span<const EncodedBatch> batches, RecordKind kind) {
    const std::int64_t partition_us = partition_seconds * microseconds_per_second;
    const std::int64_t window_us = boundary_window_seconds * microseconds_per_second;
    ScannedRows scanned;
    std::map<std::int64_t, std::vector<ClaimLine>> claims;
    // The rows of a batch share one received_at: parse it once per run.
    std::string_view last_received;
    std::int64_t start_s = 0, boundary_s = 0;
    bool near_boundary = false;
    for (const auto& batch : batches) {
        if (batch.kind != kind) continue;
        scanned.records += batch.record_count;
        std::string_view rest = batch.copy_rows;
        while (!rest.empty()) {
            const auto line_end = rest.find('\n');
            const std::string_view line = rest.substr(0, line_end);
            rest = line_end == std::string_view::npos ? std::string_view{} : rest.substr(line_end + 1);
            const auto first_tab = line.find('\t');
            const auto second_tab = first_tab == std::string_view::npos ? first_tab : line.find('\t', first_tab + 1);
            const auto last_tab = line.rfind('\t');
            if (second_tab == std::string_view::npos || last_tab <= second_tab)
                throw pqxx::data_exception("spooled row without model, id and received_at: " +
                                               std::string(line.substr(0, 200)),
                                           "", "22P04");
            const std::string_view received = line.substr(last_tab + 1);
            if (received != last_received) {
                const auto received_us = parse_rfc3339_us(received);
                if (!received_us)
                    throw pqxx::data_exception(
                        fmt::format("spooled row with received_at \"{}\", not a timestamp", received), "", "22007");
                last_received = received;
                start_s = floor_div(*received_us, partition_us) * partition_seconds;
                const std::int64_t boundary_us = floor_div(*received_us + window_us, partition_us) * partition_us;
                boundary_s = boundary_us / microseconds_per_second;
                near_boundary = *received_us < boundary_us + window_us;
                if (scanned.partition_starts.empty() || scanned.partition_starts.back() != start_s)
                    scanned.partition_starts.push_back(start_s);
            }
            scanned.lines.push_back({line.substr(0, second_tab), line});
            if (near_boundary) claims[boundary_s].push_back({line.substr(0, second_tab + 1), received});
        }
    }
    for (auto& [boundary, lines] : claims) {
        std::sort(lines.begin(), lines.end(), [](const ClaimLine& a, const ClaimLine& b) { return a.key < b.key; });
        auto& rows = scanned.boundary_rows[boundary];
        for (const auto& line : lines) {
            rows.append(line.key);
            rows.append(line.received);
            rows += '\n';
        }
    }
    // Stable: of one key's copies in a write, the staging path keeps the one
    // received first, whatever their order here; stable keeps it reproducible.
    std::stable_sort(scanned.lines.begin(), scanned.lines.end(),
                     [](const KeyedLine& a, const KeyedLine& b) { return a.key < b.key; });
    std::sort(scanned.partition_starts.begin(), scanned.partition_starts.end());
    scanned.partition_starts.erase(std::unique(scanned.partition_starts.begin(), scanned.partition_starts.end()),
                                   scanned.partition_starts.end());
    return scanned;
}

// The libpq connection under a pqxx transaction, for PQputCopyData (see
// WriterCopyIn). pqxx 6.4 gives it out only to large objects, through a
// protected static member that a derived class may call.
struct WriterLibpqConnection : pqxx::largeobject {
    static PGconn* of(const pqxx::dbtransaction& transaction) { return raw_connection(transaction); }
};

// COPY data goes to libpq in pieces of about this size: one send per piece,
// and no buffer the size of a whole write.
constexpr std::size_t writer_copy_chunk_bytes = 256 * 1024;

// One COPY ... FROM STDIN of text rows. pqxx 6.4 sends COPY data only as
// write_raw_line(const std::string&), which copies its argument twice (line
// + '\n', then reallocated) before libpq copies it a third time into an
// output buffer grown to its size: for a write of tens of MB, that was
// about a quarter of the daemon's CPU per ingested row, mostly page faults
// on fresh memory (bench/RESULTS.md, "The daemon's own CPU per row").
// Here stream_to starts and completes the COPY, so its errors (a unique
// violation, a lost connection) come as pqxx exceptions as before, and the
// rows reach libpq in chunks of one reused buffer.
class WriterCopyIn {
public:
    WriterCopyIn(pqxx::dbtransaction& transaction, const std::string& table, const std::vector<std::string>& columns,
                 std::string& buffer)
        : stream_(transaction, table, columns), connection_(WriterLibpqConnection::of(transaction)), buffer_(buffer) {
        buffer_.clear();
    }

    // A row without its '\n'.
    void append_line(std::string_view line) {
        if (!buffer_.empty() && buffer_.size() + line.size() + 1 > writer_copy_chunk_bytes) flush();
        buffer_.append(line);
        buffer_ += '\n';
    }

    // Rows, each ending in '\n'. CopyData messages need not end at a row's
    // end (https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-COPY).
    void append_rows(std::string_view rows) {
        flush();
        for (std::size_t at = 0; at < rows.size(); at += writer_copy_chunk_bytes)
            put(rows.substr(at, writer_copy_chunk_bytes));
    }

    void complete() {
        flush();
        stream_.complete();
    }

private:
    void flush() {
        if (buffer_.empty()) return;
        put(buffer_);
        buffer_.clear();
    }

    void put(std::string_view bytes) {
        if (PQputCopyData(connection_, bytes.data(), static_cast<int>(bytes.size())) == 1) return;
        const std::string message = fmt::format("sending COPY data failed: {}", PQerrorMessage(connection_));
        if (PQstatus(connection_) == CONNECTION_BAD) throw pqxx::broken_connection(message);
        throw pqxx::failure(message);
    }

    pqxx::stream_to stream_;
    PGconn* connection_;
    std::string& buffer_;
};

// COPYs `lines` (rows without their '\n') into `table`.
void copy_lines(pqxx::dbtransaction& transaction, const std::string& table, const std::vector<std::string>& columns,
                const std::vector<KeyedLine>& lines, std::string& buffer) {
    if (lines.empty()) return;
    WriterCopyIn copy(transaction, table, columns, buffer);
    for (const auto& row : lines) copy.append_line(row.line);
    copy.complete();
}

// COPYs `rows` (each ending in '\n') into `table`.
void copy_rows(pqxx::dbtransaction& transaction, const std::string& table, const std::vector<std::string>& columns,
               std::string_view rows, std::string& buffer) {
    if (rows.empty()) return;
    WriterCopyIn copy(transaction, table, columns, buffer);
    copy.append_rows(rows);
    copy.complete();
}

std::string sql_timestamp(std::int64_t seconds) {
    std::string timestamp;
    append_timestamptz_us(seconds * microseconds_per_second, timestamp);
    return timestamp;
}

// <prefix>_pYYYYMMDD, the UTC day `start_seconds` falls in.
std::string partition_name(std::string_view prefix, std::int64_t start_seconds) {
    const std::string timestamp = sql_timestamp(start_seconds);
    return fmt::format("{}_p{}{}{}", prefix, timestamp.substr(0, 4), timestamp.substr(5, 2), timestamp.substr(8, 2));
}

struct PartitionSpec {
    std::string parent;
    std::string name;
    std::int64_t from_s;
    std::int64_t to_s;
    std::int64_t anchor_s;  // what must lie in the creation window: the range start, or the boundary
};

// Of `specs`, those not known yet whose anchor lies inside the creation
// window (by the database's clock).
std::vector<PartitionSpec> unknown_in_window(pqxx::work& transaction, const std::vector<PartitionSpec>& specs,
                                             const std::unordered_map<std::string, bool>& known) {
    std::string anchors;
    for (const auto& spec : specs)
        if (!known.contains(spec.name)) anchors += fmt::format("{}{}", anchors.empty() ? "" : ",", spec.anchor_s);
    if (anchors.empty()) return {};
    std::unordered_set<std::int64_t> in_window;
    for (const auto& row : transaction.exec_params(
             fmt::format("SELECT s FROM unnest($1::bigint[]) s WHERE to_timestamp(s) >= now() - interval '{} days' "
                         "AND to_timestamp(s) < now() + interval '{} days'",
                         partition_past_days, partition_future_days),
             "{" + anchors + "}"))
        in_window.insert(row[0].as<std::int64_t>());
    std::vector<PartitionSpec> result;
    for (const auto& spec : specs)
        if (!known.contains(spec.name) && in_window.contains(spec.anchor_s)) result.push_back(spec);
    return result;
}

// Creates the partitions of `specs` that are missing and returns each with
// whether it exists now (to remember once the transaction commits).
std::vector<std::pair<std::string, bool>> ensure_partitions(pqxx::work& transaction,
                                                            const std::vector<PartitionSpec>& specs) {
    std::vector<std::pair<std::string, bool>> settled;
    bool locked = false;
    for (const auto& spec : specs) {
        if (transaction.exec_params1("SELECT to_regclass($1) IS NOT NULL", spec.name)[0].as<bool>()) {
            settled.emplace_back(spec.name, true);
            continue;
        }
        if (!locked) {
            transaction.exec(fmt::format("SELECT pg_advisory_xact_lock({})", partition_lock_key));
            locked = true;
        }
        // Each partition has its own primary key: the uniqueness of
        // (model, id) within it (store/migrations.cpp, version 4).
        const auto create =
            fmt::format("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} (PRIMARY KEY (model, id)) "
                        "FOR VALUES FROM ('{}') TO ('{}')",
                        spec.name, spec.parent, sql_timestamp(spec.from_s), sql_timestamp(spec.to_s));
        try {
            pqxx::subtransaction attempt(transaction, "create_partition");
            attempt.exec0(create);
            attempt.commit();
            log::info("partition_created name={}", spec.name);
            settled.emplace_back(spec.name, true);
        } catch (const pqxx::sql_error& error) {
            // 42P17: the range overlaps an existing partition (partition_days
            // changed on an existing database); 23514: the default partition
            // already holds rows of the range. Either way the rows stay
            // correct, in the partition that covers them or in the default.
            if (error.sqlstate() != "42P17" && error.sqlstate() != "23514") throw;
            log::warning("partition_not_created name={} sqlstate={} reason=\"{}\"", spec.name, error.sqlstate(),
                         error.what());
            settled.emplace_back(spec.name, false);
        }
    }
    return settled;
}

struct KindWrite {
    std::uint64_t received = 0;
    std::uint64_t inserted = 0;
};

// Which rows a write inserted, when the caller asked (profile-only models'
// rows are profiled only when stored: store/profile_writer.h): all of them
// (the direct COPY), or those the staging insert returned.
struct InsertedKeys {
    bool all = false;
    std::set<std::pair<std::string, std::string>> keys;  // (model, id)
};

// A day partition the writer relied on was gone when its rows were written
// (retention dropped it after the writer remembered it), so PostgreSQL routed
// them to the default partition. The write is rolled back and done again
// with every partition looked up afresh.
struct PartitionGoneError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws PartitionGoneError when one of the day partitions `names` (the
// ones this write's rows were sent to) does not exist. Run after the rows
// were written: the write then holds its lock on the parent until commit,
// and retention's DROP (which needs the parent exclusively) cannot come
// between this check and the commit.
void check_partitions_exist(pqxx::work& transaction, const std::vector<std::string>& names) {
    if (names.empty()) return;
    std::string array;
    for (const auto& name : names) array += fmt::format("{}{}", array.empty() ? "" : ",", name);
    const auto gone = transaction.exec_params(
        "SELECT n FROM unnest($1::text[]) n WHERE to_regclass(n) IS NULL LIMIT 1", "{" + array + "}");
    if (!gone.empty())
        throw PartitionGoneError(fmt::format("partition {} was dropped under the writer", gone[0][0].c_str()));
}

// Writes the rows of one kind of `batches` in `transaction`; the partitions
// it found existing, created or not creatable go to `settled`.
KindWrite write_kind(pqxx::work& transaction, const KindTables& tables, std::span<const EncodedBatch> batches,
                     const std::unordered_map<std::string, bool>& known_partitions,
                     std::string& copy_buffer, std::vector<std::pair<std::string, bool>>& settled,
                     InsertedKeys* inserted = nullptr) {
    KindWrite result;
    const bool any = std::any_of(batches.begin(), batches.end(), [&](const EncodedBatch& batch) {
        return batch.kind == tables.kind && !batch.copy_rows.empty();
    });
    if (!any) return result;

    const ScannedRows scanned = scan_rows(batches, tables.kind);
    std::vector<PartitionSpec> specs;
    for (const auto start : scanned.partition_starts)
        specs.push_back({std::string(tables.table), partition_name(tables.table, start), start,
                         start + partition_seconds, start});
    const std::string boundary_table = fmt::format("{}_keys", tables.boundary_prefix);
    for (const auto& [boundary, rows] : scanned.boundary_rows)
        specs.push_back({boundary_table, partition_name(tables.boundary_prefix, boundary),
                         boundary - boundary_window_seconds, boundary + boundary_window_seconds, boundary});
    auto created = ensure_partitions(transaction, unknown_in_window(transaction, specs, known_partitions));
    // The claims go only into boundary partitions that exist: the table has
    // no default partition. A boundary outside the creation window has none,
    // and its rows rely on their day's primary key alone.
    std::string boundary_rows;
    for (const auto& [boundary, rows] : scanned.boundary_rows) {
        const std::string name = partition_name(tables.boundary_prefix, boundary);
        const auto known = known_partitions.find(name);
        const auto fresh = std::find_if(created.begin(), created.end(),
                                        [&](const auto& entry) { return entry.first == name; });
        const bool exists = fresh != created.end() ? fresh->second
                                                   : known != known_partitions.end() && known->second;
        if (exists) boundary_rows += rows;
    }
    // The day partitions the rows go to as far as the writer knows (a known
    // one may have been dropped by retention since).
    std::vector<std::string> day_partitions;
    for (const auto start : scanned.partition_starts) {
        const std::string name = partition_name(tables.table, start);
        const auto known = known_partitions.find(name);
        const auto fresh = std::find_if(created.begin(), created.end(),
                                        [&](const auto& entry) { return entry.first == name; });
        if (fresh != created.end() ? fresh->second : known != known_partitions.end() && known->second)
            day_partitions.push_back(name);
    }
    settled.insert(settled.end(), created.begin(), created.end());

    try {
        pqxx::subtransaction direct(transaction, "direct_rows");
        copy_rows(direct, boundary_table, boundary_columns, boundary_rows, copy_buffer);
        copy_lines(direct, std::string(tables.table), tables.columns, scanned.lines, copy_buffer);
        result.received = result.inserted = scanned.records;
        direct.commit();
        check_partitions_exist(transaction, day_partitions);
        if (inserted != nullptr) inserted->all = true;
        return result;
    } catch (const pqxx::unique_violation&) {
        // Some id is stored already or repeated: the staging path sorts it out.
    }
    copy_lines(transaction, std::string(tables.staging), tables.columns, scanned.lines, copy_buffer);
    result.received = scanned.records;
    copy_rows(transaction, std::string(tables.staging_boundary), boundary_columns, boundary_rows, copy_buffer);
    if (inserted == nullptr) {
        result.inserted = transaction.exec_params0(staging_insert_sql(tables), partition_seconds).affected_rows();
    } else {
        const auto rows = transaction.exec_params(staging_insert_sql(tables) + " RETURNING model, id", partition_seconds);
        result.inserted = rows.size();
        for (const auto& row : rows) inserted->keys.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    }
    check_partitions_exist(transaction, day_partitions);
    return result;
}

}  // namespace

StoreWriter::StoreWriter(pqxx::connection_base& connection, const config::StoreOptions& options)
    : connection_(connection) {
    // options.partition_days is 1 by validation (config/sections.cpp): the
    // width is partition_seconds, fixed by the schema.
    (void)options;
}

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


WriteResult StoreWriter::write(std::span<const EncodedBatch> original) {
    WriteResult result;
    if (original.empty()) return result;
    ensure_staging_tables();
    // Profile-only models' predictions go in without their features, which
    // become profile chunks of the rows this write stores, in its transaction.
    const auto plan = plan_;
    const auto stripped = plan ? strip_profiled_features(original, *plan) : std::nullopt;
    const std::span<const EncodedBatch> batches = stripped ? std::span<const EncodedBatch>(stripped->batches) : original;

    std::vector<std::pair<std::string, bool>> settled_partitions;
    KindWrite predictions, outcomes;
    for (int attempt = 1;; ++attempt) {
        settled_partitions.clear();
        pqxx::work transaction(connection_, "store_write");
        try {
            InsertedKeys inserted;
            predictions = write_kind(transaction, prediction_tables, batches, known_partitions_,
                                     copy_buffer_, settled_partitions, stripped ? &inserted : nullptr);
            if (stripped) {
                // Of two copies of one id in a write, the staging insert keeps
                // the first received (its DISTINCT ON); held rows are in
                // spool order, so the first held copy is the stored one.
                std::vector<const HeldFeatures*> stored;
                for (const auto& held : stripped->held)
                    if (inserted.all || inserted.keys.erase(std::pair<std::string, std::string>(held.model, held.id)) > 0)
                        stored.push_back(&held);
                auto profiled = build_profile_chunks(stored, *plan);
                insert_profile_chunks(transaction, profiled.chunks);
                for (const auto& [model, attribute] : profiled.overflowed) {
                    if (!overflow_logged_.emplace(model, attribute).second) continue;
                    log::warning("segment_profiles_overflow model={} attribute={} max_segment_values={} "
                                 "action=\"the attribute's segment checks are not computed for windows holding "
                                 "such a chunk\"",
                                 model, attribute, plan->at(model).max_segment_values);
                }
            }
            outcomes = write_kind(transaction, outcome_tables, batches, known_partitions_,
                                  copy_buffer_, settled_partitions);
            transaction.commit();
            break;
        } catch (const PartitionGoneError& error) {
            // A remembered day partition was dropped by retention: its rows
            // went to the default partition. Rolled back; once more with
            // every partition looked up (and that one created) again.
            log::info("store_partition_gone error=\"{}\" attempt={}", error.what(), attempt);
            known_partitions_.clear();
            if (attempt >= 3) throw;
        } catch (const pqxx::sql_error&) {
            // A partition remembered may have been dropped by retention since (a
            // boundary-key partition has no default to fall back on, so a claim
            // into a dropped one fails): the retry looks every partition up again.
            known_partitions_.clear();
            throw;
        }
    }

    known_partitions_.insert(settled_partitions.begin(), settled_partitions.end());
    result.predictions_received = predictions.received;
    result.predictions_inserted = predictions.inserted;
    result.outcomes_received = outcomes.received;
    result.outcomes_inserted = outcomes.inserted;
    return result;
}

}  // namespace mw::store
