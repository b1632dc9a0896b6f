#include "store/retention.h"

#include <filesystem>
#include <string_view>
#include <system_error>

#include <fmt/format.h>
#include <pqxx/except>
#include <pqxx/result>
#include <pqxx/transaction>

#include "core/job_state.h"
#include "core/log.h"
#include "store/sql.h"
#include "store/store_writer.h"
#include "store/watermarks.h"

namespace mw::store {

namespace {

std::int64_t cutoff_us(std::int64_t now_us, std::uint64_t age_s) {
    return now_us - static_cast<std::int64_t>(age_s) * 1'000'000;
}

// The ranges of predictions (model, ts from lo to hi, both ends included)
// whose labels someone still waits for:
// - each model's open window: the rows after its last closed window, from
//   that window's first row (a sliding window re-reads from there);
// - a model with a live reference and no window after it: the rows after
//   the reference, which its first window will read;
// - windows still waiting for their labels (performance is judged on the
//   window's rows joined with their outcomes).
constexpr std::string_view label_ranges = R"sql(
    SELECT model, max(first_ts) AS lo, 'infinity'::timestamptz AS hi FROM monitor_windows GROUP BY model
    UNION ALL
    SELECT r.model, r.data_end, 'infinity'::timestamptz FROM model_references r
        WHERE r.retired_at IS NULL AND r.data_end IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM monitor_windows w WHERE w.model = r.model AND w.last_ts >= r.data_end)
    UNION ALL
    SELECT model, first_ts, last_ts FROM monitor_windows WHERE performance_at IS NULL
)sql";

// The ranges of predictions someone still reads: the label ranges, and a
// live reference's own rows (what it was taken from, for a refit or an
// audit of the reference; its sample is stored, but the rows are the
// evidence behind it). A model with no reference yet (waiting for its first
// N predictions) keeps nothing back: its reference is taken from whatever
// is kept.
constexpr std::string_view reference_ranges = R"sql(
    SELECT model, data_start AS lo, data_end AS hi FROM model_references
        WHERE retired_at IS NULL AND data_start IS NOT NULL AND data_end IS NOT NULL
)sql";

// The range partitions of a partitioned table ($1) with their bounds.
// Default partitions have no bounds and are never dropped: they hold only
// rows outside the writer's partition window (store/store_writer.cpp).
// Bounds are printed with their UTC offset, so the cast back is exact
// whatever the session's time zone.
constexpr std::string_view range_partitions = R"sql(
    SELECT c.oid::regclass::text AS name, b[1]::timestamptz AS lo, b[2]::timestamptz AS hi
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid,
    LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') b
    WHERE i.inhparent = $1::regclass
)sql";

// Whether a partition past its age is still read (name, lower and upper
// bound as text). Partitions hold the records received in their range
// (store/migrations.cpp, version 4), whatever their ts:
// - a predictions partition is read while it holds a row of a model inside
//   one of that model's needed ranges (an index probe on (model, ts, id));
// - an outcomes partition while a model with an open window or a window
//   waiting for labels has outcomes in it received after that window's first
//   row's ts: labels arrive after what they label (one that arrived before
//   its prediction is older than the window and goes with its age).
bool still_read(pqxx::dbtransaction& transaction, const std::string& parent, const std::string& name,
                const std::string& hi) {
    if (parent == "predictions")
        return transaction
            .exec1(fmt::format("SELECT EXISTS (SELECT 1 FROM ({} UNION ALL {}) n WHERE EXISTS ("
                               "SELECT 1 FROM {} p WHERE p.model = n.model AND p.ts >= n.lo AND p.ts <= n.hi))",
                               label_ranges, reference_ranges, name))[0]
            .as<bool>();
    return transaction
        .exec_params1(fmt::format("SELECT EXISTS (SELECT 1 FROM ({}) n WHERE n.lo < $1::timestamptz AND EXISTS ("
                                  "SELECT 1 FROM {} o WHERE o.model = n.model AND o.received_at > n.lo))",
                                  label_ranges, name),
                      hi)[0]
        .as<bool>();
}

// Drops the partitions of predictions and outcomes past `cutoff` that no one
// reads any more, then the boundary-key partitions of both whose neighbour
// day partitions are gone (a boundary's claims pair an arrival before it
// with one after it: store/store_writer.h). Never a DELETE of those rows.
void drop_partitions(pqxx::connection_base& connection, std::int64_t cutoff, RetentionResult& result) {
    struct Partition {
        std::string parent, name, lo, hi;
    };
    const auto list = [&](const std::string& parent) {
        pqxx::read_transaction transaction(connection, "retention_partitions");
        std::vector<Partition> partitions;
        const auto expired = fmt::format("SELECT name, lo::text, hi::text FROM ({}) p WHERE hi <= {} ORDER BY lo, name",
                                         range_partitions, ts_param(2));
        for (const auto& row : transaction.exec_params(expired, parent, cutoff))
            partitions.push_back(
                {parent, row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()});
        return partitions;
    };
    // One transaction per partition, so a long pass never holds locks the
    // writer waits for. Under the partition lock that serialises the
    // writer's partition creation and other daemons' retention passes: the
    // partition is skipped if another pass dropped it since the list was
    // read; then its parent is locked (as DROP would lock it) before whether
    // it is still read is checked, so no write can add rows a window needs
    // between the check and the drop. A lock not granted in time (a long
    // reader of the parent, a deadlock with a writer creating a partition)
    // skips this partition only: it is counted busy, the next pass tries it
    // again, and the rest of the pass goes on.
    enum class Dropped { yes, kept, gone, busy };
    const auto drop = [&](const Partition& partition, const auto& droppable) {
        try {
            pqxx::work transaction(connection, "retention_drop_partition");
            transaction.exec0("SET LOCAL lock_timeout = '10s'");
            transaction.exec(fmt::format("SELECT pg_advisory_xact_lock({})", partition_lock_key));
            if (transaction.exec_params1("SELECT to_regclass($1) IS NULL", partition.name)[0].as<bool>())
                return Dropped::gone;
            transaction.exec0(fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", partition.parent));
            if (!droppable(transaction)) return Dropped::kept;
            transaction.exec0(fmt::format("DROP TABLE {}", partition.name));
            transaction.commit();
            result.partitions_dropped.push_back(partition.name);
            return Dropped::yes;
        } catch (const pqxx::sql_error& error) {
            const std::string sqlstate = error.sqlstate();
            // 42P01: dropped by another pass after all; 55P03: lock timeout;
            // 40P01: deadlock.
            if (sqlstate == "42P01") return Dropped::gone;
            if (sqlstate != "55P03" && sqlstate != "40P01") throw;
            log::warning("retention_partition_busy name={} sqlstate={} error=\"{}\"", partition.name, sqlstate,
                         error.what());
            result.partitions_busy.push_back(partition.name);
            return Dropped::busy;
        }
    };

    for (const std::string parent : {"predictions", "outcomes"}) {
        for (const auto& partition : list(parent)) {
            if (drop(partition, [&](pqxx::dbtransaction& transaction) {
                    return !still_read(transaction, parent, partition.name, partition.hi);
                }) == Dropped::kept)
                result.partitions_kept.push_back(partition.name);
        }
    }
    for (const auto& [parent, boundary] : {std::pair<std::string, std::string>{"predictions", "prediction_boundary_keys"},
                                           {"outcomes", "outcome_boundary_keys"}}) {
        for (const auto& partition : list(boundary)) {
            drop(partition, [&](pqxx::dbtransaction& transaction) {
                return !transaction
                            .exec_params1(fmt::format("SELECT EXISTS (SELECT 1 FROM ({}) p WHERE p.lo < $2::timestamptz "
                                                      "AND p.hi > $3::timestamptz)",
                                                      range_partitions),
                                          parent, partition.hi, partition.lo)[0]
                            .as<bool>();
            });
        }
    }
}

// An SQL list of job states ('queued', 'running', ...) for IN: the names
// come from core/job_state.h's table, letters and underscores only.
std::string job_state_list(const std::vector<std::string>& names) {
    return fmt::format("'{}'", fmt::join(names, "', '"));
}

std::int64_t delete_rows(pqxx::connection_base& connection, const std::string& sql, std::int64_t cutoff) {
    pqxx::work transaction(connection, "retention");
    const auto affected = transaction.exec_params0(sql, cutoff).affected_rows();
    transaction.commit();
    return static_cast<std::int64_t>(affected);
}

}  // namespace

RetentionResult apply_retention(pqxx::connection_base& connection, const config::RetentionOptions& options,
                                std::int64_t now_us) {
    RetentionResult result;
    const std::string before = ts_param(1);

    if (options.predictions_s != 0) {
        const std::int64_t cutoff = cutoff_us(now_us, options.predictions_s);
        drop_partitions(connection, cutoff, result);
        result.rejection_counts_deleted +=
            delete_rows(connection, "DELETE FROM rejection_counts WHERE second < " + before, cutoff);
        // A profile-only model's feature profiles age like its rows, once
        // their bucket was judged: a closed window of the model ends at or
        // after the bucket's start (a reference keeps its own merged copy,
        // reference_profiles, so none of its chunks is needed).
        result.profile_chunks_deleted = delete_rows(
            connection,
            "DELETE FROM profile_chunks c WHERE c.bucket_end < " + before +
                " AND EXISTS (SELECT 1 FROM monitor_windows w WHERE w.model = c.model AND w.last_ts >= c.bucket_start)",
            cutoff);
    }

    if (options.findings_s != 0) {
        const std::int64_t cutoff = cutoff_us(now_us, options.findings_s);
        // Not a finding a consumer (its model's alert router, the retrain
        // policy) has yet to read, nor the one a firing alert or an active
        // job points at.
        result.findings_deleted = delete_rows(
            connection,
            "DELETE FROM findings f WHERE f.created_at < " + before +
                " AND f.alert_routed AND f.id <= (SELECT coalesce(min(last_finding_id), 0) FROM finding_cursors)"
                " AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.finding_id = f.id AND a.state = 'firing')"
                " AND NOT EXISTS (SELECT 1 FROM retrain_jobs j WHERE j.finding_id = f.id"
                "                 AND j.state IN (" + job_state_list(undecided_state_names()) + "))",
            cutoff);
        // The latest decision of each kind per model stays: the retrain
        // breaker is open when its latest 'breaker_opened' is newer than its
        // latest 'breaker_reset' (retrain/policy_store.cpp).
        result.decisions_deleted = delete_rows(
            connection,
            "DELETE FROM decisions d WHERE d.at < " + before +
                " AND d.id < (SELECT max(l.id) FROM decisions l WHERE l.model = d.model AND l.kind = d.kind)",
            cutoff);
    }

    if (options.windows_s != 0) {
        // Not a window waiting for labels, nor each model's latest (the open
        // window starts after it).
        result.windows_deleted = delete_rows(
            connection,
            "DELETE FROM monitor_windows w WHERE w.closed_at < " + before +
                " AND w.performance_at IS NOT NULL"
                " AND w.sequence < (SELECT max(l.sequence) FROM monitor_windows l WHERE l.model = w.model)",
            cutoff_us(now_us, options.windows_s));
    }

    if (options.alert_deliveries_s != 0) {
        // Only finished deliveries: an undelivered one is still owed.
        result.alert_deliveries_deleted = delete_rows(
            connection,
            "DELETE FROM alert_deliveries WHERE created_at < " + before +
                " AND (delivered_at IS NOT NULL OR abandoned_at IS NOT NULL)",
            cutoff_us(now_us, options.alert_deliveries_s));
    }

    if (options.jobs_s != 0) {
        // Decided jobs only (core/job_state.h); each model's latest finished job (the policy's
        // cooldown) and latest promoted job (probation, rollback) stay.
        pqxx::work transaction(connection, "retention_jobs");
        const auto doomed = transaction.exec_params(
            "SELECT j.id FROM retrain_jobs j WHERE j.finished_at < " + before +
                " AND j.state IN (" + job_state_list(decided_state_names()) + ")"
                " AND j.id < (SELECT max(l.id) FROM retrain_jobs l WHERE l.model = j.model"
                "             AND l.finished_at IS NOT NULL)"
                " AND j.id IS DISTINCT FROM (SELECT max(p.id) FROM retrain_jobs p WHERE p.model = j.model"
                "                            AND p.state = 'promoted')"
                " ORDER BY j.id",
            cutoff_us(now_us, options.jobs_s));
        for (const auto& row : doomed) result.jobs_deleted.push_back(row[0].as<std::int64_t>());
        if (!result.jobs_deleted.empty()) {
            const std::string ids = fmt::format("{{{}}}", fmt::join(result.jobs_deleted, ","));
            transaction.exec_params0("DELETE FROM retrain_transitions WHERE job_id = ANY($1::bigint[])", ids);
            transaction.exec_params0("DELETE FROM retrain_jobs WHERE id = ANY($1::bigint[])", ids);
        }
        transaction.commit();
    }

    if (options.audits_s != 0) {
        // Finished audits but the latest of each (model, audit): its report is
        // what latest.<ext> points at.
        pqxx::work transaction(connection, "retention_audits");
        const auto doomed = transaction.exec_params(
            "SELECT a.id, r.value FROM audits a"
            " LEFT JOIN LATERAL jsonb_each_text(CASE WHEN jsonb_typeof(a.reports) = 'object'"
            "                                   THEN a.reports END) r ON true"
            " WHERE a.state <> 'running' AND a.finished_at < " + before +
                " AND a.id < (SELECT max(l.id) FROM audits l WHERE l.model = a.model AND l.audit = a.audit)"
                " ORDER BY a.id",
            cutoff_us(now_us, options.audits_s));
        std::vector<std::int64_t> ids;
        for (const auto& row : doomed) {
            const auto id = row[0].as<std::int64_t>();
            if (ids.empty() || ids.back() != id) ids.push_back(id);
            if (!row[1].is_null()) result.audit_report_files.push_back(row[1].as<std::string>());
        }
        if (!ids.empty())
            transaction.exec_params0("DELETE FROM audits WHERE id = ANY($1::bigint[])",
                                     fmt::format("{{{}}}", fmt::join(ids, ",")));
        transaction.commit();
        result.audits_deleted = static_cast<std::int64_t>(ids.size());
    }

    // No age option: a writer's row is read only while its daemon lives.
    result.watermarks_deleted = forget_watermarks(connection, now_us);
    return result;
}

std::vector<std::string> remove_retained_files(const RetentionResult& result, const std::string& jobs_dir,
                                               const std::string& reports_dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> errors;
    for (const auto id : result.jobs_deleted) {
        const fs::path directory = fs::path(jobs_dir) / std::to_string(id);
        std::error_code ec;
        fs::remove_all(directory, ec);
        if (ec) errors.push_back(fmt::format("cannot remove job directory {}: {}", directory.string(), ec.message()));
    }
    const fs::path root = fs::path(reports_dir).lexically_normal();
    for (const auto& file : result.audit_report_files) {
        const fs::path path = fs::path(file).lexically_normal();
        const auto relative = path.lexically_relative(root);
        if (!path.is_absolute() || relative.empty() || *relative.begin() == ".." || *relative.begin() == ".") {
            errors.push_back(fmt::format("report file {} is outside reports_dir {}: not removed", file, reports_dir));
            continue;
        }
        std::error_code ec;
        fs::remove(path, ec);
        if (ec) errors.push_back(fmt::format("cannot remove report file {}: {}", file, ec.message()));
    }
    return errors;
}

}  // namespace mw::store
