// The HTTP runner: starts a training job in an external system (an Airflow
// DAG run, a GitHub repository_dispatch, any service that accepts a POST)
// and leaves it running there. One POST of the job's context (context.json
// without "data": the external system reads its own data), with the header
//   Idempotency-Key: modelwatch-job-<id>
// so that a retry after a lost answer starts nothing twice. A 2xx answer,
// and 409 Conflict (that key was already triggered), leave the job running
// until the external system reports back with POST /v1/jobs/{id}/report and
// a body in the report.json contract (retrain/job_report.h).
//
// Retries are the caller's (STYLE.md section 5): this makes one attempt and
// says whether another makes sense.
#pragma once

#include <span>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/http_client.h"
#include "retrain/job.h"
#include "config/option_table.h"

namespace mw::retrain {

enum class CallStatus {
    ok,      // done; for a trigger: the job is running over there
    retry,   // worth another attempt later: network failure, timeout, 408, 429 or 5xx
    failed,  // will not work as configured: another 4xx, a bad URL, a hook that exited non-zero
};
const char* to_string(CallStatus);

// How the context is wrapped in the request body.
enum class TriggerBody {
    context,  // the context JSON itself
    // Airflow's REST API, POST /api/v1/dags/{dag_id}/dagRuns:
    // {"dag_run_id": "modelwatch-job-<id>", "conf": <context>}. Airflow answers
    // 409 for an existing dag_run_id, which is the same idempotency.
    airflow,
    // GitHub's POST /repos/{owner}/{repo}/dispatches:
    // {"event_type": "modelwatch-retrain", "client_payload": <context>}.
    github,
};

struct HttpTriggerOptions {
    std::string url;
    TriggerBody body = TriggerBody::context;
    // Added to every request, e.g. {"Accept", "application/vnd.github+json"}.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string bearer_token;  // sent as "Authorization: Bearer <token>" when not empty
    std::chrono::milliseconds timeout{10000};
};

struct TriggerResult {
    CallStatus status = CallStatus::failed;
    int http_status = 0;  // 0 when no answer was received
    // e.g. "POST http://airflow:8080/api/v1/dags/train/dagRuns: HTTP 409, already triggered"
    std::string reason;
};

// "modelwatch-job-<id>": the Idempotency-Key of the job's trigger.
std::string idempotency_key(std::int64_t job_id);

// The POST of every HTTP call of retraining (this trigger and the promotion
// and rollback hooks, retrain/hooks.h): the JSON `body` to `url`, the
// configured headers, then Idempotency-Key and, when a token is configured,
// "Authorization: Bearer <token>".
http::Request retrain_post(const std::string& url, std::chrono::milliseconds timeout,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& bearer_token, const std::string& idempotency_key, std::string body);

// How much of a refusing answer's body a call's reason quotes: receivers
// explain refusals there (Airflow's and GitHub's "detail" or "message").
inline constexpr std::size_t max_body_in_reason = 200;

// The request the trigger sends; separate so that it can be inspected.
http::Request trigger_request(const Job& job, const std::string& context_json, const HttpTriggerOptions& options);

TriggerResult trigger_http_job(const Job& job, const std::string& context_json, const HttpTriggerOptions& options);

// What an answer means for an HTTP call of the runners and the hooks: 2xx ok;
// `conflict_is_ok` makes 409 ok too; 408, 429, 5xx and no answer retry;
// anything else failed.
CallStatus classify_response(const http::Response& response, bool conflict_is_ok);

// The keys of models[].retrain this runner takes (docs/monitoring.md,
// "Retraining job runners"); registered in runner_registry.cpp.
std::span<const config::SettingRow> http_trigger_options();

}  // namespace mw::retrain
