#include "retrain/policy_store.h"

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/result>
#include <pqxx/transaction>

#include "core/log.h"
#include "retrain/job_queue.h"
#include "store/sql.h"

namespace mw::retrain {

using store::nullable;
using store::ts_column;
using store::ts_param;
namespace {

void lock_policy(pqxx::transaction_base& transaction) {
    transaction.exec(fmt::format("SELECT pg_advisory_xact_lock({})", policy_lock_key));
}

// The cursor row, created on first use and locked until the transaction ends.
std::int64_t lock_cursor(pqxx::transaction_base& transaction) {
    transaction.exec_params0("INSERT INTO finding_cursors (consumer) VALUES ($1) ON CONFLICT DO NOTHING",
                             policy_cursor_name);
    return transaction
        .exec_params1("SELECT last_finding_id FROM finding_cursors WHERE consumer = $1 FOR UPDATE",
                      policy_cursor_name)[0]
        .as<std::int64_t>();
}

Severity parse_severity(const std::string& text) {
    // The CHECK constraint on findings.severity admits exactly these three.
    if (text == "critical") return Severity::critical;
    if (text == "info") return Severity::info;
    return Severity::warning;
}

Finding parse_finding(const pqxx::row& row) {
    Finding finding;
    finding.model = row[1].as<std::string>();
    finding.kind = row[2].as<std::string>();
    finding.subject = row[3].as<std::string>();
    finding.method = row[4].as<std::string>();
    finding.statistic = row[5].as<double>();
    finding.threshold = row[6].as<double>();
    finding.p_value = row[7].is_null() ? -1 : row[7].as<double>();
    finding.triggered = row[8].as<bool>();
    finding.severity = parse_severity(row[9].as<std::string>());
    finding.window_start_us = row[10].as<std::int64_t>();
    finding.window_end_us = row[11].as<std::int64_t>();
    finding.evidence_json = row[12].as<std::string>();
    return finding;
}

void insert_breaker_finding(pqxx::transaction_base& transaction, const std::string& model, bool triggered,
                            int failures, int limit, const std::string& evidence_json, std::int64_t now_us) {
    transaction.exec_params0(
        "INSERT INTO findings (model, kind, subject, method, statistic, threshold, triggered, severity, "
        "window_start, window_end, evidence, created_at) VALUES ($1, 'retrain_breaker', '', 'retrain_policy', "
        "$2, $3, $4, $5, " + ts_param(6) + ", " + ts_param(6) + ", $7::jsonb, " + ts_param(6) + ")",
        model, failures, limit, triggered, std::string(triggered ? "critical" : "info"), now_us, evidence_json);
}

// Whether model $1's breaker is open: a 'breaker_opened' decision follows
// its last 'breaker_reset' (decisions in id order, so two at the same
// instant still have an order). NULL when it never opened.
constexpr const char* breaker_open_sql =
    "(SELECT max(id) FROM decisions WHERE model = $1 AND kind = 'breaker_opened') > "
    "coalesce((SELECT max(id) FROM decisions WHERE model = $1 AND kind = 'breaker_reset'), 0)";

// Everything of the state but the holds: what the jobs and the breaker say.
PolicyState load_jobs_and_breaker(pqxx::transaction_base& transaction, const std::string& model,
                                  std::int64_t now_us) {
    PolicyState state;
    state.model = model;

    for (const auto& row : transaction.exec_params(
             "SELECT id, dedup_key, state FROM retrain_jobs WHERE model = $1 AND state IN ('queued', 'running') "
             "ORDER BY id",
             model))
        state.active_jobs.push_back({row[0].as<std::int64_t>(), row[1].as<std::string>(), row[2].as<std::string>()});

    state.last_finished_us = nullable<std::int64_t>(transaction.exec_params1(
        "SELECT " + ts_column("max(finished_at)") + " FROM retrain_jobs WHERE model = $1", model)[0]);
    // What cooldown_windows counts from, and what makes a finding superseded.
    const auto windows = transaction.exec_params1(
        "SELECT coalesce((SELECT max(sequence) FROM monitor_windows WHERE model = $1 AND closed_at <= "
        "(SELECT max(finished_at) FROM retrain_jobs WHERE model = $1)), 0), "
        "(SELECT id FROM model_references WHERE model = $1 AND retired_at IS NULL)",
        model);
    state.last_window_before_finish = windows[0].as<std::int64_t>();
    state.reference_id = nullable<std::int64_t>(windows[1]);

    for (const auto& row : transaction.exec_params("SELECT " + ts_column("created_at") +
                                                       " FROM retrain_jobs WHERE model = $1 AND created_at > " +
                                                       ts_param(2) + " ORDER BY created_at",
                                                   model, now_us - budget_window_us))
        state.queued_at_us.push_back(row[0].as<std::int64_t>());

    // The breaker: decisions in id order, so two at the same instant still
    // have an order.
    const auto breaker = transaction.exec_params1(
        std::string("SELECT ") + breaker_open_sql + ", " + ts_column("(SELECT at FROM decisions WHERE model = $1 AND kind = 'breaker_reset' "
                                "ORDER BY id DESC LIMIT 1)"),
        model);
    state.breaker_open = !breaker[0].is_null() && breaker[0].as<bool>();
    const auto reset_at_us = nullable<std::int64_t>(breaker[1]);

    // Failures in a row: the latest ended jobs since the reset, newest first,
    // up to the first that did not fail. A job that succeeded and was then
    // rejected is in its final state here, so it counts as the failure it is.
    // Without a reset every job counts (0 is the epoch: no job ended before).
    for (const auto& row : transaction.exec_params(
             "SELECT state FROM retrain_jobs WHERE model = $1 AND finished_at IS NOT NULL AND finished_at > " +
                 ts_param(2) + " ORDER BY finished_at DESC, id DESC LIMIT 1000",
             model, reset_at_us.value_or(0))) {
        const auto job_state = parse_job_state(row[0].as<std::string>());
        if (!job_state || !is_failure(*job_state)) break;
        ++state.consecutive_failures;
    }

    return state;
}

// Holds: per kind and subject, the triggered findings up to `findings_up_to`
// after the last clean one and after the finding that last queued a job for
// them. One pass over the model's findings.
void load_holds(pqxx::transaction_base& transaction, PolicyState& state, std::int64_t findings_up_to) {
    for (const auto& row : transaction.exec_params(
             "WITH resets AS ("
             "  SELECT kind, subject, max(id) AS id FROM findings WHERE model = $1 AND id <= $2 AND NOT triggered"
             "  GROUP BY kind, subject"
             "  UNION ALL"
             "  SELECT f.kind, f.subject, max(f.id) FROM retrain_jobs j JOIN findings f ON f.id = j.finding_id"
             "  WHERE j.model = $1 GROUP BY f.kind, f.subject"
             "), last_reset AS (SELECT kind, subject, max(id) AS id FROM resets GROUP BY kind, subject) "
             "SELECT f.kind, f.subject, " + ts_column("min(f.window_end)") + ", count(*) FROM findings f "
             "LEFT JOIN last_reset r ON r.kind = f.kind AND r.subject = f.subject "
             "WHERE f.model = $1 AND f.id <= $2 AND f.triggered AND f.id > coalesce(r.id, 0) "
             "GROUP BY f.kind, f.subject",
             state.model, findings_up_to)) {
        const auto kind = parse_trigger_kind(row[0].as<std::string>());
        if (!kind) continue;
        state.holds[hold_key(*kind, row[1].as<std::string>())] =
            HoldRun{row[2].as<std::int64_t>(), row[3].as<int>()};
    }
}

void open_breaker(pqxx::transaction_base& transaction, const RetrainPolicyOptions& options, PolicyState& state,
                  std::int64_t now_us) {
    const std::string reason = fmt::format("breaker open after {} consecutive failures: no retraining of {} "
                                           "until reset_breaker",
                                           state.consecutive_failures, state.model);
    record_decision(transaction, state.model, "breaker_opened", reason, std::nullopt, std::nullopt, now_us);
    const nlohmann::json evidence = {{"consecutive_failures", state.consecutive_failures},
                                     {"breaker_failures", options.breaker_failures},
                                     {"reason", reason}};
    insert_breaker_finding(transaction, state.model, true, state.consecutive_failures, options.breaker_failures,
                           evidence.dump(), now_us);
    state.breaker_open = true;
    log::warning("retrain_breaker_opened model={} consecutive_failures={}", state.model,
                 state.consecutive_failures);
}

RequestResult request(pqxx::connection_base& connection, const RetrainPolicyOptions& options,
                      const std::string& model, TriggerKind kind, const std::string& reason, std::int64_t now_us) {
    pqxx::work transaction(connection, "retrain_request");
    lock_policy(transaction);
    // A request bypasses the hold, so the holds are not read.
    const PolicyState state = load_jobs_and_breaker(transaction, model, now_us);
    RequestResult result{evaluate_request(options, state, kind, now_us), std::nullopt};
    const std::string full_reason =
        reason.empty() ? result.decision.reason : fmt::format("{}: {}", result.decision.reason, reason);
    if (result.decision.verdict == Verdict::enqueue) {
        result.decision.reason = full_reason;
        result.job_id = enqueue(transaction, {model, result.decision.dedup_key, std::string(kind), full_reason,
                                              std::nullopt, std::nullopt, "{}"},
                                now_us)
                            .job_id;
    } else {
        result.job_id = result.decision.existing_job;
        record_decision(transaction, model, "retrain_skipped",
                        fmt::format("{} request refused: {}", std::string(kind), result.decision.reason), std::nullopt,
                        result.decision.existing_job, now_us);
    }
    transaction.commit();
    return result;
}

}  // namespace

PolicyState load_policy_state(pqxx::transaction_base& transaction, const std::string& model, std::int64_t now_us,
                              std::int64_t findings_up_to) {
    PolicyState state = load_jobs_and_breaker(transaction, model, now_us);
    load_holds(transaction, state, findings_up_to);
    return state;
}

PolicyState load_policy_state(pqxx::connection_base& connection, const std::string& model, std::int64_t now_us) {
    pqxx::work transaction(connection, "retrain_load_policy_state");
    const auto cursor = transaction.exec_params("SELECT last_finding_id FROM finding_cursors WHERE consumer = $1",
                                                policy_cursor_name);
    const std::int64_t findings_up_to = cursor.empty() ? 0 : cursor[0][0].as<std::int64_t>();
    PolicyState state = load_policy_state(transaction, model, now_us, findings_up_to);
    transaction.commit();
    return state;
}

FindingsProcessed process_findings(pqxx::connection_base& connection,
                               const std::map<std::string, RetrainPolicyOptions>& options_by_model,
                               std::int64_t now_us, int batch_limit) {
    pqxx::work transaction(connection, "retrain_process_findings");
    lock_policy(transaction);
    FindingsProcessed result;
    const std::int64_t cursor = lock_cursor(transaction);
    result.cursor = cursor;

    // Every configured model's jobs and breaker (for the breaker check); the
    // holds, which read the model's findings, only for models in this batch.
    std::map<std::string, PolicyState> states;
    std::set<std::string> holds_loaded;
    for (const auto& [model, options] : options_by_model) {
        PolicyState& state = states[model] = load_jobs_and_breaker(transaction, model, now_us);
        if (breaker_should_open(options, state)) {
            open_breaker(transaction, options, state, now_us);
            ++result.breakers_opened;
        }
    }

    const auto rows = transaction.exec_params(
        "SELECT f.id, f.model, f.kind, f.subject, f.method, f.statistic, f.threshold, f.p_value, f.triggered, "
        "f.severity, " + ts_column("f.window_start") + ", " + ts_column("f.window_end") +
            ", f.evidence::text, w.sequence, w.reference_id FROM findings f "
            "LEFT JOIN monitor_windows w ON w.id = f.window_id WHERE f.id > $1 ORDER BY f.id LIMIT $2",
        cursor, batch_limit);
    for (const auto& row : rows) {
        ++result.findings;
        result.cursor = row[0].as<std::int64_t>();
        const auto options = options_by_model.find(row[1].as<std::string>());
        if (options == options_by_model.end()) continue;
        const Finding finding = parse_finding(row);
        PolicyState& state = states.at(finding.model);
        if (holds_loaded.insert(finding.model).second) load_holds(transaction, state, cursor);
        observe(state, options->second, finding);
        std::optional<FindingWindow> window;
        if (!row[13].is_null() && !row[14].is_null())
            window = FindingWindow{row[13].as<std::int64_t>(), row[14].as<std::int64_t>()};
        const Decision decision = evaluate(options->second, state, finding, now_us, window);
        if (decision.verdict == Verdict::ignore) continue;
        if (decision.verdict == Verdict::skip) {
            ++(decision.existing_job ? result.duplicates : result.skipped);
            record_decision(transaction, finding.model, "retrain_skipped", decision.reason, result.cursor,
                            decision.existing_job, now_us);
            continue;
        }
        const nlohmann::json context = {{"finding_id", result.cursor},
                                        {"finding_kind", finding.kind},
                                        {"subject", finding.subject},
                                        {"window_start_us", finding.window_start_us},
                                        {"window_end_us", finding.window_end_us}};
        const auto queued = enqueue(transaction,
                                    {finding.model, decision.dedup_key, std::string(*decision.trigger), decision.reason,
                                     result.cursor, std::nullopt, context.dump()},
                                    now_us);
        if (queued.created) {
            ++result.queued;
            record_enqueued(state, decision, finding.subject, queued.job_id, now_us);
        } else {
            ++result.duplicates;
        }
    }
    transaction.exec_params0("UPDATE finding_cursors SET last_finding_id = $2 WHERE consumer = $1",
                             policy_cursor_name, result.cursor);
    transaction.commit();
    if (result.queued > 0 || result.breakers_opened > 0)
        log::info("retrain_policy_ran findings={} queued={} skipped={} duplicates={} breakers_opened={}",
                  result.findings, result.queued, result.skipped, result.duplicates, result.breakers_opened);
    return result;
}

RequestResult request_manual(pqxx::connection_base& connection, const RetrainPolicyOptions& options,
                             const std::string& model, const std::string& reason, std::int64_t now_us) {
    return request(connection, options, model, manual_trigger, reason, now_us);
}

RequestResult request_scheduled(pqxx::connection_base& connection, const RetrainPolicyOptions& options,
                                const std::string& model, std::int64_t now_us) {
    return request(connection, options, model, schedule_trigger, "", now_us);
}

bool breaker_open(pqxx::connection_base& connection, const std::string& model) {
    pqxx::read_transaction transaction(connection, "retrain_breaker_open");
    const auto open = transaction.exec_params1(std::string("SELECT ") + breaker_open_sql, model)[0];
    return !open.is_null() && open.as<bool>();
}

bool reset_breaker(pqxx::connection_base& connection, const std::string& model, const std::string& reason,
                   std::int64_t now_us) {
    pqxx::work transaction(connection, "retrain_reset_breaker");
    lock_policy(transaction);
    const PolicyState state = load_jobs_and_breaker(transaction, model, now_us);
    record_decision(transaction, model, "breaker_reset", reason, std::nullopt, std::nullopt, now_us);
    if (state.breaker_open) {
        const nlohmann::json evidence = {{"reason", reason}};
        insert_breaker_finding(transaction, model, false, state.consecutive_failures, 0, evidence.dump(), now_us);
    }
    transaction.commit();
    log::notice("retrain_breaker_reset model={} was_open={} reason=\"{}\"", model, state.breaker_open, reason);
    return state.breaker_open;
}

}  // namespace mw::retrain
