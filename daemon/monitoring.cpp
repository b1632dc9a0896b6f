#include "daemon/monitoring.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/transaction>

#include "alerts/outbox.h"
#include "core/log.h"
#include "core/time.h"
#include "daemon/alert_loop.h"
#include "daemon/retrain_loop.h"
#include "fairness/audit_store.h"
#include "retrain/job_queue.h"
#include "retrain/policy_store.h"
#include "store/admin_queries.h"
#include "store/database.h"
#include "store/retention.h"

namespace mw::daemon {
namespace {

Monitoring::Outcome answer(int status, const nlohmann::json& body) { return {status, body.dump()}; }

Monitoring::Outcome error(int status, const std::string& message) { return answer(status, {{"error", message}}); }

std::optional<std::int64_t> integer_of(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string parameter(const std::map<std::string, std::string>& parameters, const std::string& key) {
    const auto it = parameters.find(key);
    return it == parameters.end() ? std::string() : it->second;
}

// One retention pass (store/retention.h): rows first, then the files of the
// rows that went.
void retention_pass(pqxx::connection& connection, std::int64_t now_us, const config::Config& config) {
    const auto result = store::apply_retention(connection, config.retention, now_us);
    for (const auto& message : store::remove_retained_files(result, config.monitor.jobs_dir, config.monitor.reports_dir))
        log::warning("retention_file_not_removed error=\"{}\"", message);
    for (const auto& name : result.partitions_kept) log::info("retention_partition_kept name={} reason=\"still read\"", name);
    log::info("retention_pass partitions_dropped={} partitions_kept={} outcomes={} findings={} decisions={} windows={} "
              "alert_deliveries={} jobs={} audits={}",
              result.partitions_dropped.size(), result.partitions_kept.size(), result.outcomes_deleted,
              result.findings_deleted, result.decisions_deleted, result.windows_deleted,
              result.alert_deliveries_deleted, result.jobs_deleted.size(), result.audits_deleted);
}

}  // namespace

Monitoring::Monitoring(const config::Config& config, DaemonMetrics& metrics, RejectionTally& rejections)
    : config_(config), metrics_(metrics), rejections_(rejections) {
    for (const auto& model : config.models)
        monitors_[model.schema.name] = std::make_unique<ModelMonitor>(model, metrics_);
    audits_ = std::make_unique<AuditLoop>(config, metrics_);
    alerts_ = std::make_unique<AlertLoop>(config.alerting, metrics_);
    retrain_ = std::make_unique<RetrainLoop>(config, metrics_);
}

Monitoring::~Monitoring() { stop(); }

void Monitoring::start() {
    const auto interval = std::chrono::milliseconds(config_.monitor.interval_ms);
    workers_.push_back(std::make_unique<PeriodicWorker>(
        "monitor", config_.store, interval,
        [this](pqxx::connection& connection, std::int64_t now) { monitor_pass(connection, now); }));
    if (!config_.alerting.receivers.empty())
        workers_.push_back(std::make_unique<PeriodicWorker>(
            "alerts", config_.store, interval,
            [this](pqxx::connection& connection, std::int64_t now) { alerts_->pass(connection, now); }));
    workers_.push_back(std::make_unique<PeriodicWorker>(
        "retrain", config_.store, interval,
        [this](pqxx::connection& connection, std::int64_t now) { retrain_->pass(connection, now); }));
    workers_.push_back(std::make_unique<PeriodicWorker>(
        "audits", config_.store, std::max(interval, std::chrono::milliseconds(1000)),
        [this](pqxx::connection& connection, std::int64_t now) { audits_->pass(connection, now); }));
    workers_.push_back(std::make_unique<PeriodicWorker>(
        "retention", config_.store, std::chrono::milliseconds(config_.retention.interval_ms),
        [this](pqxx::connection& connection, std::int64_t now) { retention_pass(connection, now, config_); }));
    for (auto& worker : workers_) worker->start();
}

void Monitoring::stop() {
    for (auto& worker : workers_) worker->stop();
    workers_.clear();
}

void Monitoring::reload(const config::Config& config) {
    // The loops hold no state that is not in the store, so a reload rebuilds
    // them: stop, swap, start.
    stop();
    {
        std::lock_guard lock(monitors_mutex_);
        std::map<std::string, std::unique_ptr<ModelMonitor>> monitors;
        for (const auto& model : config.models) {
            auto existing = monitors_.find(model.schema.name);
            if (existing != monitors_.end()) {
                existing->second->reconfigure(model);
                monitors[model.schema.name] = std::move(existing->second);
            } else {
                monitors[model.schema.name] = std::make_unique<ModelMonitor>(model, metrics_);
            }
        }
        monitors_ = std::move(monitors);
    }
    audits_ = std::make_unique<AuditLoop>(config, metrics_);
    alerts_ = std::make_unique<AlertLoop>(config.alerting, metrics_);
    retrain_ = std::make_unique<RetrainLoop>(config, metrics_);
    config_ = config;
    start();
}

int Monitoring::jobs_running() const { return retrain_->jobs_running(); }

void Monitoring::monitor_pass(pqxx::connection& connection, std::int64_t now_us) {
    // Rejections first, so a window closing now sees those of its last second.
    auto rejected = rejections_.take();
    try {
        store::add_rejection_counts(connection, rejected);
    } catch (...) {
        rejections_.give_back(rejected);
        throw;
    }
    std::lock_guard lock(monitors_mutex_);
    for (auto& [name, monitor] : monitors_) {
        try {
            monitor->step(connection, now_us);
        } catch (const pqxx::broken_connection&) {
            throw;  // the worker reconnects
        } catch (const std::exception& failure) {
            // One model's failure must not stop the others'.
            log::error("monitor_failed model={} error=\"{}\"", name, failure.what());
        }
    }
}

Monitoring::Outcome Monitoring::upload_reference(const std::string& model, std::string_view body,
                                                 std::string_view content_type) {
    std::lock_guard lock(monitors_mutex_);
    const auto monitor = monitors_.find(model);
    if (monitor == monitors_.end()) return error(404, "unknown model '" + model + "'");
    const auto& options = monitor->second->options();
    auto upload = parse_reference_upload(body, content_type, options.schema, options.reference.rows);
    if (!upload.ok()) return error(400, upload.error);
    auto connection = store::connect(config_.store);
    const auto id = monitor->second->upload_reference(
        *connection, upload.table, fmt::format("uploaded {} rows at {}", upload.rows_read, format_rfc3339_us(now_us())));
    return answer(201, {{"reference_id", id}, {"rows", upload.rows_read}});
}

Monitoring::Outcome Monitoring::run_audit(const std::string& model, const std::string& audit) {
    if (!audits_->knows(model, audit)) return error(404, "no audit '" + audit + "' for model '" + model + "'");
    auto connection = store::connect(config_.store);
    const auto summary = audits_->run_now(*connection, model, audit, now_us());
    if (summary.already_running) return error(409, "the audit is already running");
    nlohmann::json body = {{"audit_id", summary.id},
                           {"state", fairness::to_string(summary.state)},
                           {"status", summary.status},
                           {"rows", summary.rows},
                           {"findings", summary.findings},
                           {"reports", summary.report_paths}};
    if (!summary.error.empty()) body["error"] = summary.error;
    return answer(summary.id == 0 ? 500 : 200, body);
}

Monitoring::Outcome Monitoring::request_retrain(const std::string& model, const std::string& reason) {
    if (!config_.find_model(model)) return error(404, "unknown model '" + model + "'");
    auto connection = store::connect(config_.store);
    const auto [status, body] = retrain_->request_manual(*connection, model, reason, now_us());
    return {status, body};
}

Monitoring::Outcome Monitoring::job_report(std::int64_t job_id, std::string_view body) {
    auto connection = store::connect(config_.store);
    const auto [status, text] = retrain_->accept_report(*connection, job_id, body, now_us());
    return {status, text};
}

Monitoring::Outcome Monitoring::reset_breaker(const std::string& model) {
    if (!config_.find_model(model)) return error(404, "unknown model '" + model + "'");
    auto connection = store::connect(config_.store);
    const bool reset = retrain::reset_breaker(*connection, model, "reset through the admin API", now_us());
    return answer(200, {{"model", model}, {"breaker_was_open", reset}});
}

Monitoring::Outcome Monitoring::add_silence(std::string_view body) {
    const auto request = nlohmann::json::parse(body, nullptr, false);
    if (!request.is_object()) return error(400, "expected a JSON object");
    alerts::Silence silence;
    const auto text = [&](const char* key) -> std::optional<std::string> {
        if (!request.contains(key) || request[key].is_null()) return std::nullopt;
        if (!request[key].is_string()) throw std::invalid_argument(std::string("\"") + key + "\" must be a string");
        return request[key].get<std::string>();
    };
    try {
        silence.model = text("model");
        silence.kind = text("kind");
        silence.subject = text("subject");
        silence.created_by = text("created_by").value_or("");
        silence.comment = text("comment").value_or("");
        const auto ends = text("ends_at");
        const auto duration = request.contains("duration_seconds") ? request["duration_seconds"] : nlohmann::json();
        silence.starts_at_us = now_us();
        if (ends) {
            const auto parsed = parse_rfc3339_us(*ends);
            if (!parsed) return error(400, "\"ends_at\" must be an RFC 3339 time");
            silence.ends_at_us = *parsed;
        } else if (duration.is_number_unsigned()) {
            silence.ends_at_us = silence.starts_at_us + duration.get<std::int64_t>() * 1'000'000;
        } else {
            return error(400, "give \"ends_at\" (RFC 3339) or \"duration_seconds\"");
        }
    } catch (const std::invalid_argument& failure) {
        return error(400, failure.what());
    }
    auto connection = store::connect(config_.store);
    const auto added = alerts::add_silence(*connection, silence);
    if (!added.id) return error(400, added.error);
    return answer(201, {{"silence_id", *added.id}});
}

Monitoring::Outcome Monitoring::expire_silence(std::int64_t id) {
    auto connection = store::connect(config_.store);
    if (!alerts::expire_silence(*connection, id, now_us())) return error(404, fmt::format("no active silence {}", id));
    return answer(200, {{"silence_id", id}, {"expired", true}});
}

Monitoring::Outcome Monitoring::query(const std::string& what, const std::map<std::string, std::string>& parameters) {
    auto connection = store::connect(config_.store);
    const std::string model = parameter(parameters, "model");
    const auto limit = std::clamp<std::int64_t>(integer_of(parameter(parameters, "limit")).value_or(100), 1, 10000);
    if (what == "alerts") {
        nlohmann::json alerts = nlohmann::json::array();
        for (const auto& alert :
             alerts::list_alerts(*connection, model.empty() ? std::nullopt : std::optional<std::string>(model)))
            alerts.push_back(alerts::to_json(alert));
        return answer(200, {{"alerts", alerts}});
    }
    if (what == "silences") {
        nlohmann::json silences = nlohmann::json::array();
        for (const auto& silence : alerts::list_silences(*connection, now_us(), parameter(parameters, "all") == "true"))
            silences.push_back(alerts::to_json(silence));
        return answer(200, {{"silences", silences}});
    }
    if (what == "jobs") {
        nlohmann::json jobs = nlohmann::json::array();
        for (const auto& job : retrain::list_jobs(*connection, model, static_cast<int>(limit)))
            jobs.push_back(retrain::to_json(job));
        return answer(200, {{"jobs", jobs}});
    }
    if (what == "job") {
        const auto id = integer_of(parameter(parameters, "id"));
        const auto detail = id ? retrain::get_job(*connection, *id) : std::nullopt;
        if (!detail) return error(404, "no such job");
        return answer(200, retrain::to_json(*detail));
    }
    pqxx::read_transaction transaction(*connection, "admin_query");
    if (what == "findings" || what == "finding") {
        store::FindingFilter filter;
        filter.model = model;
        filter.kind = parameter(parameters, "kind");
        if (const std::string triggered = parameter(parameters, "triggered"); !triggered.empty())
            filter.triggered = triggered == "true";
        filter.id = integer_of(parameter(parameters, "id"));
        filter.limit = limit;
        const auto rows = nlohmann::json::parse(store::findings_json(transaction, filter));
        if (what == "finding") {
            if (rows.empty()) return error(404, "no such finding");
            return answer(200, rows[0]);
        }
        return answer(200, {{"findings", rows}});
    }
    if (what == "windows")
        return answer(200, {{"windows", nlohmann::json::parse(store::windows_json(transaction, model, limit))}});
    if (what == "audits")
        return answer(200, {{"audits", nlohmann::json::parse(store::audits_json(transaction, model, limit))}});
    if (what == "decisions")
        return answer(200, {{"decisions", nlohmann::json::parse(store::decisions_json(transaction, model, limit))}});
    return error(404, "no such collection");
}

}  // namespace mw::daemon
