// A retraining job as stored in retrain_jobs (store/migrations.cpp, migration
// 2). Plain values shared by the policy, the queue (retrain/job_queue.h) and
// the runners; the states it moves through are core/job_state.h's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/job_state.h"

namespace mw::retrain {

// One row of retrain_jobs. Timestamps are microseconds since the Unix epoch
// (UTC); nullable columns are optional.
struct Job {
    std::int64_t id = 0;
    std::string model;
    std::string dedup_key;
    std::string trigger;  // the trigger kind that queued it: "dataset_drift", "manual", ...
    std::string reason;
    std::optional<std::int64_t> finding_id;
    JobState state = JobState::queued;
    std::optional<std::string> champion_version;
    std::optional<std::string> challenger_version;
    std::string context_json = "{}";        // what the runner needs (data window, paths), a JSON object
    std::optional<std::string> report_json;  // the trainer's or validation's report, a JSON object
    std::string output;                      // the trainer's captured output (tail)
    std::optional<std::string> claimed_by;   // worker name that claimed it
    std::int64_t created_at_us = 0;
    std::optional<std::int64_t> started_at_us;
    std::optional<std::int64_t> finished_at_us;
    std::optional<std::int64_t> promoted_at_us;
};

}  // namespace mw::retrain
