#include "store/admin_queries.h"

#include <string_view>

#include <fmt/format.h>
#include <pqxx/result>

#include "store/sql.h"

namespace mw::store {
namespace {

// A timestamptz column as RFC 3339 UTC with microseconds, the form every
// other time in the API has (core/time.h format_rfc3339_us).
std::string us_column(std::string_view column) {
    return fmt::format("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", column);
}

// The `limit` rows of highest id that `select` (a SELECT ... FROM of one
// table with a model and an id column) gives for the model (every model when
// empty), as one JSON array in `order`.
std::string model_rows_json(pqxx::transaction_base& transaction, std::string_view select, std::string_view order,
                            const std::string& model, std::int64_t limit) {
    const auto result = transaction.exec_params1(
        fmt::format("SELECT coalesce(json_agg(r ORDER BY {}), '[]')::text FROM ({} WHERE ($1 = '' OR model = $1) "
                    "ORDER BY id DESC LIMIT $2) r",
                    order, select),
        model, limit);
    return result[0].as<std::string>();
}

}  // namespace

std::string findings_json(pqxx::transaction_base& transaction, const FindingFilter& filter) {
    // A NULL parameter switches its condition off, so one statement serves
    // every combination of filters.
    const std::optional<std::string> model = filter.model.empty() ? std::nullopt : std::optional(filter.model);
    const std::optional<std::string> kind = filter.kind.empty() ? std::nullopt : std::optional(filter.kind);
    const auto result = transaction.exec_params1(
        fmt::format("SELECT coalesce(json_agg(f ORDER BY f.id DESC), '[]')::text FROM (SELECT id, model, kind, "
                    "subject, method, statistic, threshold, p_value, triggered, severity, {} AS window_start, "
                    "{} AS window_end, evidence, window_id, {} AS created_at FROM findings WHERE "
                    "($1::text IS NULL OR model = $1) AND ($2::text IS NULL OR kind = $2) "
                    "AND ($3::boolean IS NULL OR triggered = $3) AND ($4::bigint IS NULL OR id = $4) "
                    "AND ($6::text IS NULL OR subject = $6) ORDER BY id DESC LIMIT $5) f",
                    us_column("window_start"), us_column("window_end"), us_column("created_at")),
        model, kind, filter.triggered, filter.id, filter.limit, filter.subject);
    return result[0].as<std::string>();
}

std::string windows_json(pqxx::transaction_base& transaction, const std::string& model, std::int64_t limit) {
    return model_rows_json(
        transaction,
        fmt::format("SELECT w.id, w.model, w.sequence, w.rows, {} AS first_ts, {} AS last_ts, w.reference_id, "
                    "w.label_coverage, (SELECT json_object_agg(m.name || CASE WHEN m.estimated THEN '_estimated' "
                    "ELSE '' END, m.value) FROM window_metrics m WHERE m.window_id = w.id AND m.segment = '') "
                    "AS metrics FROM monitor_windows w",
                    us_column("w.first_ts"), us_column("w.last_ts")),
        "r.sequence DESC, r.id DESC", model, limit);
}

std::string audits_json(pqxx::transaction_base& transaction, const std::string& model, std::int64_t limit) {
    return model_rows_json(transaction,
                           fmt::format("SELECT id, model, audit, trigger, state, rows, reports, error, {} AS "
                                       "started_at, {} AS finished_at FROM audits",
                                       us_column("started_at"), us_column("finished_at")),
                           "r.id DESC", model, limit);
}

std::optional<std::string> audit_report_path(pqxx::transaction_base& transaction, std::int64_t audit_id,
                                             const std::string& format) {
    const auto result = transaction.exec_params("SELECT reports->>$2 FROM audits WHERE id = $1", audit_id, format);
    if (result.empty() || result[0][0].is_null()) return std::nullopt;
    return result[0][0].as<std::string>();
}

std::string decisions_json(pqxx::transaction_base& transaction, const std::string& model, std::int64_t limit) {
    return model_rows_json(
        transaction,
        fmt::format("SELECT id, model, kind, reason, finding_id, job_id, {} AS at FROM decisions", us_column("at")),
        "r.id DESC", model, limit);
}

ModelProgress model_progress(pqxx::transaction_base& transaction, const std::string& model,
                             const std::string& cursor_consumer, const std::vector<std::string>& unfinished_job_states) {
    // The last ids by primary key (newest first, filtered by model): a
    // model's rows are a small part of a long table, but its newest are near
    // the end of it.
    const auto row = transaction.exec_params1(
        "SELECT (SELECT count(*) FROM monitor_windows WHERE model = $1), "
        "(SELECT count(performance_at) FROM monitor_windows WHERE model = $1), "
        "coalesce((SELECT id FROM findings WHERE model = $1 ORDER BY id DESC LIMIT 1), 0), "
        "coalesce((SELECT max(id) FROM model_references WHERE model = $1), 0), "
        "EXISTS (SELECT 1 FROM model_references WHERE model = $1 AND retired_at IS NULL AND rows = 0), "
        "coalesce((SELECT max(t.id) FROM retrain_transitions t JOIN retrain_jobs j ON j.id = t.job_id "
        "WHERE j.model = $1), 0), "
        "(SELECT count(*) FROM retrain_jobs WHERE model = $1 AND state = ANY($2::text[])), "
        "(SELECT count(*) FROM findings WHERE model = $1 AND NOT alert_routed), "
        "(SELECT count(*) FROM findings WHERE $3 <> '' AND model = $1 AND id > "
        "coalesce((SELECT last_finding_id FROM finding_cursors WHERE consumer = $3), 0))",
        model, text_array(unfinished_job_states), cursor_consumer);
    ModelProgress progress;
    progress.windows = row[0].as<std::int64_t>();
    progress.windows_judged = row[1].as<std::int64_t>();
    progress.last_finding_id = row[2].as<std::int64_t>();
    progress.last_reference_id = row[3].as<std::int64_t>();
    progress.reference_pending = row[4].as<bool>();
    progress.last_job_transition_id = row[5].as<std::int64_t>();
    progress.jobs_unfinished = row[6].as<std::int64_t>();
    progress.findings_unrouted = row[7].as<std::int64_t>();
    progress.findings_past_cursor = row[8].as<std::int64_t>();
    return progress;
}

}  // namespace mw::store
