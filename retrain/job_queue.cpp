#include "retrain/job_queue.h"

#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <pqxx/result>

#include "core/log.h"
#include "core/time.h"
#include "store/sql.h"

namespace mw::retrain {

using store::nullable;
using store::ts_column;
using store::ts_param;
namespace {

// pg_advisory_xact_lock key that serialises claims across daemons, so the
// count of running jobs and the claim that follows it are one step: an
// arbitrary constant ("mwclaim!" in ASCII) no other modelwatch lock uses.
constexpr long long claim_lock_key = 0x6d77636c61696d21;

const std::string job_columns = fmt::format(
    "id, model, dedup_key, trigger, reason, finding_id, state, champion_version, challenger_version, "
    "context::text, report::text, output, claimed_by, {}, {}, {}, {}",
    ts_column("created_at"), ts_column("started_at"), ts_column("finished_at"), ts_column("promoted_at"));

Job parse_job(const pqxx::row& row) {
    Job job;
    job.id = row[0].as<std::int64_t>();
    job.model = row[1].as<std::string>();
    job.dedup_key = row[2].as<std::string>();
    job.trigger = row[3].as<std::string>();
    job.reason = row[4].as<std::string>();
    job.finding_id = nullable<std::int64_t>(row[5]);
    const auto state = parse_job_state(row[6].as<std::string>());
    // The CHECK constraint on retrain_jobs.state admits only the names parse_job_state knows.
    if (!state) throw std::logic_error(fmt::format("retrain_jobs.state '{}' is unknown", row[6].c_str()));
    job.state = *state;
    job.champion_version = nullable<std::string>(row[7]);
    job.challenger_version = nullable<std::string>(row[8]);
    job.context_json = row[9].as<std::string>();
    job.report_json = nullable<std::string>(row[10]);
    job.output = row[11].as<std::string>();
    job.claimed_by = nullable<std::string>(row[12]);
    job.created_at_us = row[13].as<std::int64_t>();
    job.started_at_us = nullable<std::int64_t>(row[14]);
    job.finished_at_us = nullable<std::int64_t>(row[15]);
    job.promoted_at_us = nullable<std::int64_t>(row[16]);
    return job;
}

// libpqxx 6.4 has no std::optional parameters: a null const char* is SQL NULL.
const char* or_null(const std::optional<std::string>& value) { return value ? value->c_str() : nullptr; }
std::optional<std::string> text_of(std::optional<std::int64_t> value) {
    return value ? std::optional<std::string>(std::to_string(*value)) : std::nullopt;
}

void record_transition(pqxx::transaction_base& transaction, std::int64_t job_id, std::optional<JobState> from,
                       JobState to, const std::string& reason, std::int64_t now_us) {
    const std::optional<std::string> from_name =
        from ? std::optional<std::string>(to_string(*from)) : std::nullopt;
    transaction.exec_params0(
        "INSERT INTO retrain_transitions (job_id, from_state, to_state, reason, at) VALUES ($1, $2, $3, $4, " +
            ts_param(5) + ")",
        job_id, or_null(from_name), std::string(to_string(to)), reason, now_us);
}

std::string legal_targets(JobState from) {
    std::string names;
    for (int i = 0; i <= static_cast<int>(JobState::rolled_back); ++i) {
        const auto to = static_cast<JobState>(i);
        if (!is_legal_transition(from, to)) continue;
        if (!names.empty()) names += " or ";
        names += to_string(to);
    }
    return names.empty() ? fmt::format("{} is final", to_string(from))
                         : fmt::format("from {} it can go to {}", to_string(from), names);
}

nlohmann::json json_or_null(const std::optional<std::string>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}
nlohmann::json time_or_null(const std::optional<std::int64_t>& us) {
    return us ? nlohmann::json(format_rfc3339_us(*us)) : nlohmann::json(nullptr);
}
// Stored JSON is written by this code or checked by PostgreSQL's jsonb input,
// so it parses; a parse failure would be a bug, hence no exception handling.
nlohmann::json object_or_null(const std::optional<std::string>& text) {
    return text ? nlohmann::json::parse(*text) : nlohmann::json(nullptr);
}

}  // namespace

void record_decision(pqxx::transaction_base& transaction, const std::string& model, const std::string& kind,
                     const std::string& reason, std::optional<std::int64_t> finding_id,
                     std::optional<std::int64_t> job_id, std::int64_t now_us) {
    const auto finding_text = text_of(finding_id);
    const auto job_text = text_of(job_id);
    transaction.exec_params0("INSERT INTO decisions (model, kind, reason, finding_id, job_id, at) "
                             "VALUES ($1, $2, $3, $4::bigint, $5::bigint, " + ts_param(6) + ")",
                             model, kind, reason, or_null(finding_text), or_null(job_text), now_us);
}

EnqueueResult enqueue(pqxx::transaction_base& transaction, const JobRequest& request, std::int64_t now_us) {
    const auto finding_text = text_of(request.finding_id);
    // The insert and the look-up of the job it collided with are two
    // statements: the colliding job may end in between, so try again (the
    // next insert then succeeds). Two rounds suffice unless jobs with this
    // key start and end faster than two statements run.
    for (int attempt = 0; attempt < 3; ++attempt) {
        const auto inserted = transaction.exec_params(
            "INSERT INTO retrain_jobs (model, dedup_key, trigger, reason, finding_id, state, champion_version, "
            "context, created_at) VALUES ($1, $2, $3, $4, $5::bigint, 'queued', $6, $7::jsonb, " + ts_param(8) +
                ") ON CONFLICT DO NOTHING RETURNING id",
            request.model, request.dedup_key, request.trigger, request.reason, or_null(finding_text),
            or_null(request.champion_version), request.context_json, now_us);
        if (!inserted.empty()) {
            const auto job_id = inserted[0][0].as<std::int64_t>();
            record_transition(transaction, job_id, std::nullopt, JobState::queued, request.reason, now_us);
            record_decision(transaction, request.model, "retrain_queued", request.reason, request.finding_id,
                            job_id, now_us);
            log::notice("retrain_queued model={} job={} key={} reason=\"{}\"", request.model, job_id,
                        request.dedup_key, request.reason);
            return {job_id, true};
        }
        const auto existing = transaction.exec_params(
            "SELECT id, state FROM retrain_jobs WHERE model = $1 AND dedup_key = $2 AND state IN ('queued', 'running')",
            request.model, request.dedup_key);
        if (existing.empty()) continue;
        const auto job_id = existing[0][0].as<std::int64_t>();
        record_decision(transaction, request.model, "retrain_duplicate",
                        fmt::format("duplicate: job {} with key {} is {} ({})", job_id, request.dedup_key,
                                    existing[0][1].c_str(), request.reason),
                        request.finding_id, job_id, now_us);
        return {job_id, false};
    }
    throw std::runtime_error(fmt::format("retrain job key {} of model {} kept colliding with jobs that ended",
                                         request.dedup_key, request.model));
}

EnqueueResult enqueue(pqxx::connection_base& connection, const JobRequest& request, std::int64_t now_us) {
    pqxx::work transaction(connection, "retrain_enqueue");
    const auto result = enqueue(transaction, request, now_us);
    transaction.commit();
    return result;
}

std::optional<Job> claim_next(pqxx::connection_base& connection, const std::string& worker_name, int max_concurrent,
                              std::int64_t now_us) {
    pqxx::work transaction(connection, "retrain_claim");
    // Each statement after the lock sees every claim committed before it
    // (READ COMMITTED takes a snapshot per statement), so the count is exact.
    transaction.exec(fmt::format("SELECT pg_advisory_xact_lock({})", claim_lock_key));
    const auto running = transaction.exec1("SELECT count(*) FROM retrain_jobs WHERE state = 'running'")[0].as<long long>();
    if (running >= max_concurrent) {
        transaction.commit();
        return std::nullopt;
    }
    const auto next = transaction.exec(
        "SELECT id FROM retrain_jobs WHERE state = 'queued' ORDER BY created_at, id FOR UPDATE SKIP LOCKED LIMIT 1");
    if (next.empty()) {
        transaction.commit();
        return std::nullopt;
    }
    const auto job_id = next[0][0].as<std::int64_t>();
    const auto row = transaction.exec_params1("UPDATE retrain_jobs SET state = 'running', started_at = " + ts_param(2) +
                                                  ", claimed_by = $3 WHERE id = $1 RETURNING " + job_columns,
                                              job_id, now_us, worker_name);
    record_transition(transaction, job_id, JobState::queued, JobState::running,
                      fmt::format("claimed by {}", worker_name), now_us);
    Job job = parse_job(row);
    transaction.commit();
    log::info("retrain_claimed job={} model={} worker={}", job.id, job.model, worker_name);
    return job;
}

TransitionResult transition(pqxx::connection_base& connection, std::int64_t job_id, JobState to_state,
                            const std::string& reason, std::int64_t now_us, const TransitionFields& fields) {
    pqxx::work transaction(connection, "retrain_transition");
    const auto current = transaction.exec_params("SELECT state FROM retrain_jobs WHERE id = $1 FOR UPDATE", job_id);
    TransitionResult result;
    if (current.empty()) {
        result.error = fmt::format("there is no retraining job {}", job_id);
        return result;
    }
    const JobState from_state = *parse_job_state(current[0][0].as<std::string>());
    if (!is_legal_transition(from_state, to_state)) {
        result.error = fmt::format("job {} cannot go from {} to {} ({})", job_id, to_string(from_state),
                                   to_string(to_state), legal_targets(from_state));
        return result;
    }
    const bool ends_run =
        to_state == JobState::succeeded || to_state == JobState::failed || to_state == JobState::timed_out;
    const auto row = transaction.exec_params1(
        "UPDATE retrain_jobs SET state = $2, "
        "finished_at = CASE WHEN $3::boolean THEN " + ts_param(4) + " ELSE finished_at END, "
        "promoted_at = CASE WHEN $2 = 'promoted' THEN " + ts_param(4) + " ELSE promoted_at END, "
        "challenger_version = coalesce($5, challenger_version), report = coalesce($6::jsonb, report), "
        "output = coalesce($7, output) WHERE id = $1 RETURNING " + job_columns,
        job_id, std::string(to_string(to_state)), ends_run, now_us, or_null(fields.challenger_version),
        or_null(fields.report_json), or_null(fields.output));
    record_transition(transaction, job_id, from_state, to_state, reason, now_us);
    result.job = parse_job(row);
    if (fields.in_transaction) fields.in_transaction(transaction);
    transaction.commit();
    result.ok = true;
    log::notice("retrain_transition job={} model={} from={} to={} reason=\"{}\"", job_id, result.job.model,
                to_string(from_state), to_string(to_state), reason);
    return result;
}

std::vector<std::int64_t> fail_stale(pqxx::connection_base& connection, std::int64_t started_before_us,
                                     std::int64_t now_us) {
    pqxx::work transaction(connection, "retrain_fail_stale");
    const auto rows = transaction.exec_params(
        "WITH failed AS (UPDATE retrain_jobs SET state = 'failed', finished_at = " + ts_param(2) +
            " WHERE state = 'running' AND started_at < " + ts_param(1) + " RETURNING id) "
            "INSERT INTO retrain_transitions (job_id, from_state, to_state, reason, at) "
            "SELECT id, 'running', 'failed', 'daemon died while running', " + ts_param(2) +
            " FROM failed RETURNING job_id",
        started_before_us, now_us);
    transaction.commit();
    std::vector<std::int64_t> ids;
    for (const auto& row : rows) {
        ids.push_back(row[0].as<std::int64_t>());
        log::warning("retrain_job_abandoned job={} reason=\"daemon died while running\"", ids.back());
    }
    return ids;
}

std::vector<std::int64_t> fail_orphaned(pqxx::connection_base& connection, const std::vector<std::string>& models,
                                        std::chrono::milliseconds lease, const std::optional<std::string>& self,
                                        std::int64_t now_us) {
    if (models.empty()) return {};
    pqxx::work transaction(connection, "retrain_fail_orphaned");
    const auto rows = transaction.exec_params(
        "WITH failed AS (UPDATE retrain_jobs j SET state = 'failed', finished_at = " + ts_param(4) +
            " WHERE j.state = 'running' AND j.model = ANY($1::text[]) AND (j.claimed_by = $3 OR ("
            "j.started_at < " + ts_param(5) + " AND NOT EXISTS (SELECT 1 FROM daemons d WHERE d.id = j.claimed_by "
            "AND d.heartbeat_at > clock_timestamp() - $2::bigint * interval '1 millisecond'))) "
            "RETURNING j.id, j.claimed_by) "
            "INSERT INTO retrain_transitions (job_id, from_state, to_state, reason, at) "
            "SELECT id, 'running', 'failed', 'its daemon ' || coalesce(claimed_by, '(none)') || "
            "' stopped heartbeating while it ran', " + ts_param(4) + " FROM failed RETURNING job_id",
        store::text_array(models), static_cast<std::int64_t>(lease.count()), self, now_us,
        now_us - lease.count() * 1000);
    transaction.commit();
    std::vector<std::int64_t> ids;
    for (const auto& row : rows) {
        ids.push_back(row[0].as<std::int64_t>());
        log::warning("retrain_job_abandoned job={} reason=\"its daemon stopped heartbeating while it ran\"",
                     ids.back());
    }
    return ids;
}

std::vector<Job> list_jobs(pqxx::connection_base& connection, const std::string& model, int limit) {
    pqxx::read_transaction transaction(connection, "retrain_list_jobs");
    const auto rows = transaction.exec_params("SELECT " + job_columns +
                                                  " FROM retrain_jobs WHERE ($1 = '' OR model = $1) "
                                                  "ORDER BY created_at DESC, id DESC LIMIT $2",
                                              model, limit);
    std::vector<Job> jobs;
    for (const auto& row : rows) jobs.push_back(parse_job(row));
    return jobs;
}

std::optional<JobDetail> get_job(pqxx::connection_base& connection, std::int64_t job_id) {
    pqxx::read_transaction transaction(connection, "retrain_get_job");
    const auto rows =
        transaction.exec_params("SELECT " + job_columns + " FROM retrain_jobs WHERE id = $1", job_id);
    if (rows.empty()) return std::nullopt;
    JobDetail detail{parse_job(rows[0]), {}};
    const auto transitions = transaction.exec_params(
        "SELECT id, from_state, to_state, reason, " + ts_column("at") +
            " FROM retrain_transitions WHERE job_id = $1 ORDER BY id",
        job_id);
    for (const auto& row : transitions) {
        Transition step;
        step.id = row[0].as<std::int64_t>();
        if (!row[1].is_null()) step.from_state = parse_job_state(row[1].as<std::string>());
        step.to_state = *parse_job_state(row[2].as<std::string>());
        step.reason = row[3].as<std::string>();
        step.at_us = row[4].as<std::int64_t>();
        detail.transitions.push_back(std::move(step));
    }
    return detail;
}

nlohmann::json to_json(const Job& job) {
    return {
        {"id", job.id},
        {"model", job.model},
        {"dedup_key", job.dedup_key},
        {"trigger", job.trigger},
        {"reason", job.reason},
        {"finding_id", job.finding_id ? nlohmann::json(*job.finding_id) : nlohmann::json(nullptr)},
        {"state", to_string(job.state)},
        {"champion_version", json_or_null(job.champion_version)},
        {"challenger_version", json_or_null(job.challenger_version)},
        {"context", nlohmann::json::parse(job.context_json)},
        {"report", object_or_null(job.report_json)},
        {"output", job.output},
        {"claimed_by", json_or_null(job.claimed_by)},
        {"created_at", format_rfc3339_us(job.created_at_us)},
        {"started_at", time_or_null(job.started_at_us)},
        {"finished_at", time_or_null(job.finished_at_us)},
        {"promoted_at", time_or_null(job.promoted_at_us)},
    };
}

nlohmann::json to_json(const JobDetail& detail) {
    nlohmann::json json = to_json(detail.job);
    auto& transitions = json["transitions"] = nlohmann::json::array();
    for (const auto& step : detail.transitions)
        transitions.push_back({
            {"from", step.from_state ? nlohmann::json(to_string(*step.from_state)) : nlohmann::json(nullptr)},
            {"to", to_string(step.to_state)},
            {"reason", step.reason},
            {"at", format_rfc3339_us(step.at_us)},
        });
    return json;
}

}  // namespace mw::retrain
