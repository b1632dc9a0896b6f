#include "retrain/hooks.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "retrain/process_runner.h"

namespace mw::retrain {

namespace {

HookResult run_argv_hook(HookKind kind, const HookCall& call, const HookOptions& options) {
    ProcessSpec spec;
    spec.argv = options.argv;
    spec.environment = {{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}};
    for (auto& variable : hook_variables(kind, call)) spec.environment.push_back(std::move(variable));
    for (const auto& [name, value] : options.environment) {
        // Configured variables may replace PATH or LANG, never a MODELWATCH_ one.
        auto same = std::find_if(spec.environment.begin(), spec.environment.end(),
                                 [&name](const auto& entry) { return entry.first == name; });
        if (same == spec.environment.end()) spec.environment.emplace_back(name, value);
        else if (!name.starts_with("MODELWATCH_")) same->second = value;
    }
    std::error_code ignored;
    if (!call.job_dir.empty() && std::filesystem::is_directory(call.job_dir, ignored)) {
        spec.working_directory = call.job_dir;
    }
    spec.timeout = options.timeout;
    spec.kill_grace = options.kill_grace;
    const ProcessResult process = run_process(spec);
    HookResult result;
    result.status = process.succeeded() ? CallStatus::ok : CallStatus::failed;
    result.reason = fmt::format("{} hook {}: {}", to_string(kind), options.argv.empty() ? "" : options.argv.front(),
                                process.describe());
    result.output = process.output;
    return result;
}

HookResult run_http_hook(HookKind kind, const HookCall& call, const HookOptions& options) {
    nlohmann::json body = nlohmann::json::object();
    for (const auto& [name, value] : hook_variables(kind, call)) body[name] = value;
    const http::Response response = http::send(
        retrain_post(options.url, options.timeout, options.headers, options.bearer_token,
                     fmt::format("{}-{}", idempotency_key(call.job_id), to_string(kind)), body.dump()));

    HookResult result;
    // A hook is not idempotent by key on every receiver, so 409 is not
    // taken as done: the receiver must answer 2xx.
    result.status = classify_response(response, false);
    const std::string where = fmt::format("{} hook POST {}", to_string(kind), options.url);
    if (!response.ok()) result.reason = fmt::format("{}: {}", where, response.error);
    else if (response.success()) result.reason = fmt::format("{}: HTTP {}", where, response.status);
    else result.reason = fmt::format("{}: HTTP {}: {}", where, response.status, response.body.substr(0, max_body_in_reason));
    return result;
}

}  // namespace

const char* to_string(HookKind kind) { return kind == HookKind::promotion ? "promotion" : "rollback"; }

std::vector<std::pair<std::string, std::string>> hook_variables(HookKind kind, const HookCall& call) {
    std::vector<std::pair<std::string, std::string>> variables = {
        {"MODELWATCH_HOOK", to_string(kind)},
        {"MODELWATCH_JOB_ID", std::to_string(call.job_id)},
        {"MODELWATCH_MODEL", call.model},
        {"MODELWATCH_CHALLENGER_VERSION", call.challenger_version},
        {"MODELWATCH_ARTIFACT", call.artifact},
        {"MODELWATCH_JOB_DIR", call.job_dir},
    };
    if (kind == HookKind::rollback) variables.emplace_back("MODELWATCH_ROLLBACK_TO_VERSION", call.rollback_to_version);
    return variables;
}

HookResult run_hook(HookKind kind, const HookCall& call, const HookOptions& options) {
    if (!options.argv.empty()) return run_argv_hook(kind, call, options);
    if (!options.url.empty()) return run_http_hook(kind, call, options);
    return HookResult{CallStatus::failed, fmt::format("{} hook: neither argv nor url is configured", to_string(kind)),
                      ""};
}

namespace {

const config::SettingRow promotion_hook_rows[] = {
    {.key = "promote_command", .kind = config::ValueKind::argv,
     .help = "the promotion hook: a program (an absolute path, no shell) and its arguments, run to serve a "
             "validated challenger; none: promotion is recorded only"},
};

const config::SettingRow rollback_hook_rows[] = {
    {.key = "rollback_command", .kind = config::ValueKind::argv,
     .help = "the rollback hook: a program (an absolute path, no shell) and its arguments, run to serve the "
             "previous champion again; none: rollback is recorded only"},
};

}  // namespace

std::span<const config::SettingRow> promotion_hook_options() { return promotion_hook_rows; }
std::span<const config::SettingRow> rollback_hook_options() { return rollback_hook_rows; }

}  // namespace mw::retrain
