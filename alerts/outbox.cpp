#include "alerts/outbox.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/result>
#include <pqxx/transaction>

#include "alerts/fingerprint.h"
#include "core/log.h"
#include "core/time.h"
#include "store/sql.h"

namespace mw::alerts {
namespace {

// The router's row in finding_cursors.
constexpr std::string_view router_consumer = "alert_router";

using store::ts_column;
using store::ts_param;

// pqxx 6.4 has no std::optional parameters; a null const char* is SQL NULL.
const char* text_or_null(const std::optional<std::string>& text) { return text ? text->c_str() : nullptr; }

std::optional<std::string> optional_text(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return field.as<std::string>();
}

const std::string& alert_columns() {
    static const std::string columns = fmt::format(
        "fingerprint, model, kind, subject, severity, state, coalesce(finding_id, 0), summary, description, "
        "{}, {}, {}, {}",
        ts_column("started_at"), ts_column("resolved_at"), ts_column("last_sent_at"), ts_column("updated_at"));
    return columns;
}

// The store's CHECK constraints admit only known states and severities; an
// unknown one means the schema and this code disagree.
AlertRecord read_alert(const pqxx::row& row) {
    AlertRecord record;
    record.fingerprint = row[0].as<std::string>();
    record.model = row[1].as<std::string>();
    record.kind = row[2].as<std::string>();
    record.subject = row[3].as<std::string>();
    const auto severity = parse_severity(row[4].as<std::string>());
    const auto state = parse_state(row[5].as<std::string>());
    if (!severity || !state)
        throw std::logic_error(fmt::format("alert {} has severity '{}' and state '{}', unknown to this modelwatch",
                                           record.fingerprint, row[4].c_str(), row[5].c_str()));
    record.severity = *severity;
    record.state = *state;
    record.finding_id = row[6].as<std::int64_t>();
    record.summary = row[7].as<std::string>();
    record.description = row[8].as<std::string>();
    record.started_at_us = row[9].as<std::int64_t>();
    record.resolved_at_us = store::nullable<std::int64_t>(row[10]);
    record.last_sent_at_us = store::nullable<std::int64_t>(row[11]);
    record.updated_at_us = row[12].as<std::int64_t>();
    return record;
}

std::optional<AlertRecord> select_alert_for_update(pqxx::work& transaction, const std::string& fingerprint_hex) {
    const auto rows = transaction.exec_params(
        fmt::format("SELECT {} FROM alerts WHERE fingerprint = $1 FOR UPDATE", alert_columns()), fingerprint_hex);
    if (rows.empty()) return std::nullopt;
    return read_alert(rows[0]);
}

void upsert_alert(pqxx::work& transaction, const AlertRecord& record) {
    const std::optional<std::string> resolved_at =
        record.resolved_at_us ? std::optional(std::to_string(*record.resolved_at_us)) : std::nullopt;
    const std::optional<std::string> last_sent_at =
        record.last_sent_at_us ? std::optional(std::to_string(*record.last_sent_at_us)) : std::nullopt;
    transaction.exec_params0(
        fmt::format("INSERT INTO alerts (fingerprint, model, kind, subject, severity, state, finding_id, summary, "
                    "description, started_at, resolved_at, last_sent_at, updated_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {}, {}, {}, {}) "
                    "ON CONFLICT (fingerprint) DO UPDATE SET severity = excluded.severity, state = excluded.state, "
                    "finding_id = excluded.finding_id, summary = excluded.summary, "
                    "description = excluded.description, started_at = excluded.started_at, "
                    "resolved_at = excluded.resolved_at, last_sent_at = excluded.last_sent_at, "
                    "updated_at = excluded.updated_at",
                    ts_param(10), ts_param(11), ts_param(12), ts_param(13)),
        record.fingerprint, record.model, record.kind, record.subject, std::string(to_string(record.severity)),
        std::string(to_string(record.state)), record.finding_id, record.summary, record.description,
        record.started_at_us, text_or_null(resolved_at), text_or_null(last_sent_at), record.updated_at_us);
}

void record_decision(pqxx::work& transaction, const std::string& model, std::string_view kind,
                     const std::string& reason, std::int64_t finding_id, std::int64_t now_us) {
    transaction.exec_params0(
        fmt::format("INSERT INTO decisions (model, kind, reason, finding_id, at) "
                    "VALUES ($1, $2, $3, NULLIF($4, 0), {})",
                    ts_param(5)),
        model, std::string(kind), reason, finding_id, now_us);
}

// The id of a silence matching the alert in force at now, if any.
std::optional<std::int64_t> active_silence(pqxx::work& transaction, const AlertRecord& record, std::int64_t now_us) {
    const auto rows = transaction.exec_params(
        fmt::format("SELECT id FROM silences WHERE (model IS NULL OR model = $1) AND (kind IS NULL OR kind = $2) "
                    "AND (subject IS NULL OR subject = $3) AND starts_at <= {0} AND ends_at > {0} ORDER BY id LIMIT 1",
                    ts_param(4)),
        record.model, record.kind, record.subject, now_us);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::int64_t>();
}

// Inserts one delivery per receiver, all due now; returns how many.
std::size_t enqueue(pqxx::work& transaction, const AlertRecord& record, const std::vector<std::string>& receivers,
                    bool resend, const AlertRoutingOptions& routing, std::int64_t now_us) {
    if (receivers.empty()) return 0;
    // The causes the alert's finding names (a performance drop's ranking);
    // read here so that re-sends carry them too.
    std::string causes;
    if (record.finding_id != 0)
        for (const auto& row : transaction.exec_params(
                 "SELECT evidence::text FROM findings WHERE id = $1 AND evidence ? 'root_cause'", record.finding_id))
            causes = causes_annotation(row[0].as<std::string>());
    const nlohmann::json payload = {{"resend", resend},
                                    {"alert", to_json(render_alert(record, routing, now_us, causes))}};
    const std::string payload_text = payload.dump();
    for (const auto& receiver : receivers)
        transaction.exec_params0(
            fmt::format("INSERT INTO alert_deliveries (fingerprint, receiver, state, payload, created_at, "
                        "next_attempt_at) VALUES ($1, $2, $3, $4::jsonb, {0}, {0})",
                        ts_param(5)),
            record.fingerprint, receiver, std::string(to_string(record.state)), payload_text, now_us);
    return receivers.size();
}

// Consecutive non-triggered findings of the alert's (model, kind, subject)
// up to and including `finding_id`, counting at most `enough`.
int clean_windows(pqxx::work& transaction, const Finding& finding, std::int64_t finding_id, int enough) {
    const auto rows = transaction.exec_params(
        "SELECT triggered FROM findings WHERE model = $1 AND kind = $2 AND subject = $3 AND id <= $4 "
        "ORDER BY id DESC LIMIT $5",
        finding.model, finding.kind, finding.subject, finding_id, enough);
    int clean = 0;
    for (const auto& row : rows) {
        if (row[0].as<bool>()) break;
        ++clean;
    }
    return clean;
}

StoredFinding read_finding(const pqxx::row& row) {
    StoredFinding stored;
    stored.id = row["id"].as<std::int64_t>();
    Finding& finding = stored.finding;
    finding.model = row["model"].as<std::string>();
    finding.kind = row["kind"].as<std::string>();
    finding.subject = row["subject"].as<std::string>();
    finding.method = row["method"].as<std::string>();
    finding.statistic = row["statistic"].as<double>();
    finding.threshold = row["threshold"].as<double>();
    finding.p_value = row["p_value"].is_null() ? -1 : row["p_value"].as<double>();
    finding.triggered = row["triggered"].as<bool>();
    finding.severity = parse_severity(row["severity"].as<std::string>()).value_or(Severity::warning);
    finding.window_start_us = row["window_start_us"].as<std::int64_t>();
    finding.window_end_us = row["window_end_us"].as<std::int64_t>();
    finding.evidence_json = row["evidence"].as<std::string>();
    return stored;
}

// Applies one finding to its alert, inside the routing transaction.
void route_one(pqxx::work& transaction, const StoredFinding& stored, const AlertRoutingOptions& routing,
               std::int64_t now_us) {
    const Finding& finding = stored.finding;
    if (!routing.alerting_kinds.contains(finding.kind)) return;
    const auto current =
        select_alert_for_update(transaction, fingerprint(finding.model, finding.kind, finding.subject));
    int clean = 0;
    if (!finding.triggered && current && current->state == AlertState::firing)
        clean = clean_windows(transaction, finding, stored.id, routing.resolve_after_clean_windows);
    const RoutingStep step = route_finding(stored, current, clean, routing, now_us);
    if (!step.alert) return;
    AlertRecord next = *step.alert;
    if (!step.state_changed) {
        upsert_alert(transaction, next);
        return;
    }

    bool notify = true;
    if (next.state == AlertState::firing) {
        if (const auto silence = active_silence(transaction, next, now_us)) {
            notify = false;
            record_decision(transaction, next.model, "alert_silenced",
                            fmt::format("alert {} ({}, subject '{}') started firing; not delivered: silence {} is "
                                        "in force",
                                        next.fingerprint, next.kind, next.subject, *silence),
                            stored.id, now_us);
        }
    } else if (!current->last_sent_at_us) {
        notify = false;
        record_decision(transaction, next.model, "alert_resolved_unsent",
                        fmt::format("alert {} ({}, subject '{}') resolved; not delivered: receivers were never told "
                                    "it fired (it was silenced)",
                                    next.fingerprint, next.kind, next.subject),
                        stored.id, now_us);
    }
    if (notify) next.last_sent_at_us = now_us;
    upsert_alert(transaction, next);
    if (notify) enqueue(transaction, next, receivers_for(next.severity, routing), false, routing, now_us);
}

}  // namespace

std::int64_t backoff_bound_ms(int previous_failures, const OutboxOptions& options) {
    // min(cap, base * 2^n) without overflowing: once base * 2^n passes the
    // cap, every larger n is the cap too.
    std::int64_t bound = std::max<std::int64_t>(options.backoff_base_ms, 0);
    for (int i = 0; i < previous_failures && bound < options.backoff_cap_ms; ++i) bound *= 2;
    return std::min(bound, options.backoff_cap_ms);
}

AlertOutbox::AlertOutbox(OutboxOptions options, std::uint64_t seed) : options_(options), random_(seed) {}

std::size_t AlertOutbox::route_new_findings(pqxx::connection_base& connection, const AlertRoutingOptions& routing,
                                            std::int64_t now_us) {
    pqxx::work transaction(connection, "route_new_findings");
    transaction.exec_params0("INSERT INTO finding_cursors (consumer) VALUES ($1) ON CONFLICT (consumer) DO NOTHING",
                             std::string(router_consumer));
    const std::int64_t cursor =
        transaction
            .exec_params1("SELECT last_finding_id FROM finding_cursors WHERE consumer = $1 FOR UPDATE",
                          std::string(router_consumer))[0]
            .as<std::int64_t>();
    // age_ms is measured on the database's clock, the one created_at was
    // written with (the injected now_us may be a test's or another host's).
    const auto rows = transaction.exec_params(
        fmt::format("SELECT id, model, kind, subject, method, statistic, threshold, p_value, triggered, severity, "
                    "{} AS window_start_us, {} AS window_end_us, evidence::text AS evidence, "
                    "(extract(epoch FROM clock_timestamp() - created_at) * 1000)::bigint AS age_ms "
                    "FROM findings WHERE id > $1 ORDER BY id LIMIT $2",
                    ts_column("window_start"), ts_column("window_end")),
        cursor, options_.findings_per_call);

    std::int64_t last_id = cursor;
    std::size_t routed = 0;
    for (const auto& row : rows) {
        const auto id = row["id"].as<std::int64_t>();
        if (id != last_id + 1 && row["age_ms"].as<std::int64_t>() < options_.finding_gap_grace_ms) {
            log::info("alert_router_waiting_for_gap after_finding={} next_finding={}", last_id, id);
            break;
        }
        route_one(transaction, read_finding(row), routing, now_us);
        last_id = id;
        ++routed;
    }
    if (last_id != cursor)
        transaction.exec_params0("UPDATE finding_cursors SET last_finding_id = $2 WHERE consumer = $1",
                                 std::string(router_consumer), last_id);
    transaction.commit();
    if (routed > 0) log::debug("alert_router_routed findings={} last_finding={}", routed, last_id);
    return routed;
}

std::size_t AlertOutbox::enqueue_resends(pqxx::connection_base& connection, const AlertRoutingOptions& routing,
                                         std::int64_t now_us) {
    pqxx::work transaction(connection, "enqueue_resends");
    const std::int64_t due_before_us = now_us - routing.resend_interval_seconds * microseconds_per_second;
    // SKIP LOCKED: an alert the router is changing right now is looked at next time.
    const auto rows = transaction.exec_params(
        fmt::format("SELECT {} FROM alerts WHERE state = 'firing' AND (last_sent_at IS NULL OR last_sent_at <= {}) "
                    "ORDER BY fingerprint FOR UPDATE SKIP LOCKED",
                    alert_columns(), ts_param(1)),
        due_before_us);
    std::size_t enqueued = 0;
    for (const auto& row : rows) {
        AlertRecord record = read_alert(row);
        if (active_silence(transaction, record, now_us)) continue;
        if (record.last_sent_at_us) {
            std::vector<std::string> resend_receivers;
            for (const auto& receiver : receivers_for(record.severity, routing))
                if (wants_resend(receiver, routing)) resend_receivers.push_back(receiver);
            enqueued += enqueue(transaction, record, resend_receivers, true, routing, now_us);
        } else {
            enqueued += enqueue(transaction, record, receivers_for(record.severity, routing), false, routing, now_us);
        }
        // Also when no receiver wanted a re-send: the alert is then not
        // looked at again before the next interval.
        transaction.exec_params0(fmt::format("UPDATE alerts SET last_sent_at = {} WHERE fingerprint = $1", ts_param(2)),
                                 record.fingerprint, now_us);
    }
    transaction.commit();
    return enqueued;
}

std::vector<ClaimedDelivery> AlertOutbox::claim_due(pqxx::connection_base& connection, const std::string& receiver,
                                                    int limit, std::int64_t now_us) {
    std::vector<ClaimedDelivery> claimed;
    if (limit <= 0) return claimed;
    pqxx::work transaction(connection, "claim_due");
    // Only due re-sends: one whose lease is running is being delivered, and
    // abandoning it would let a later resolved overtake it.
    const auto stale = transaction.exec_params(
        fmt::format("UPDATE alert_deliveries SET abandoned_at = {0}, "
                    "last_error = 'stale re-send: superseded by a later delivery of the same alert' "
                    "WHERE id IN (SELECT s.id FROM alert_deliveries s "
                    "WHERE s.receiver = $1 AND s.delivered_at IS NULL AND s.abandoned_at IS NULL "
                    "AND s.next_attempt_at <= {0} AND (s.payload->>'resend')::boolean "
                    "AND EXISTS (SELECT 1 FROM alert_deliveries l WHERE l.fingerprint = s.fingerprint "
                    "AND l.receiver = s.receiver AND l.id > s.id) "
                    "FOR UPDATE OF s SKIP LOCKED) RETURNING id",
                    ts_param(2)),
        receiver, now_us);
    for (const auto& row : stale)
        log::info("alert_delivery_superseded id={} receiver={}", row[0].as<std::int64_t>(), receiver);

    const auto rows = transaction.exec_params(
        fmt::format("UPDATE alert_deliveries SET next_attempt_at = {1} "
                    "WHERE id IN (SELECT d.id FROM alert_deliveries d "
                    "WHERE d.receiver = $1 AND d.delivered_at IS NULL AND d.abandoned_at IS NULL "
                    "AND d.next_attempt_at <= {0} "
                    "AND NOT EXISTS (SELECT 1 FROM alert_deliveries e WHERE e.fingerprint = d.fingerprint "
                    "AND e.receiver = d.receiver AND e.id < d.id AND e.delivered_at IS NULL "
                    "AND e.abandoned_at IS NULL) "
                    "ORDER BY d.id LIMIT $4 FOR UPDATE OF d SKIP LOCKED) "
                    "RETURNING id, receiver, attempts, payload::text",
                    ts_param(2), ts_param(3)),
        receiver, now_us, now_us + options_.lease_ms * microseconds_per_millisecond, limit);

    std::vector<std::int64_t> unreadable;
    for (const auto& row : rows) {
        ClaimedDelivery delivery;
        delivery.id = row[0].as<std::int64_t>();
        delivery.receiver = row[1].as<std::string>();
        delivery.attempts = row[2].as<int>();
        const auto payload = nlohmann::json::parse(row[3].as<std::string>(), nullptr, false);
        const auto alert = payload.is_object() && payload.contains("alert") ? alert_from_json(payload["alert"])
                                                                            : std::nullopt;
        if (!alert) {
            unreadable.push_back(delivery.id);
            continue;
        }
        delivery.resend = payload.value("resend", false);
        delivery.alert = *alert;
        claimed.push_back(std::move(delivery));
    }
    // Only this code writes payloads, so an unreadable one is a bug or a
    // hand edit; giving it up keeps it from blocking the alert's later deliveries.
    for (const auto id : unreadable) {
        transaction.exec_params0(
            fmt::format("UPDATE alert_deliveries SET abandoned_at = {}, last_error = 'payload is not an alert' "
                        "WHERE id = $1",
                        ts_param(2)),
            id, now_us);
        log::warning("alert_delivery_unreadable id={} receiver={}", id, receiver);
    }
    transaction.commit();
    std::sort(claimed.begin(), claimed.end(),
              [](const ClaimedDelivery& a, const ClaimedDelivery& b) { return a.id < b.id; });
    return claimed;
}

bool AlertOutbox::mark_delivered(pqxx::connection_base& connection, std::int64_t delivery_id, std::int64_t now_us) {
    pqxx::work transaction(connection, "mark_delivered");
    const auto rows = transaction.exec_params(
        fmt::format("UPDATE alert_deliveries SET delivered_at = {}, attempts = attempts + 1 "
                    "WHERE id = $1 AND delivered_at IS NULL RETURNING id",
                    ts_param(2)),
        delivery_id, now_us);
    transaction.commit();
    return !rows.empty();
}

FailureOutcome AlertOutbox::mark_failed(pqxx::connection_base& connection, std::int64_t delivery_id,
                                        const std::string& error, bool retryable,
                                        std::chrono::milliseconds retry_after, std::int64_t now_us) {
    pqxx::work transaction(connection, "mark_failed");
    const auto rows = transaction.exec_params(
        "SELECT d.attempts, d.fingerprint, d.receiver, a.model, coalesce(a.finding_id, 0) "
        "FROM alert_deliveries d JOIN alerts a ON a.fingerprint = d.fingerprint "
        "WHERE d.id = $1 AND d.delivered_at IS NULL AND d.abandoned_at IS NULL FOR UPDATE OF d",
        delivery_id);
    FailureOutcome outcome;
    if (rows.empty()) return outcome;
    outcome.found = true;
    const int previous_failures = rows[0][0].as<int>();
    const auto fingerprint_hex = rows[0][1].as<std::string>();
    const auto receiver = rows[0][2].as<std::string>();
    outcome.attempts = previous_failures + 1;

    if (!retryable) {
        outcome.abandoned = true;
        transaction.exec_params0(
            fmt::format("UPDATE alert_deliveries SET attempts = $2, abandoned_at = {}, last_error = $3 WHERE id = $1",
                        ts_param(4)),
            delivery_id, outcome.attempts, error, now_us);
        record_decision(transaction, rows[0][3].as<std::string>(), "alert_delivery_abandoned",
                        fmt::format("delivery {} of alert {} to receiver {} abandoned after {} attempt(s): the "
                                    "receiver refused it for good: {}",
                                    delivery_id, fingerprint_hex, receiver, outcome.attempts, error),
                        rows[0][4].as<std::int64_t>(), now_us);
        transaction.commit();
        log::warning("alert_delivery_abandoned id={} receiver={} attempts={} error=\"{}\"", delivery_id, receiver,
                     outcome.attempts, error);
        return outcome;
    }

    // Full jitter (M. Brooker, "Exponential Backoff And Jitter", AWS
    // Architecture Blog, 2015): sleep = random_between(0, min(cap, base * 2^attempt)).
    // It spreads the retries of many deliveries that failed together.
    std::uniform_int_distribution<std::int64_t> jitter(0, backoff_bound_ms(previous_failures, options_));
    const std::int64_t delay_ms = std::max<std::int64_t>(jitter(random_), retry_after.count());
    outcome.next_attempt_at_us = now_us + delay_ms * microseconds_per_millisecond;
    transaction.exec_params0(
        fmt::format("UPDATE alert_deliveries SET attempts = $2, last_error = $3, next_attempt_at = {} WHERE id = $1",
                    ts_param(4)),
        delivery_id, outcome.attempts, error, outcome.next_attempt_at_us);
    transaction.commit();
    log::warning("alert_delivery_failed id={} receiver={} attempts={} retry_in_ms={} error=\"{}\"", delivery_id,
                 receiver, outcome.attempts, delay_ms, error);
    return outcome;
}

SilenceResult add_silence(pqxx::connection_base& connection, const Silence& silence) {
    if (silence.ends_at_us <= silence.starts_at_us)
        return {std::nullopt, fmt::format("silence ends_at ({}) must be after starts_at ({})",
                                          format_rfc3339_us(silence.ends_at_us),
                                          format_rfc3339_us(silence.starts_at_us))};
    if ((silence.model && silence.model->empty()) || (silence.kind && silence.kind->empty()))
        return {std::nullopt, "silence model and kind must be omitted (match any) or non-empty"};
    pqxx::work transaction(connection, "add_silence");
    const auto row = transaction.exec_params1(
        fmt::format("INSERT INTO silences (model, kind, subject, starts_at, ends_at, created_by, comment) "
                    "VALUES ($1, $2, $3, {}, {}, $6, $7) RETURNING id",
                    ts_param(4), ts_param(5)),
        text_or_null(silence.model), text_or_null(silence.kind), text_or_null(silence.subject), silence.starts_at_us,
        silence.ends_at_us, silence.created_by, silence.comment);
    transaction.commit();
    return {row[0].as<std::int64_t>(), ""};
}

bool expire_silence(pqxx::connection_base& connection, std::int64_t silence_id, std::int64_t now_us) {
    pqxx::work transaction(connection, "expire_silence");
    // A pending silence (starts_at in the future) is moved to have ended a
    // microsecond after it started, to keep CHECK (ends_at > starts_at).
    const auto rows = transaction.exec_params(
        fmt::format("UPDATE silences SET starts_at = least(starts_at, {0} - interval '1 microsecond'), ends_at = {0} "
                    "WHERE id = $1 AND ends_at > {0} RETURNING id",
                    ts_param(2)),
        silence_id, now_us);
    transaction.commit();
    return !rows.empty();
}

std::vector<Silence> list_silences(pqxx::connection_base& connection, std::int64_t now_us, bool include_expired) {
    pqxx::read_transaction transaction(connection, "list_silences");
    const auto rows = transaction.exec_params(
        fmt::format("SELECT id, model, kind, subject, {}, {}, created_by, comment FROM silences "
                    "WHERE $1 OR ends_at > {} ORDER BY id",
                    ts_column("starts_at"), ts_column("ends_at"), ts_param(2)),
        include_expired, now_us);
    std::vector<Silence> silences;
    for (const auto& row : rows)
        silences.push_back({row[0].as<std::int64_t>(), optional_text(row[1]), optional_text(row[2]),
                            optional_text(row[3]), row[4].as<std::int64_t>(), row[5].as<std::int64_t>(),
                            row[6].as<std::string>(), row[7].as<std::string>()});
    return silences;
}

std::vector<AlertRecord> list_alerts(pqxx::connection_base& connection, const std::optional<std::string>& model) {
    pqxx::read_transaction transaction(connection, "list_alerts");
    const auto rows = transaction.exec_params(
        fmt::format("SELECT {} FROM alerts WHERE $1::text IS NULL OR model = $1 "
                    "ORDER BY state = 'firing' DESC, updated_at DESC, fingerprint",
                    alert_columns()),
        text_or_null(model));
    std::vector<AlertRecord> alerts;
    for (const auto& row : rows) alerts.push_back(read_alert(row));
    return alerts;
}

nlohmann::json to_json(const Silence& silence) {
    const auto optional_string = [](const std::optional<std::string>& text) -> nlohmann::json {
        return text ? nlohmann::json(*text) : nlohmann::json(nullptr);
    };
    return {{"id", silence.id},
            {"model", optional_string(silence.model)},
            {"kind", optional_string(silence.kind)},
            {"subject", optional_string(silence.subject)},
            {"starts_at", format_rfc3339_us(silence.starts_at_us)},
            {"ends_at", format_rfc3339_us(silence.ends_at_us)},
            {"created_by", silence.created_by},
            {"comment", silence.comment}};
}

}  // namespace mw::alerts
