// Promotion and rollback hooks: how modelwatch tells the serving side to
// switch models (docs/retraining.md). A hook is either an argv run without a
// shell through retrain/process_runner.h, with the clean environment
//   PATH=/usr/bin:/bin, LANG=C.UTF-8,
//   MODELWATCH_HOOK                 "promotion" or "rollback"
//   MODELWATCH_JOB_ID, MODELWATCH_MODEL, MODELWATCH_JOB_DIR
//   MODELWATCH_CHALLENGER_VERSION   the version promoted (rollback: the one being rolled back)
//   MODELWATCH_ARTIFACT             its artifact, from the job's report
//   MODELWATCH_ROLLBACK_TO_VERSION  rollback only: the version to serve again
// plus the hook's configured env; or an HTTP POST of a JSON object with the
// same names as keys and string values, with the header
//   Idempotency-Key: modelwatch-job-<id>-promotion (or -rollback).
// Exit 0 or a 2xx answer is success.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/option_table.h"
#include "retrain/http_trigger.h"

namespace mw::retrain {

enum class HookKind { promotion, rollback };
const char* to_string(HookKind);

struct HookOptions {
    // Exactly one of argv and url is set (the config loader checks it).
    std::vector<std::string> argv;
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  // HTTP only
    std::string bearer_token;                                  // HTTP only: "Authorization: Bearer <token>"
    std::vector<std::pair<std::string, std::string>> environment;  // argv only: added after the built-in variables
    std::chrono::seconds timeout{300};
    std::chrono::seconds kill_grace{10};  // argv only
};

struct HookCall {
    std::int64_t job_id = 0;
    std::string model;
    std::string challenger_version;
    std::string artifact;
    std::string rollback_to_version;  // rollback only
    std::string job_dir;              // the job's directory (exec jobs); also the hook's working directory
};

struct HookResult {
    CallStatus status = CallStatus::failed;
    // e.g. "promotion hook /opt/serve/switch: exit code 0" or
    // "rollback hook POST http://serving/rollback: HTTP 503: busy"
    std::string reason;
    std::string output;  // argv: the hook's bounded output
};

// The variables of the hook (both the environment of an argv hook and the
// body of an HTTP hook), built-in ones only.
std::vector<std::pair<std::string, std::string>> hook_variables(HookKind kind, const HookCall& call);

HookResult run_hook(HookKind kind, const HookCall& call, const HookOptions& options);

// Each hook's keys of models[].retrain (registered in runner_registry.cpp):
// promotion takes promote_command, rollback takes rollback_command.
std::span<const config::SettingRow> promotion_hook_options();
std::span<const config::SettingRow> rollback_hook_options();

}  // namespace mw::retrain
