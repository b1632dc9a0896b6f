#include "alerts/outbox.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/result>
#include <pqxx/transaction>

#include "alerts/fingerprint.h"
#include "core/log.h"
#include "core/time.h"
#include "store/leases.h"
#include "store/sql.h"

namespace mw::alerts {
namespace {

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

// The alert's new state, decided under `fence` (recorded with it).
void upsert_alert(pqxx::work& transaction, const AlertRecord& record, const store::Fence& fence) {
    const std::optional<std::string> resolved_at =
        record.resolved_at_us ? std::optional(std::to_string(*record.resolved_at_us)) : std::nullopt;
    const std::optional<std::string> last_sent_at =
        record.last_sent_at_us ? std::optional(std::to_string(*record.last_sent_at_us)) : std::nullopt;
    transaction.exec_params0(
        fmt::format("INSERT INTO alerts (fingerprint, model, kind, subject, severity, state, finding_id, summary, "
                    "description, started_at, resolved_at, last_sent_at, updated_at, lease_owner, lease_epoch) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {}, {}, {}, {}, $14, $15) "
                    "ON CONFLICT (fingerprint) DO UPDATE SET severity = excluded.severity, state = excluded.state, "
                    "finding_id = excluded.finding_id, summary = excluded.summary, "
                    "description = excluded.description, started_at = excluded.started_at, "
                    "resolved_at = excluded.resolved_at, last_sent_at = excluded.last_sent_at, "
                    "updated_at = excluded.updated_at, lease_owner = excluded.lease_owner, "
                    "lease_epoch = excluded.lease_epoch",
                    ts_param(10), ts_param(11), ts_param(12), ts_param(13)),
        record.fingerprint, record.model, record.kind, record.subject, std::string(to_string(record.severity)),
        std::string(to_string(record.state)), record.finding_id, record.summary, record.description,
        record.started_at_us, text_or_null(resolved_at), text_or_null(last_sent_at), record.updated_at_us,
        fence.owner, fence.epoch);
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

// Inserts one delivery per receiver, all due now, decided under `fence`; returns how many.
std::size_t enqueue(pqxx::work& transaction, const AlertRecord& record, const std::vector<std::string>& receivers,
                    bool resend, const AlertRoutingOptions& routing, const store::Fence& fence, std::int64_t now_us) {
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
                        "next_attempt_at, lease_owner, lease_epoch) VALUES ($1, $2, $3, $4::jsonb, {0}, {0}, $6, $7)",
                        ts_param(5)),
            record.fingerprint, receiver, std::string(to_string(record.state)), payload_text, now_us, fence.owner,
            fence.epoch);
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
               const store::Fence& fence, std::int64_t now_us) {
    const Finding& finding = stored.finding;
    if (!routing.alerting_kinds.contains(finding.kind)) return;
    const auto current =
        select_alert_for_update(transaction, fingerprint(finding.model, finding.kind, finding.subject));
    // Findings are routed in id order of those committed; one that committed
    // after a later finding of the same alert was routed (two writers of one
    // alert's kind, e.g. a manual and a scheduled audit) is older news.
    if (current && stored.id < current->finding_id) return;
    int clean = 0;
    if (!finding.triggered && current && current->state == AlertState::firing)
        clean = clean_windows(transaction, finding, stored.id, routing.resolve_after_clean_windows);
    const RoutingStep step = route_finding(stored, current, clean, routing, now_us);
    if (!step.alert) return;
    AlertRecord next = *step.alert;
    if (!step.state_changed) {
        upsert_alert(transaction, next, fence);
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
    upsert_alert(transaction, next, fence);
    if (notify) enqueue(transaction, next, receivers_for(next.severity, routing), false, routing, fence, now_us);
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
                                            const store::HeldLeases& leases, std::int64_t now_us) {
    if (leases.epochs.empty()) return 0;
    std::vector<std::string> models;
    {
        pqxx::read_transaction look(connection, "unrouted_models");
        for (const auto& row : look.exec_params(
                 "SELECT DISTINCT model FROM findings WHERE NOT alert_routed AND model = ANY($1::text[])",
                 store::text_array(leases.models())))
            models.push_back(row[0].as<std::string>());
    }
    std::size_t routed = 0;
    const auto steady_now = options_.steady_clock();
    const auto wait = std::chrono::milliseconds(options_.root_cause_wait_ms);
    std::map<std::string, std::pair<std::int64_t, std::chrono::steady_clock::time_point>> still_held;
    for (const auto& model : models) {
        const auto fence = *leases.fence(model);
        try {
            pqxx::work transaction(connection, "route_new_findings");
            store::check_fence(transaction, model, fence);
            // `held`: a ranking still pending, within its wait by the database's clock.
            const auto rows = transaction.exec_params(
                fmt::format("SELECT id, model, kind, subject, method, statistic, threshold, p_value, triggered, "
                            "severity, {} AS window_start_us, {} AS window_end_us, evidence::text AS evidence, "
                            "coalesce(jsonb_typeof(evidence->'root_cause') = 'object' AND evidence->'root_cause' ? "
                            "'pending' AND created_at > now() - $3 * interval '1 millisecond', false) AS held "
                            "FROM findings WHERE model = $1 AND NOT alert_routed ORDER BY id LIMIT $2",
                            ts_column("window_start"), ts_column("window_end")),
                model, options_.findings_per_call, options_.root_cause_wait_ms);
            std::vector<std::string> ids;
            for (const auto& row : rows) {
                // In id order: the ones after a held finding wait with it.
                if (row["held"].as<bool>()) {
                    const auto id = row["id"].as<std::int64_t>();
                    const auto known = held_since_.find(model);
                    const auto since = known != held_since_.end() && known->second.first == id ? known->second.second
                                                                                               : steady_now;
                    if (steady_now - since < wait) {
                        still_held[model] = {id, since};
                        log::debug("alert_router_held model={} finding={} reason=\"root cause pending\"", model, id);
                        break;
                    }
                    log::warning("alert_router_hold_ended model={} finding={} held_ms={} reason=\"held for the whole "
                                 "wait by this process's clock while the database's clock says less: its wall "
                                 "clock went back\"",
                                 model, id, std::chrono::duration_cast<std::chrono::milliseconds>(steady_now - since).count());
                }
                route_one(transaction, read_finding(row), routing, fence, now_us);
                ids.push_back(row["id"].c_str());
            }
            transaction.exec_params0("UPDATE findings SET alert_routed = true WHERE id = ANY($1::bigint[])",
                                     store::text_array(ids));
            transaction.commit();
            routed += ids.size();
            if (!ids.empty())
                log::debug("alert_router_routed model={} findings={} epoch={}", model, ids.size(), fence.epoch);
        } catch (const store::LeaseLost& lost) {
            fenced_.push_back(lost.what());
        }
    }
    // A model no longer held (routed, or no longer this daemon's) is forgotten.
    held_since_ = std::move(still_held);
    return routed;
}

std::size_t AlertOutbox::enqueue_resends(pqxx::connection_base& connection, const AlertRoutingOptions& routing,
                                         const store::HeldLeases& leases, std::int64_t now_us) {
    if (leases.epochs.empty()) return 0;
    const std::int64_t due_before_us = now_us - routing.resend_interval_seconds * microseconds_per_second;
    const std::string due = fmt::format("state = 'firing' AND (last_sent_at IS NULL OR last_sent_at <= {})",
                                        ts_param(1));
    std::vector<std::string> models;
    {
        pqxx::read_transaction look(connection, "resend_models");
        for (const auto& row : look.exec_params(
                 fmt::format("SELECT DISTINCT model FROM alerts WHERE {} AND model = ANY($2::text[])", due),
                 due_before_us, store::text_array(leases.models())))
            models.push_back(row[0].as<std::string>());
    }
    std::size_t enqueued = 0;
    for (const auto& model : models) {
        const auto fence = *leases.fence(model);
        try {
            pqxx::work transaction(connection, "enqueue_resends");
            store::check_fence(transaction, model, fence);
            const auto rows = transaction.exec_params(
                fmt::format("SELECT {} FROM alerts WHERE {} AND model = $2 ORDER BY fingerprint FOR UPDATE",
                            alert_columns(), due),
                due_before_us, model);
            std::size_t model_enqueued = 0;
            for (const auto& row : rows) {
                AlertRecord record = read_alert(row);
                if (active_silence(transaction, record, now_us)) continue;
                if (record.last_sent_at_us) {
                    std::vector<std::string> resend_receivers;
                    for (const auto& receiver : receivers_for(record.severity, routing))
                        if (wants_resend(receiver, routing)) resend_receivers.push_back(receiver);
                    model_enqueued += enqueue(transaction, record, resend_receivers, true, routing, fence, now_us);
                } else {
                    model_enqueued += enqueue(transaction, record, receivers_for(record.severity, routing), false,
                                              routing, fence, now_us);
                }
                // Also when no receiver wanted a re-send: the alert is then not
                // looked at again before the next interval.
                transaction.exec_params0(
                    fmt::format("UPDATE alerts SET last_sent_at = {}, lease_owner = $3, lease_epoch = $4 "
                                "WHERE fingerprint = $1",
                                ts_param(2)),
                    record.fingerprint, now_us, fence.owner, fence.epoch);
            }
            transaction.commit();
            enqueued += model_enqueued;
        } catch (const store::LeaseLost& lost) {
            fenced_.push_back(lost.what());
        }
    }
    return enqueued;
}

std::vector<ClaimedDelivery> AlertOutbox::claim_due(pqxx::connection_base& connection, const std::string& receiver,
                                                    const store::HeldLeases& leases, int limit,
                                                    std::int64_t now_us) {
    std::vector<ClaimedDelivery> claimed;
    if (limit <= 0 || leases.epochs.empty()) return claimed;
    std::vector<std::string> epochs;
    for (const auto& [model, epoch] : leases.epochs) epochs.push_back(std::to_string(epoch));
    // The deliveries of the models whose leases the caller holds now, with
    // the lease rows locked FOR SHARE until commit: a takeover (an UPDATE of
    // the row) cannot commit in between. SKIP LOCKED on both: a delivery
    // another worker is claiming, or a lease row a heartbeat is renewing
    // right now, is looked at next time (and no lock order can deadlock).
    const std::string held =
        "FROM alert_deliveries d JOIN alerts a ON a.fingerprint = d.fingerprint "
        "JOIN model_leases l ON l.model = a.model COLLATE \"C\" "
        "JOIN unnest($2::text[], $3::bigint[]) AS h (model, epoch) ON h.model COLLATE \"C\" = l.model "
        "AND h.epoch = l.epoch "
        "WHERE d.receiver = $1 AND d.delivered_at IS NULL AND d.abandoned_at IS NULL "
        "AND l.owner = $4 AND l.expires_at > clock_timestamp()";
    const std::string lock = "FOR UPDATE OF d SKIP LOCKED FOR SHARE OF l SKIP LOCKED";
    const auto models = store::text_array(leases.models());
    const auto epoch_list = store::text_array(epochs);
    pqxx::work transaction(connection, "claim_due");

    // Claimed under an earlier lease of the model, with no outcome: its
    // claimer was killed or paused between the claim and recording what the
    // receiver said, so it may have been sent. Never sent again by another
    // lease (a state change goes out at most once across failovers).
    const auto in_doubt = transaction.exec_params(
        fmt::format("UPDATE alert_deliveries u SET abandoned_at = {0}, "
                    "last_error = 'in doubt: claimed under lease epoch ' || u.claim_epoch || ' of ' || "
                    "u.claimed_by || ', which ended before the outcome was recorded' "
                    "FROM (SELECT d.id, a.model, coalesce(a.finding_id, 0) AS finding_id {1} "
                    "AND d.claimed_by IS NOT NULL AND (d.claimed_by, d.claim_epoch) IS DISTINCT FROM (l.owner, l.epoch) "
                    "{2}) c WHERE u.id = c.id "
                    "RETURNING u.id, u.fingerprint, u.claimed_by, u.claim_epoch, c.model, c.finding_id",
                    ts_param(5), held, lock),
        receiver, models, epoch_list, leases.owner, now_us);
    for (const auto& row : in_doubt) {
        const auto id = row[0].as<std::int64_t>();
        record_decision(transaction, row[4].as<std::string>(), "alert_delivery_in_doubt",
                        fmt::format("delivery {} of alert {} to receiver {} not sent again: it was claimed under "
                                    "lease epoch {} of {}, which ended before the outcome was recorded, so it "
                                    "may have reached the receiver",
                                    id, row[1].c_str(), receiver, row[3].as<std::int64_t>(), row[2].c_str()),
                        row[5].as<std::int64_t>(), now_us);
        log::warning("alert_delivery_in_doubt id={} receiver={} claimed_by={} claim_epoch={}", id, receiver,
                     row[2].c_str(), row[3].as<std::int64_t>());
    }

    // Only due re-sends: one whose lease is running is being delivered, and
    // abandoning it would let a later resolved overtake it.
    const auto stale = transaction.exec_params(
        fmt::format("UPDATE alert_deliveries SET abandoned_at = {0}, "
                    "last_error = 'stale re-send: superseded by a later delivery of the same alert' "
                    "WHERE id IN (SELECT d.id {1} "
                    "AND d.next_attempt_at <= {0} AND (d.payload->>'resend')::boolean "
                    "AND EXISTS (SELECT 1 FROM alert_deliveries e WHERE e.fingerprint = d.fingerprint "
                    "AND e.receiver = d.receiver AND e.id > d.id) {2}) RETURNING id",
                    ts_param(5), held, lock),
        receiver, models, epoch_list, leases.owner, now_us);
    for (const auto& row : stale)
        log::info("alert_delivery_superseded id={} receiver={}", row[0].as<std::int64_t>(), receiver);

    // Unclaimed, or claimed under this very lease earlier with no outcome
    // (its connection broke after the send): this lease's own retry.
    const auto rows = transaction.exec_params(
        fmt::format("UPDATE alert_deliveries u SET next_attempt_at = {1}, claimed_by = c.owner, "
                    "claim_epoch = c.epoch "
                    "FROM (SELECT d.id, a.model, l.owner, l.epoch {2} AND d.next_attempt_at <= {0} "
                    "AND (d.claimed_by IS NULL OR (d.claimed_by = l.owner AND d.claim_epoch = l.epoch)) "
                    "AND NOT EXISTS (SELECT 1 FROM alert_deliveries e WHERE e.fingerprint = d.fingerprint "
                    "AND e.receiver = d.receiver AND e.id < d.id AND e.delivered_at IS NULL "
                    "AND e.abandoned_at IS NULL) "
                    "ORDER BY d.id LIMIT $7 {3}) c WHERE u.id = c.id "
                    "RETURNING u.id, u.receiver, u.attempts, u.payload::text, c.model, c.epoch",
                    ts_param(5), ts_param(6), held, lock),
        receiver, models, epoch_list, leases.owner, now_us,
        now_us + options_.lease_ms * microseconds_per_millisecond, limit);

    std::vector<std::int64_t> unreadable;
    for (const auto& row : rows) {
        ClaimedDelivery delivery;
        delivery.id = row[0].as<std::int64_t>();
        delivery.receiver = row[1].as<std::string>();
        delivery.attempts = row[2].as<int>();
        delivery.model = row[4].as<std::string>();
        delivery.claimed_under = {leases.owner, row[5].as<std::int64_t>()};
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

bool AlertOutbox::release_claim(pqxx::connection_base& connection, const ClaimedDelivery& delivery,
                                std::int64_t now_us) {
    pqxx::work transaction(connection, "release_claim");
    const auto rows = transaction.exec_params(
        fmt::format("UPDATE alert_deliveries SET claimed_by = NULL, claim_epoch = NULL, next_attempt_at = {} "
                    "WHERE id = $1 AND delivered_at IS NULL AND abandoned_at IS NULL AND claimed_by = $3 "
                    "AND claim_epoch = $4 RETURNING id",
                    ts_param(2)),
        delivery.id, now_us, delivery.claimed_under.owner, delivery.claimed_under.epoch);
    transaction.commit();
    return !rows.empty();
}

std::vector<std::string> AlertOutbox::take_fenced() { return std::exchange(fenced_, {}); }

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
        fmt::format("UPDATE alert_deliveries SET attempts = $2, last_error = $3, next_attempt_at = {}, "
                    "claimed_by = NULL, claim_epoch = NULL WHERE id = $1",
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
