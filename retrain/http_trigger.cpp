#include "retrain/http_trigger.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mw::retrain {

const char* to_string(CallStatus status) {
    switch (status) {
        case CallStatus::ok: return "ok";
        case CallStatus::retry: return "retry";
        case CallStatus::failed: return "failed";
    }
    return "unknown";
}

std::string idempotency_key(std::int64_t job_id) { return fmt::format("modelwatch-job-{}", job_id); }

CallStatus classify_response(const http::Response& response, bool conflict_is_ok) {
    if (!response.ok()) return CallStatus::retry;
    if (response.success()) return CallStatus::ok;
    if (conflict_is_ok && response.status == 409) return CallStatus::ok;
    if (response.status == 408 || response.status == 429 || response.status >= 500) return CallStatus::retry;
    return CallStatus::failed;
}

http::Request retrain_post(const std::string& url, std::chrono::milliseconds timeout,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& bearer_token, const std::string& idempotency_key, std::string body) {
    http::Request request;
    request.method = "POST";
    request.url = url;
    request.timeout = timeout;
    request.body = std::move(body);
    request.headers = headers;
    request.headers.emplace_back("Idempotency-Key", idempotency_key);
    if (!bearer_token.empty()) request.headers.emplace_back("Authorization", "Bearer " + bearer_token);
    return request;
}

http::Request trigger_request(const Job& job, const std::string& context_json, const HttpTriggerOptions& options) {
    nlohmann::json context = nlohmann::json::parse(context_json);
    nlohmann::json body;
    switch (options.body) {
        case TriggerBody::context: body = std::move(context); break;
        case TriggerBody::airflow:
            body = {{"dag_run_id", idempotency_key(job.id)}, {"conf", std::move(context)}};
            break;
        case TriggerBody::github:
            body = {{"event_type", "modelwatch-retrain"}, {"client_payload", std::move(context)}};
            break;
    }
    return retrain_post(options.url, options.timeout, options.headers, options.bearer_token, idempotency_key(job.id),
                        body.dump());
}

TriggerResult trigger_http_job(const Job& job, const std::string& context_json, const HttpTriggerOptions& options) {
    const http::Response response = http::send(trigger_request(job, context_json, options));
    TriggerResult result;
    result.http_status = response.status;
    result.status = classify_response(response, true);
    const std::string where = "POST " + options.url;
    if (!response.ok()) {
        result.reason = fmt::format("{}: {}", where, response.error);
    } else if (response.status == 409) {
        result.reason = fmt::format("{}: HTTP 409, already triggered with Idempotency-Key {}", where,
                                    idempotency_key(job.id));
    } else if (result.status == CallStatus::ok) {
        result.reason = fmt::format("{}: HTTP {}, triggered", where, response.status);
    } else {
        // The start of the body usually says why (Airflow and GitHub answer
        // with a JSON "detail" or "message").
        result.reason = fmt::format("{}: HTTP {}: {}", where, response.status,
                                    response.body.substr(0, max_body_in_reason));
    }
    return result;
}

namespace {

const config::SettingRow http_trigger_rows[] = {
    {.key = "http_url", .kind = config::ValueKind::url, .required = true,
     .help = "URL the job context is POSTed to (Airflow, GitHub dispatch), with an Idempotency-Key"},
};

}  // namespace

std::span<const config::SettingRow> http_trigger_options() { return http_trigger_rows; }

}  // namespace mw::retrain
