#include "fairness/audit_store.h"

#include <utility>

#include <fmt/format.h>
#include <pqxx/except>
#include <pqxx/result>
#include <pqxx/transaction>

#include "core/time.h"
#include "fairness/report_json.h"
#include "store/monitor_store.h"

namespace mw::fairness {

const char* to_string(AuditTrigger trigger) {
    switch (trigger) {
        case AuditTrigger::schedule: return "schedule";
        case AuditTrigger::manual: return "manual";
    }
    return "manual";
}

const char* to_string(AuditState state) {
    switch (state) {
        case AuditState::running: return "running";
        case AuditState::passed: return "passed";
        case AuditState::failed: return "failed";
        case AuditState::error: return "error";
    }
    return "error";
}

namespace {

// Timestamps cross as RFC 3339 text cast to timestamptz, and come back as
// whole microseconds (extract(epoch) is numeric since PostgreSQL 14, so exact).
std::string timestamp(std::int64_t us) { return format_rfc3339_us(us); }

// A NULL parameter for libpqxx 6.4, which has no std::optional parameters.
const char* text_or_null(const std::string& text) { return text.empty() ? nullptr : text.c_str(); }

std::optional<std::int64_t> optional_us(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return field.as<std::int64_t>();
}

// The columns read_record reads; {} is the result column (NULL in lists).
constexpr const char* record_columns =
    "id, model, audit, trigger, (extract(epoch FROM scheduled_for) * 1000000)::bigint, state, "
    "(extract(epoch FROM data_start) * 1000000)::bigint, (extract(epoch FROM data_end) * 1000000)::bigint, "
    "rows, {}, reports::text, error, (extract(epoch FROM started_at) * 1000000)::bigint, "
    "(extract(epoch FROM finished_at) * 1000000)::bigint";

AuditRecord read_record(const pqxx::row& row) {
    AuditRecord r;
    r.id = row[0].as<std::int64_t>();
    r.model = row[1].as<std::string>();
    r.audit = row[2].as<std::string>();
    r.trigger = row[3].as<std::string>();
    r.scheduled_for_us = optional_us(row[4]);
    r.state = row[5].as<std::string>();
    r.data_start_us = row[6].as<std::int64_t>();
    r.data_end_us = row[7].as<std::int64_t>();
    if (!row[8].is_null()) r.rows = row[8].as<std::uint64_t>();
    if (!row[9].is_null()) r.result_json = row[9].as<std::string>();
    if (!row[10].is_null()) r.reports_json = row[10].as<std::string>();
    if (!row[11].is_null()) r.error = row[11].as<std::string>();
    r.started_at_us = row[12].as<std::int64_t>();
    r.finished_at_us = optional_us(row[13]);
    return r;
}

}  // namespace

AuditBegin begin_audit(pqxx::connection_base& connection, const std::string& model, const std::string& audit,
                       AuditTrigger trigger, std::optional<std::int64_t> scheduled_for_us, std::int64_t data_start_us,
                       std::int64_t data_end_us, const std::optional<store::Fence>& fence) {
    AuditBegin begin;
    const std::string scheduled_for = scheduled_for_us ? timestamp(*scheduled_for_us) : std::string();
    try {
        pqxx::work t(connection, "begin_audit");
        if (fence) store::check_fence(t, model, *fence);
        const std::optional<std::string> owner = fence ? std::optional(fence->owner) : std::nullopt;
        const std::optional<std::int64_t> epoch = fence ? std::optional(fence->epoch) : std::nullopt;
        const pqxx::row row = t.exec_params1(
            "INSERT INTO audits (model, audit, trigger, scheduled_for, state, data_start, data_end, lease_owner, "
            "lease_epoch) VALUES ($1, $2, $3, $4::timestamptz, 'running', $5::timestamptz, $6::timestamptz, $7, $8) "
            "RETURNING id",
            model, audit, std::string(to_string(trigger)), text_or_null(scheduled_for), timestamp(data_start_us),
            timestamp(data_end_us), owner, epoch);
        begin.id = row[0].as<std::int64_t>();
        if (scheduled_for_us) record_slot(t, model, audit, *scheduled_for_us);
        t.commit();
    } catch (const pqxx::unique_violation&) {
        // audits_one_running: another run of this audit, here or in another daemon.
        begin.already_running = true;
    }
    return begin;
}

void record_slot(pqxx::transaction_base& transaction, const std::string& model, const std::string& audit,
                 std::int64_t slot_us) {
    transaction.exec_params0(
        "INSERT INTO audit_schedules (model, audit, last_slot) VALUES ($1, $2, $3::timestamptz) "
        "ON CONFLICT (model, audit) DO UPDATE SET last_slot = greatest(audit_schedules.last_slot, excluded.last_slot)",
        model, audit, timestamp(slot_us));
}

std::optional<std::int64_t> last_slot(pqxx::connection_base& connection, const std::string& model,
                                      const std::string& audit) {
    pqxx::read_transaction t(connection, "audit_last_slot");
    const pqxx::result r =
        t.exec_params("SELECT (extract(epoch FROM last_slot) * 1000000)::bigint FROM audit_schedules "
                      "WHERE model = $1 AND audit = $2",
                      model, audit);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::int64_t>();
}

bool finish_audit(pqxx::connection_base& connection, std::int64_t id, const AuditOutcome& outcome,
                  const std::vector<Finding>& findings) {
    pqxx::work t(connection, "finish_audit");
    // The lease the run was begun under, checked before anything is written.
    const pqxx::result run = t.exec_params("SELECT model, lease_owner, lease_epoch FROM audits WHERE id = $1", id);
    if (!run.empty() && !run[0][1].is_null())
        store::check_fence(t, run[0][0].as<std::string>(), {run[0][1].as<std::string>(), run[0][2].as<std::int64_t>()});
    const pqxx::result updated = t.exec_params(
        "UPDATE audits SET state = $2, rows = $3, result = $4::jsonb, reports = $5::jsonb, error = $6, "
        "finished_at = now() WHERE id = $1 AND state = 'running'",
        id, std::string(to_string(outcome.state)), outcome.rows, text_or_null(outcome.result_json),
        text_or_null(outcome.reports_json), text_or_null(outcome.error));
    if (updated.affected_rows() != 1) return false;  // the transaction rolls back unused
    store::insert_findings(t, findings, std::nullopt);
    t.commit();
    return true;
}

std::size_t fail_stale_running(pqxx::connection_base& connection, std::int64_t started_before_us) {
    pqxx::work t(connection, "fail_stale_audits");
    const pqxx::result r = t.exec_params(
        "UPDATE audits SET state = 'error', error = 'daemon stopped during the audit', finished_at = now() "
        "WHERE state = 'running' AND lease_owner IS NULL AND started_at < $1::timestamptz",
        timestamp(started_before_us));
    t.commit();
    return r.affected_rows();
}

std::size_t fail_superseded(pqxx::connection_base& connection, const std::string& model, const store::Fence& fence) {
    pqxx::work t(connection, "fail_superseded_audits");
    store::check_fence(t, model, fence);
    const pqxx::result r = t.exec_params(
        "UPDATE audits SET state = 'error', error = 'its daemon lost the model''s lease during the audit (epoch ' || "
        "lease_epoch || ' of ' || lease_owner || ')', finished_at = now() "
        "WHERE model = $1 AND state = 'running' AND lease_owner IS NOT NULL "
        "AND (lease_owner <> $2 OR lease_epoch <> $3)",
        model, fence.owner, fence.epoch);
    t.commit();
    return r.affected_rows();
}

std::vector<AuditRecord> list_audits(pqxx::connection_base& connection, const std::string& model,
                                     const std::string& audit, std::size_t limit) {
    pqxx::read_transaction t(connection, "list_audits");
    const pqxx::result r = t.exec_params(
        fmt::format("SELECT {} FROM audits WHERE model = $1 AND audit = $2 ORDER BY started_at DESC, id DESC LIMIT $3",
                    fmt::format(fmt::runtime(record_columns), "NULL::text")),
        model, audit, static_cast<long long>(limit));
    std::vector<AuditRecord> records;
    for (const auto& row : r) records.push_back(read_record(row));
    return records;
}

std::optional<AuditRecord> get_audit(pqxx::connection_base& connection, std::int64_t id) {
    pqxx::read_transaction t(connection, "get_audit");
    const pqxx::result r = t.exec_params(
        fmt::format("SELECT {} FROM audits WHERE id = $1", fmt::format(fmt::runtime(record_columns), "result::text")),
        id);
    if (r.empty()) return std::nullopt;
    return read_record(r[0]);
}

std::vector<HistoryPoint> history(pqxx::connection_base& connection, const std::string& model,
                                  const std::string& audit, std::size_t limit) {
    pqxx::read_transaction t(connection, "audit_history");
    const pqxx::result r = t.exec_params(
        "SELECT result::text FROM (SELECT id, started_at, result FROM audits "
        "WHERE model = $1 AND audit = $2 AND result IS NOT NULL AND state IN ('passed', 'failed') "
        "ORDER BY started_at DESC, id DESC LIMIT $3) latest ORDER BY started_at, id",
        model, audit, static_cast<long long>(limit));
    std::vector<HistoryPoint> points;
    for (const auto& row : r) {
        HistoryRead read = history_from_report_json(row[0].as<std::string>());
        points.insert(points.end(), read.points.begin(), read.points.end());
    }
    return points;
}

AuditDataLoad load_audit_data(pqxx::connection_base& connection, const AuditDataQuery& query) {
    AuditDataLoad load;
    AuditData& data = load.data;
    data.attributes.resize(query.sensitive_attributes.size());
    for (std::size_t a = 0; a < query.sensitive_attributes.size(); ++a)
        data.attributes[a].name = query.sensitive_attributes[a];
    // The encoders keep references into data.attributes, sized above once.
    std::vector<AttributeEncoder> encoders;
    encoders.reserve(data.attributes.size());
    for (auto& column : data.attributes) encoders.emplace_back(column);

    // A cursor, not COPY (pqxx::stream_from): DECLARE takes the query with its
    // values quoted by the connection, and FETCH bounds the memory per batch.
    pqxx::read_transaction t(connection, "load_audit_data");
    std::string select = "SELECT prediction_label, label, score";
    for (const auto& attribute : query.sensitive_attributes) select += ", attributes ->> " + t.quote(attribute);
    select += fmt::format(
        " FROM labelled_predictions WHERE model = {} AND ts >= {}::timestamptz AND ts < {}::timestamptz"
        " ORDER BY ts DESC, id DESC LIMIT {}",
        t.quote(query.model), t.quote(timestamp(query.data_start_us)), t.quote(timestamp(query.data_end_us)),
        query.max_rows + 1);
    t.exec0("DECLARE audit_rows NO SCROLL CURSOR FOR " + select);

    std::vector<double> scores;
    std::uint64_t read_rows = 0;
    const std::string fetch = fmt::format("FETCH FORWARD {} FROM audit_rows", query.fetch_rows);
    for (;;) {
        const pqxx::result batch = t.exec(fetch);
        if (batch.empty()) break;
        for (const auto& row : batch) {
            if (++read_rows > query.max_rows) {
                load.truncated = true;
                break;
            }
            if (row[0].is_null() || row[1].is_null()) {
                ++load.rows_rejected;
                continue;
            }
            data.y_pred.push_back(row[0].as<std::string>() == query.positive_label ? 1 : 0);
            data.y_true.push_back(row[1].as<std::string>() == query.positive_label ? 1 : 0);
            const double score = row[2].is_null() ? -1 : row[2].as<double>();
            if (score >= 0 && score <= 1) {
                scores.push_back(score);
            } else {
                ++load.rows_without_score;
            }
            bool missing = false;
            for (std::size_t a = 0; a < encoders.size(); ++a) {
                const pqxx::field value = row[static_cast<pqxx::row::size_type>(3 + a)];
                missing = missing || value.is_null();
                encoders[a].append(value.is_null() ? std::string_view(missing_attribute_value) : value.c_str());
                if (encoders[a].distinct() > query.max_distinct_values) {
                    load.error = fmt::format(
                        "sensitive attribute '{}' has more than {} distinct values in the window: "
                        "it is not a grouping attribute (an identifier or a number?)",
                        query.sensitive_attributes[a], query.max_distinct_values);
                    return load;
                }
            }
            if (missing) ++load.rows_missing_attribute;
        }
        if (load.truncated) break;
    }
    t.exec0("CLOSE audit_rows");
    // AuditData holds a score for every row or none: calibration over the
    // scored rows only would describe a different population than the rates.
    if (load.rows_without_score == 0) data.score = std::move(scores);
    return load;
}

}  // namespace mw::fairness
