#include "store/retention.h"

#include <filesystem>
#include <string_view>
#include <system_error>

#include <fmt/format.h>
#include <pqxx/result>
#include <pqxx/transaction>

#include "store/sql.h"
#include "store/store_writer.h"

namespace mw::store {

namespace {

std::int64_t cutoff_us(std::int64_t now_us, std::uint64_t age_s) {
    return now_us - static_cast<std::int64_t>(age_s) * 1'000'000;
}

// The time ranges of predictions someone still reads, closed at both ends:
// - a live reference's own rows (what it was taken from, for a refit or an
//   audit of the reference; its sample is stored, but the rows are the
//   evidence behind it);
// - each model's open window: the rows after its last closed window, from
//   that window's first row (a sliding window re-reads from there);
// - a model with a live reference and no window after it: the rows after
//   the reference, which its first window will read;
// - windows still waiting for their labels (performance is judged on the
//   window's rows joined with their outcomes).
// A model with no reference yet (waiting for its first N predictions) keeps
// nothing back: its reference is taken from whatever is kept.
constexpr std::string_view needed_ranges = R"sql(
    SELECT data_start AS lo, data_end AS hi FROM model_references
        WHERE retired_at IS NULL AND data_start IS NOT NULL AND data_end IS NOT NULL
    UNION ALL
    SELECT max(first_ts), 'infinity'::timestamptz FROM monitor_windows GROUP BY model
    UNION ALL
    SELECT r.data_end, 'infinity'::timestamptz FROM model_references r
        WHERE r.retired_at IS NULL AND r.data_end IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM monitor_windows w WHERE w.model = r.model AND w.last_ts >= r.data_end)
    UNION ALL
    SELECT first_ts, last_ts FROM monitor_windows WHERE performance_at IS NULL
)sql";

// Range partitions of predictions with their bounds (the default partition
// has none and is never dropped: it holds only rows outside the writer's
// partition window, store_writer.cpp). Bounds are printed with their UTC
// offset, so the cast back is exact whatever the session's time zone.
constexpr std::string_view expired_partitions = R"sql(
    WITH parts AS (
        SELECT c.oid::regclass::text AS name, b[1]::timestamptz AS lo, b[2]::timestamptz AS hi
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid,
        LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') b
        WHERE i.inhparent = 'predictions'::regclass
    ), needed AS ({})
    SELECT p.name, EXISTS (SELECT 1 FROM needed n WHERE n.lo < p.hi AND n.hi >= p.lo) AS needed
    FROM parts p WHERE p.hi <= {} ORDER BY p.lo
)sql";

void drop_partitions(pqxx::connection_base& connection, std::int64_t cutoff, RetentionResult& result) {
    std::vector<std::string> candidates;
    {
        pqxx::read_transaction transaction(connection, "retention_partitions");
        for (const auto& row :
             transaction.exec_params(fmt::format(expired_partitions, needed_ranges, ts_param(1)), cutoff)) {
            if (row[1].as<bool>())
                result.partitions_kept.push_back(row[0].as<std::string>());
            else
                candidates.push_back(row[0].as<std::string>());
        }
    }
    for (const auto& name : candidates) {
        pqxx::work transaction(connection, "retention_drop_partition");
        // A writer waiting on the predictions table must not wait on us for
        // long: past this, the pass fails and the next one retries.
        transaction.exec0("SET LOCAL lock_timeout = '10s'");
        transaction.exec(fmt::format("SELECT pg_advisory_xact_lock({})", partition_lock_key));
        // Checked again under the lock: a window may have been closed or a
        // reference taken since the list was read.
        const auto still = transaction.exec_params(
            fmt::format(expired_partitions, needed_ranges, ts_param(1)) , cutoff);
        bool droppable = false;
        for (const auto& row : still)
            if (row[0].as<std::string>() == name) droppable = !row[1].as<bool>();
        if (!droppable) continue;
        // The partition's outcomes and keys go in the same transaction as its
        // rows, so a replayed record is either still a duplicate or stored anew,
        // never half of each (see prediction_keys in migrations.cpp). Both
        // tables are keyed by (model, id), so these are index probes per row of
        // the partition: PostgreSQL has no unique index across partitions.
        result.outcomes_deleted += transaction
                                       .exec0(fmt::format("DELETE FROM outcomes o USING {} p "
                                                          "WHERE o.model = p.model AND o.id = p.id",
                                                          name))
                                       .affected_rows();
        result.prediction_keys_deleted += transaction
                                              .exec0(fmt::format("DELETE FROM prediction_keys k USING {} p "
                                                                 "WHERE k.model = p.model AND k.id = p.id "
                                                                 "AND k.ts = p.ts",
                                                                 name))
                                              .affected_rows();
        transaction.exec0(fmt::format("DROP TABLE {}", name));
        transaction.commit();
        result.partitions_dropped.push_back(name);
    }
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
        // Outcomes whose prediction never arrived (or is in no partition any
        // more): nothing joins them.
        result.outcomes_deleted += delete_rows(
            connection,
            "DELETE FROM outcomes o WHERE o.received_at < " + before +
                " AND NOT EXISTS (SELECT 1 FROM prediction_keys k WHERE k.model = o.model AND k.id = o.id)",
            cutoff);
        result.rejection_counts_deleted +=
            delete_rows(connection, "DELETE FROM rejection_counts WHERE second < " + before, cutoff);
    }

    if (options.findings_s != 0) {
        const std::int64_t cutoff = cutoff_us(now_us, options.findings_s);
        // Not a finding a consumer (alert router, retrain policy) has yet to
        // read, nor the one a firing alert or an active job points at.
        result.findings_deleted = delete_rows(
            connection,
            "DELETE FROM findings f WHERE f.created_at < " + before +
                " AND f.id <= (SELECT coalesce(min(last_finding_id), 0) FROM finding_cursors)"
                " AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.finding_id = f.id AND a.state = 'firing')"
                " AND NOT EXISTS (SELECT 1 FROM retrain_jobs j WHERE j.finding_id = f.id"
                "                 AND j.state IN ('queued', 'running', 'succeeded', 'validated'))",
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
        // Finished jobs only; each model's latest finished job (the policy's
        // cooldown) and latest promoted job (probation, rollback) stay.
        pqxx::work transaction(connection, "retention_jobs");
        const auto doomed = transaction.exec_params(
            "SELECT j.id FROM retrain_jobs j WHERE j.finished_at < " + before +
                " AND j.state IN ('failed', 'timed_out', 'rejected', 'rolled_back', 'promoted')"
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
