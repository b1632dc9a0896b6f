#include "daemon/api.h"

#include <charconv>
#include <chrono>
#include <utility>  // before Asio (docs: Boost 1.74 under C++20)

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <boost/beast/http/field.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <prometheus/text_serializer.h>

#include "collectors/ingest_parser.h"
#include "core/log.h"
#include "core/time.h"
#include "daemon/bearer_auth.h"
#include "daemon/status_page.h"
#include "store/admin_queries.h"
#include "store/read_sessions.h"
#include "detectors/rejection_reasons.h"

#include <map>

#include <pqxx/except>
#include <pqxx/transaction>

namespace mw::daemon {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

// Admin and page requests answered at once (the threads) and in progress or
// queued at most (the limit): an operator's few clients, a poller and a
// browser, with room; more is a client gone wrong, told to come back.
constexpr int api_admin_threads = 2;
constexpr int api_admin_requests_limit = 16;

// A positive row id from a path segment ("/v1/findings/{id}"), or nothing.
std::optional<std::int64_t> id_of(std::string_view text) {
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
    return id;
}

// Histogram buckets for request latency: ingest is dominated by fdatasync
// (sub-millisecond to tens of milliseconds); big bodies take longer.
const prometheus::Histogram::BucketBoundaries latency_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                              0.05,   0.1,   0.25,   0.5,   1,    2.5, 5};

struct Route {
    enum class Kind { ingest_predictions, ingest_outcomes, models, healthz, readyz, metrics, admin, page, unknown } kind;
    std::string model;
    const char* name;  // the metric label: the route's pattern, never the raw path
};

// The path split at '/', without the empty first part.
std::vector<std::string_view> path_parts(std::string_view path) {
    std::vector<std::string_view> parts;
    while (!path.empty()) {
        if (path.front() == '/') path.remove_prefix(1);
        const auto slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    }
    return parts;
}

// The admin route's pattern (its metric label), or null when `path` is not one.
const char* admin_pattern(std::string_view path) {
    const auto parts = path_parts(path);
    if (parts.size() < 2 || parts[0] != "v1") return nullptr;
    const auto& collection = parts[1];
    if (parts.size() == 2) {
        for (const char* name : {"findings", "alerts", "silences", "jobs", "audits", "windows", "decisions"})
            if (collection == name) return name;
        return nullptr;
    }
    if (parts.size() == 3 && collection == "findings") return "/v1/findings/{id}";
    if (parts.size() == 3 && collection == "jobs") return "/v1/jobs/{id}";
    if (parts.size() == 3 && collection == "silences") return "/v1/silences/{id}";
    if (parts.size() == 4 && collection == "jobs" && parts[3] == "report") return "/v1/jobs/{id}/report";
    if (collection != "models") return nullptr;
    if (parts.size() == 4 && parts[3] == "reference") return "/v1/models/{model}/reference";
    if (parts.size() == 4 && parts[3] == "progress") return "/v1/models/{model}/progress";
    if (parts.size() == 4 && parts[3] == "retrain") return "/v1/models/{model}/retrain";
    if (parts.size() == 5 && parts[3] == "breaker" && parts[4] == "reset") return "/v1/models/{model}/breaker/reset";
    if (parts.size() == 6 && parts[3] == "audits" && parts[5] == "run") return "/v1/models/{model}/audits/{audit}/run";
    return nullptr;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decoded(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::map<std::string, std::string> query_parameters(std::string_view target) {
    std::map<std::string, std::string> parameters;
    const auto question = target.find('?');
    if (question == std::string_view::npos) return parameters;
    auto query = target.substr(question + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto equals = pair.find('=');
        if (equals != std::string_view::npos)
            parameters[percent_decoded(pair.substr(0, equals))] = percent_decoded(pair.substr(equals + 1));
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
    return parameters;
}

Route match_route(std::string_view target) {
    if (auto query = target.find('?'); query != std::string_view::npos) target = target.substr(0, query);
    if (target == "/healthz") return {Route::Kind::healthz, {}, "/healthz"};
    if (target == "/readyz") return {Route::Kind::readyz, {}, "/readyz"};
    if (target == "/metrics") return {Route::Kind::metrics, {}, "/metrics"};
    if (target == "/v1/models") return {Route::Kind::models, {}, "/v1/models"};
    if (target == "/") return {Route::Kind::page, {}, "/"};
    if (const auto parts = path_parts(target);
        parts.size() == 3 && parts[0] == "audits" && parts[2] == "report")
        return {Route::Kind::page, {}, "/audits/{id}/report"};
    if (const char* pattern = admin_pattern(target)) return {Route::Kind::admin, {}, pattern};
    constexpr std::string_view prefix = "/v1/models/";
    if (target.starts_with(prefix)) {
        auto rest = target.substr(prefix.size());
        const auto slash = rest.find('/');
        if (slash != std::string_view::npos && slash > 0) {
            const auto model = rest.substr(0, slash);
            const auto leaf = rest.substr(slash + 1);
            if (leaf == "predictions")
                return {Route::Kind::ingest_predictions, std::string(model), "/v1/models/{model}/predictions"};
            if (leaf == "outcomes")
                return {Route::Kind::ingest_outcomes, std::string(model), "/v1/models/{model}/outcomes"};
        }
    }
    return {Route::Kind::unknown, {}, "other"};
}

// A browser asking for a page: HTML is preferred over JSON (the admin API's
// finding answers a browser with its page, so an alert's generatorURL is
// readable), unless ?format=json asks for the data.
bool wants_html(const HttpRequestHeader& header) {
    const auto accept = header[http::field::accept];
    if (accept.find("text/html") == std::string_view::npos) return false;
    const auto parameters = query_parameters(header.target());
    const auto format = parameters.find("format");
    return format == parameters.end() || format->second != "json";
}

HttpResponse html_response(unsigned status, std::string body) {
    auto response = make_response(status, std::move(body), "text/html; charset=utf-8");
    response.set("Content-Security-Policy", page_security_policy);
    response.set("X-Content-Type-Options", "nosniff");
    response.set(http::field::cache_control, "no-store");
    return response;
}

// Strings in answers echo client input (model names, field names, reasons);
// invalid UTF-8 there is replaced, never a reason to throw.
HttpResponse json_response(unsigned status, const json& body) {
    return make_response(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

HttpResponse error_response(unsigned status, std::string message) {
    return json_response(status, json{{"error", std::move(message)}});
}

// An admin read PostgreSQL cancelled at store::admin_read_timeout (SQLSTATE
// 57014, query_canceled): the store is there but slow, so come back.
bool read_timed_out(const pqxx::sql_error& failure) { return failure.sqlstate() == "57014"; }

std::string read_timeout_message() {
    return fmt::format("the store did not answer within {} ms", store::admin_read_timeout.count());
}

// 503 for a batch the spool refused (full, or admission control): the
// spool's Retry-After when it can tell, else 5 s (a full disk budget empties
// at the drain's pace, unknown here).
HttpResponse spool_refusal_response(const IngestResult& result, json rejected) {
    auto response =
        json_response(503, json{{"accepted", 0}, {"error", result.message}, {"rejected", std::move(rejected)}});
    response.set(http::field::retry_after,
                 std::to_string(result.retry_after_seconds > 0 ? result.retry_after_seconds : 5));
    return response;
}

// The reason given for a record left out by the ingest pipeline for its id
// (detectors/rejection_reasons.cpp classifies it as id_conflict).
constexpr std::string_view id_conflict_reason =
    "the id was acknowledged before with another payload; the first one is kept, this record is not stored";

// Adds a rejection for each record the pipeline left out for its id's
// conflict. `conflicts` are positions among the accepted records, which are
// the body's records but the rejected ones, in order; `rejections` is in
// body order and stays so.
void add_conflicts(const std::vector<std::size_t>& conflicts, std::size_t accepted,
                   std::vector<Rejection>& rejections) {
    if (conflicts.empty()) return;
    std::vector<Rejection> merged;
    merged.reserve(rejections.size() + conflicts.size());
    std::size_t next_rejection = 0;
    std::size_t next_conflict = 0;
    std::size_t index = 0;
    for (std::size_t position = 0; position < accepted; ++index) {
        if (next_rejection < rejections.size() && rejections[next_rejection].index == index) {
            merged.push_back(std::move(rejections[next_rejection++]));
            continue;
        }
        if (next_conflict < conflicts.size() && conflicts[next_conflict] == position) {
            merged.push_back({index, "id", std::string(id_conflict_reason)});
            ++next_conflict;
        }
        ++position;
    }
    for (; next_rejection < rejections.size(); ++next_rejection) merged.push_back(std::move(rejections[next_rejection]));
    rejections = std::move(merged);
}

}  // namespace

struct Api::AdminPool {
    boost::asio::thread_pool threads{api_admin_threads};
    // One read-only session per thread at most, kept between requests.
    store::ReadSessions reads{api_admin_threads, store::admin_read_timeout};
};

Api::Api(const LiveConfig& config, IngestSink& sink, Monitoring& monitoring, RejectionTally& rejections,
         DaemonMetrics& metrics,
         prometheus::Registry& registry, std::function<Readiness()> readiness, std::function<void()> refresh_metrics)
    : config_(config),
      sink_(sink),
      monitoring_(monitoring),
      rejections_(rejections),
      metrics_(metrics),
      registry_(registry),
      readiness_(std::move(readiness)),
      refresh_metrics_(std::move(refresh_metrics)),
      admin_pool_(std::make_unique<AdminPool>()) {}

const store::ReadSessions& Api::read_sessions() const { return admin_pool_->reads; }

// Waits for the requests being answered; queued ones are dropped (their
// connections are closed with the server).
Api::~Api() {
    admin_pool_->threads.stop();
    admin_pool_->threads.join();
}

std::optional<HttpResponse> Api::check_header(const HttpRequestHeader& header) {
    const Route route = match_route(header.target());
    const bool is_ingest = route.kind == Route::Kind::ingest_predictions || route.kind == Route::Kind::ingest_outcomes;
    auto answer = [&](HttpResponse response) {
        metrics_.requests.Add({{"route", route.name}, {"code", std::to_string(response.result_int())}}).Increment();
        return std::optional<HttpResponse>(std::move(response));
    };
    if (route.kind == Route::Kind::unknown) return answer(error_response(404, "no such route"));
    const bool is_admin = route.kind == Route::Kind::admin;
    if (!is_admin && is_ingest != (header.method() == http::verb::post)) {
        auto response = error_response(405, "method not allowed");
        response.set(http::field::allow, is_ingest ? "POST" : "GET");
        return answer(std::move(response));
    }
    // Health and metrics stay open, as Prometheus and systemd expect; the
    // model list needs a global token when tokens are configured.
    const bool is_page = route.kind == Route::Kind::page;
    const bool needs_auth = is_ingest || is_admin || is_page || route.kind == Route::Kind::models;
    if (!needs_auth) return std::nullopt;

    const auto config = config_.get();
    const auto* model = is_ingest ? config->find_model(route.model) : nullptr;
    if (is_ingest && !model) return answer(error_response(404, fmt::format("unknown model '{}'", route.model)));
    auto auth = check_bearer(header[http::field::authorization], *config, model);
    if (auth == AuthResult::missing && header.method() == http::verb::get) {
        // Browsers: the secret from ?token= (which sets the cookie) or from
        // the cookie. Reads only, so a cross-site form cannot change anything.
        const auto parameters = query_parameters(header.target());
        if (const auto token = parameters.find("token"); token != parameters.end())
            auth = check_secret(token->second, *config, model);
        else if (const auto cookie = cookie_value(header[http::field::cookie], token_cookie))
            auth = check_secret(*cookie, *config, model);
    }
    const bool html = is_page || wants_html(header);
    switch (auth) {
        case AuthResult::allowed: break;
        case AuthResult::missing: {
            auto response = html ? html_response(401, render_error_page(401, "This page needs the admin token.", true))
                                 : error_response(401, "a bearer token is required");
            response.set(http::field::www_authenticate, "Bearer realm=\"modelwatch\"");
            return answer(std::move(response));
        }
        case AuthResult::invalid: {
            auto response = html ? html_response(401, render_error_page(401, "That token is not valid here.", true))
                                 : error_response(401, "the bearer token is not valid for this model");
            response.set(http::field::www_authenticate, "Bearer realm=\"modelwatch\", error=\"invalid_token\"");
            return answer(std::move(response));
        }
        case AuthResult::insufficient_scope: {
            // A known token, only not for this route: no wait or retry can
            // make it do, so the client is told at once what it needs.
            const std::string message =
                is_ingest ? fmt::format("the bearer token is another model's: ingest into model '{}' needs one of its "
                                        "tokens (models[].tokens) or an admin token (server.tokens)",
                                        route.model)
                          : fmt::format("the bearer token is a model's ingest token: {} needs an admin token "
                                        "(server.tokens)",
                                        route.name);
            auto response = html ? html_response(403, render_error_page(403, message + ".", true))
                                 : error_response(403, message);
            response.set(http::field::www_authenticate,
                         fmt::format("Bearer realm=\"modelwatch\", error=\"insufficient_scope\", scope=\"{}\"",
                                     is_ingest ? "ingest" : "admin"));
            return answer(std::move(response));
        }
    }
    if (!is_ingest) return std::nullopt;
    if (const auto length = header[http::field::content_length]; !length.empty()) {
        std::uint64_t declared = 0;
        const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), declared);
        if (ec == std::errc() && end == length.data() + length.size() && declared > config->server.max_body_bytes)
            return answer(error_response(
                413, fmt::format("request body of {} bytes exceeds the limit of {} bytes", declared,
                                 config->server.max_body_bytes)));
    }
    return std::nullopt;
}

void Api::handle(HttpRequest request, Responder respond) {
    const auto started = std::chrono::steady_clock::now();
    const Route route = match_route(request.target());
    ++in_flight_;
    Responder finish = [this, started, route_name = route.name, respond = std::move(respond)](HttpResponse response) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        metrics_.request_duration.Add({{"route", route_name}}, latency_buckets).Observe(seconds);
        metrics_.requests.Add({{"route", route_name}, {"code", std::to_string(response.result_int())}}).Increment();
        respond(std::move(response));
        --in_flight_;
    };
    switch (route.kind) {
        case Route::Kind::ingest_predictions:
            return handle_ingest(request, route.model, RecordKind::prediction, std::move(finish));
        case Route::Kind::ingest_outcomes:
            return handle_ingest(request, route.model, RecordKind::outcome, std::move(finish));
        case Route::Kind::healthz: return finish(make_response(200, "ok\n", "text/plain; charset=utf-8"));
        case Route::Kind::readyz: return finish(readiness_response(request));
        case Route::Kind::metrics: return finish(metrics_response());
        case Route::Kind::models: return finish(models_response());
        case Route::Kind::admin:
        case Route::Kind::page: {
            if (admin_requests_.fetch_add(1) >= api_admin_requests_limit) {
                --admin_requests_;
                auto response = error_response(
                    503, fmt::format("{} admin requests are in progress or queued already", api_admin_requests_limit));
                response.set(http::field::retry_after, "1");
                return finish(std::move(response));
            }
            boost::asio::post(admin_pool_->threads, [this, route, request = std::move(request),
                                                     finish = std::move(finish)]() mutable {
                HttpResponse response;
                try {
                    // A finding has a page (the alerts' generatorURL); the
                    // other collections answer JSON to browsers too.
                    const bool page =
                        route.kind == Route::Kind::page ||
                        (request.method() == http::verb::get &&
                         std::string_view(route.name) == "/v1/findings/{id}" && wants_html(request));
                    response = page ? page_response(request) : admin_response(request);
                } catch (const std::exception& error) {
                    log::error("http_handler_failed route={} error=\"{}\"", route.name, error.what());
                    response = error_response(500, "internal error");
                }
                --admin_requests_;
                finish(std::move(response));
            });
            return;
        }
        case Route::Kind::unknown: return finish(error_response(404, "no such route"));
    }
}

void Api::handle_ingest(HttpRequest& request, const std::string& model_name, RecordKind kind, Responder respond) {
    const auto config = config_.get();
    const auto* model = config->find_model(model_name);
    if (!model) return respond(error_response(404, fmt::format("unknown model '{}'", model_name)));
    if (auto refusal = sink_.admission_refusal()) return respond(spool_refusal_response(*refusal, json::array()));

    ParseLimits limits;
    limits.max_records = config->server.max_records_per_request;
    limits.max_depth = config->server.max_json_depth;
    const std::string_view body = request.body();
    // Held from before the parse until the rows are stored (store/spool.h),
    // and their received_at: no row the monitor may read is received
    // after a row of this request while it is still being parsed.
    Arrival arrival = sink_.arrive();
    const std::int64_t arrival_us = arrival.us();

    std::vector<Rejection> rejections;
    std::string body_error;
    std::size_t accepted = 0;
    std::function<void(std::function<void(IngestResult)>)> submit;
    if (kind == RecordKind::prediction) {
        // The batch keeps this snapshot's schema (and with it the snapshot)
        // alive until it is encoded, whatever reloads happen meanwhile.
        auto parsed = parse_predictions(body, std::shared_ptr<const ModelSchema>(config, &model->schema), limits,
                                        arrival_us);
        rejections = std::move(parsed.rejections);
        body_error = std::move(parsed.body_error);
        accepted = parsed.batch.records.size();
        submit = [this, batch = std::make_shared<PredictionBatch>(std::move(parsed.batch)),
                  arrival = std::move(arrival)](auto done) mutable {
            sink_.submit(std::move(*batch), std::move(arrival), std::move(done));
        };
    } else {
        auto parsed = parse_outcomes(body, model->schema, limits, arrival_us);
        rejections = std::move(parsed.rejections);
        body_error = std::move(parsed.body_error);
        accepted = parsed.batch.records.size();
        submit = [this, batch = std::make_shared<OutcomeBatch>(std::move(parsed.batch)),
                  arrival = std::move(arrival)](auto done) mutable {
            sink_.submit(std::move(*batch), std::move(arrival), std::move(done));
        };
    }

    const char* kind_label = to_string(kind);
    if (!body_error.empty()) {
        metrics_.records_rejected.Add({{"model", model_name}, {"kind", kind_label}, {"reason", "body"}}).Increment();
        rejections_.add(model_name, kind, "body", arrival_us);
        return respond(error_response(400, body_error));
    }
    for (const auto& rejection : rejections) {
        const char* reason = quality::to_string(quality::classify_rejection(rejection));
        metrics_.records_rejected.Add({{"model", model_name}, {"kind", kind_label}, {"reason", reason}}).Increment();
        rejections_.add(model_name, kind, reason, arrival_us);
    }
    if (accepted == 0) {
        json rejected = json::array();
        for (const auto& rejection : rejections)
            rejected.push_back({{"index", rejection.index}, {"field", rejection.field}, {"reason", rejection.reason}});
        json body_json{{"accepted", 0}, {"rejected", std::move(rejected)}};
        if (!rejections.empty()) body_json["error"] = "every record was rejected";
        return respond(json_response(rejections.empty() ? 200 : 400, body_json));
    }

    submit([this, model_name, kind, kind_label, accepted, arrival_us, rejections = std::move(rejections),
            respond = std::move(respond)](IngestResult result) mutable {
        add_conflicts(result.conflicts, accepted, rejections);
        const char* conflict_code = quality::to_string(quality::RejectionReason::id_conflict);
        if (!result.conflicts.empty()) {
            metrics_.records_rejected.Add({{"model", model_name}, {"kind", kind_label}, {"reason", conflict_code}})
                .Increment(static_cast<double>(result.conflicts.size()));
            rejections_.add(model_name, kind, conflict_code, arrival_us,
                            static_cast<std::int64_t>(result.conflicts.size()));
        }
        json rejected = json::array();
        for (const auto& rejection : rejections)
            rejected.push_back({{"index", rejection.index}, {"field", rejection.field}, {"reason", rejection.reason}});
        const std::size_t stored = accepted - result.conflicts.size();
        switch (result.status) {
            case IngestStatus::durable: {
                metrics_.records_accepted.Add({{"model", model_name}, {"kind", kind_label}})
                    .Increment(static_cast<double>(stored));
                json body_json{{"accepted", stored}, {"rejected", std::move(rejected)}};
                if (stored > 0) return respond(json_response(200, body_json));
                // Nothing stored, and at least one record only for its id's
                // conflict with an earlier one.
                body_json["error"] = "every record was rejected";
                return respond(json_response(409, body_json));
            }
            case IngestStatus::spool_full: return respond(spool_refusal_response(result, std::move(rejected)));
            case IngestStatus::failed: {
                auto response = json_response(
                    503, json{{"accepted", 0}, {"error", result.message}, {"rejected", std::move(rejected)}});
                response.set(http::field::retry_after, "1");
                return respond(std::move(response));
            }
        }
    });
}

HttpResponse Api::readiness_response(const HttpRequest& request) {
    const Readiness readiness = readiness_();
    std::vector<std::string> stuck;
    for (const auto& worker : readiness.workers)
        if (worker.state == WorkerState::stuck) stuck.push_back(worker.name);
    const bool ready = is_ready(readiness);
    // Probes from anyone get the verdict only: the details name sockets,
    // hosts and internals (libpq's errors quote the DSN's host or socket path).
    if (!readiness_details_allowed(request[http::field::authorization], *config_.get()))
        return json_response(ready ? 200 : 503, json{{"ready", ready}});
    json not_ready = json::array();
    if (!readiness.store_reachable) not_ready.push_back("store unreachable");
    if (readiness.store_refuses_writes) not_ready.push_back("store refuses this daemon's writes (see drain_error)");
    if (!readiness.spool_healthy) not_ready.push_back("spool unhealthy");
    if (!readiness.spool_has_room) not_ready.push_back("spool nearly full");
    for (const auto& name : stuck) not_ready.push_back("worker " + name + " stuck");
    if (readiness.nats && !readiness.nats->connected) not_ready.push_back("nats disconnected");
    else if (readiness.nats && !readiness.nats->subscribed) not_ready.push_back("nats consumers not bound");
    json workers = json::object();
    for (const auto& worker : readiness.workers) {
        json state{{"state", to_string(worker.state)},
                   {"config_generation", worker.config_generation},
                   {"passes", worker.passes}};
        if (worker.last_pass_end_us != 0) {
            state["last_pass_end"] = format_rfc3339_us(worker.last_pass_end_us);
            state["last_pass_ms"] = worker.last_pass_ms;
        }
        if (worker.state == WorkerState::running || worker.state == WorkerState::stuck) {
            state["pass_running_ms"] = worker.current_pass_ms;
            state["since_progress_ms"] = worker.since_progress_ms;
        }
        if (!worker.last_error.empty()) state["last_error"] = worker.last_error;
        workers[worker.name] = std::move(state);
    }
    json body{{"ready", ready},
              {"not_ready", std::move(not_ready)},
              {"config_generation", readiness.config_generation},
              {"config_reload_pending", readiness.config_reload_pending},
              {"models_owned", readiness.models_owned},
              {"store_reachable", readiness.store_reachable},
              {"store_answered_ms_ago", readiness.store_answered_ms_ago},
              {"spool_healthy", readiness.spool_healthy},
              {"spool_has_room", readiness.spool_has_room},
              {"spool_bytes", readiness.spool_bytes},
              {"workers", std::move(workers)}};
    if (!readiness.store_error.empty()) body["store_error"] = readiness.store_error;
    if (!readiness.drain_error.empty()) body["drain_error"] = readiness.drain_error;
    if (!readiness.privacy_key_conflicts.empty()) body["privacy_key_conflicts"] = readiness.privacy_key_conflicts;
    // Present, never a reason to be unready: the records are out of the way.
    if (readiness.quarantine.files > 0)
        body["quarantine"] = json{{"files", readiness.quarantine.files},
                                  {"records", readiness.quarantine.records},
                                  {"bytes", readiness.quarantine.bytes},
                                  {"oldest", format_rfc3339_us(readiness.quarantine.oldest_us)},
                                  {"newest", format_rfc3339_us(readiness.quarantine.newest_us)},
                                  {"directory", readiness.quarantine_directory},
                                  {"action", "records acknowledged but not stored: read why in each file's first "
                                             "line, then delete the files (docs/privacy.md, \"Quarantine files\")"}};
    if (readiness.nats) {
        json nats{{"connected", readiness.nats->connected},
                  {"subscribed", readiness.nats->subscribed},
                  {"fetch_paused", readiness.nats->paused}};
        if (!readiness.nats->error.empty()) nats["error"] = readiness.nats->error;
        body["nats"] = std::move(nats);
    }
    return json_response(ready ? 200 : 503, body);
}

HttpResponse Api::metrics_response() {
    refresh_metrics_();
    metrics_.ready.Set(is_ready(readiness_()) ? 1 : 0);
    const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
    return make_response(200, text, "text/plain; version=0.0.4; charset=utf-8");
}

HttpResponse Api::admin_response(const HttpRequest& request) {
    const std::string_view target = request.target();
    const auto path = target.substr(0, target.find('?'));
    const auto parts = path_parts(path);
    const auto method = request.method();
    const auto collection = parts[1];
    const auto reply = [](const Monitoring::Outcome& outcome) {
        auto response = make_response(static_cast<unsigned>(outcome.status), outcome.body);
        if (outcome.retry_after_s > 0) response.set(http::field::retry_after, std::to_string(outcome.retry_after_s));
        return response;
    };
    const auto not_allowed = [](const char* allow) {
        auto response = error_response(405, "method not allowed");
        response.set(http::field::allow, allow);
        return response;
    };
    try {
        if (collection == "models" && parts[3] == "progress") {
            if (method != http::verb::get) return not_allowed("GET");
            // The spool and the workers before the store (Monitoring::progress says why).
            const Readiness before = readiness_();
            return reply(monitoring_.progress(std::string(parts[2]), before.spool_undrained_batches, before.workers,
                                              admin_pool_->reads));
        }
        if (collection == "models") {
            if (method != http::verb::post) return not_allowed("POST");
            const std::string model(parts[2]);
            if (parts[3] == "reference")
                return reply(monitoring_.upload_reference(model, request.body(), request[http::field::content_type]));
            if (parts[3] == "retrain") {
                const auto body = json::parse(request.body().empty() ? std::string_view("{}") : request.body(), nullptr,
                                              false);
                if (!body.is_object() || (body.contains("reason") && !body["reason"].is_string()))
                    return error_response(400, "expected a JSON object, optionally with a \"reason\" string");
                return reply(monitoring_.request_retrain(model, body.value("reason", "requested through the API")));
            }
            if (parts[3] == "breaker") return reply(monitoring_.reset_breaker(model));
            return reply(monitoring_.run_audit(model, std::string(parts[4])));
        }
        if (collection == "jobs" && parts.size() == 4) {
            if (method != http::verb::post) return not_allowed("POST");
            const auto id = id_of(parts[2]);
            if (!id) return error_response(404, "no such job");
            return reply(monitoring_.job_report(*id, request.body()));
        }
        if (collection == "silences" && method == http::verb::post && parts.size() == 2)
            return reply(monitoring_.add_silence(request.body()));
        if (collection == "silences" && method == http::verb::delete_ && parts.size() == 3) {
            const auto id = id_of(parts[2]);
            if (!id) return error_response(404, "no such silence");
            return reply(monitoring_.expire_silence(*id));
        }
        if (method != http::verb::get) return not_allowed(collection == "silences" ? "GET, POST, DELETE" : "GET");
        auto parameters = query_parameters(target);
        std::string what(collection);
        if (parts.size() == 3) {
            if (!id_of(parts[2])) return error_response(404, "no such " + what);
            parameters["id"] = std::string(parts[2]);
            what.pop_back();  // findings/{id} -> finding, jobs/{id} -> job
        }
        return reply(monitoring_.query(what, parameters, admin_pool_->reads));
    } catch (const pqxx::broken_connection& failure) {
        auto response = error_response(503, std::string("the store is unreachable: ") + failure.what());
        response.set(http::field::retry_after, "5");
        return response;
    } catch (const pqxx::sql_error& failure) {
        if (!read_timed_out(failure)) throw;
        auto response = error_response(503, read_timeout_message());
        response.set(http::field::retry_after, "1");
        return response;
    }
}

HttpResponse Api::page_response(const HttpRequest& request) {
    const std::string_view target = request.target();
    const auto path = target.substr(0, target.find('?'));
    const auto config = config_.get();
    const auto parameters = query_parameters(target);
    if (const auto token = parameters.find("token"); token != parameters.end()) {
        // check_header accepted the secret: keep it in a cookie and drop it
        // from the address bar (and so from the browser's history).
        auto response = html_response(303, render_error_page(303, "Signed in.", false));
        response.set(http::field::location, std::string(path));
        if (auth_enabled(*config) && check_secret(token->second, *config, nullptr) == AuthResult::allowed)
            response.set(http::field::set_cookie, fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", token_cookie,
                                                              token->second));
        return response;
    }
    const auto parts = path_parts(path);
    // Each page reads on an admin session (store/read_sessions.h); the
    // answer is made from what it read.
    const auto on_session = [&](const std::function<HttpResponse(pqxx::connection&)>& page) {
        HttpResponse response;
        admin_pool_->reads.read(config->store, [&](pqxx::connection& connection) { response = page(connection); });
        return response;
    };
    try {
        if (path == "/") {
            return on_session([&](pqxx::connection& connection) {
                const auto ready = readiness_();
                return html_response(200, render_status_page(read_status(connection, *config),
                                                             {ready.quarantine, ready.quarantine_directory}, now_us()));
            });
        }
        if (parts.size() == 3 && parts[0] == "audits") {
            const auto id = id_of(parts[1]);
            if (!id) return html_response(404, render_error_page(404, "No such audit run.", false));
            std::optional<std::string> stored;
            admin_pool_->reads.read(config->store, [&](pqxx::connection& connection) {
                pqxx::read_transaction transaction(connection, "audit_report");
                stored = store::audit_report_path(transaction, *id, "html");
            });
            if (!stored) return html_response(404, render_error_page(404, "That audit run has no HTML report.", false));
            auto report = read_report(*stored, config->monitor.reports_dir);
            if (!report.error.empty()) return html_response(404, render_error_page(404, report.error, false));
            return html_response(200, std::move(report.html));
        }
        if (parts.size() == 3 && parts[0] == "v1" && parts[1] == "findings") {
            const auto id = id_of(parts[2]);
            if (!id) return html_response(404, render_error_page(404, "No such finding.", false));
            return on_session([&](pqxx::connection& connection) {
                pqxx::read_transaction transaction(connection, "finding_page");
                store::FindingFilter filter;
                filter.id = id;
                filter.limit = 1;
                const auto rows = json::parse(store::findings_json(transaction, filter));
                if (rows.empty()) return html_response(404, render_error_page(404, "No such finding.", false));
                return html_response(200, render_finding_page(rows[0]));
            });
        }
        return html_response(404, render_error_page(404, "No such page.", false));
    } catch (const pqxx::broken_connection& failure) {
        auto response =
            html_response(503, render_error_page(503, std::string("The store is unreachable: ") + failure.what(), false));
        response.set(http::field::retry_after, "5");
        return response;
    } catch (const pqxx::sql_error& failure) {
        if (!read_timed_out(failure)) throw;
        auto response = html_response(503, render_error_page(503, "The store is slow: " + read_timeout_message(), false));
        response.set(http::field::retry_after, "1");
        return response;
    }
}

HttpResponse Api::models_response() {
    const auto config = config_.get();
    json models = json::array();
    for (const auto& model : config->models) {
        json features = json::array();
        for (const auto& feature : model.schema.features)
            features.push_back({{"name", feature.name}, {"type", to_string(feature.type)}});
        models.push_back({{"name", model.schema.name},
                          {"prediction_type", to_string(model.schema.prediction_type)},
                          {"classes", model.schema.classes},
                          {"features", std::move(features)},
                          {"attributes", model.schema.attributes}});
    }
    return json_response(200, json{{"models", std::move(models)}});
}

}  // namespace mw::daemon
