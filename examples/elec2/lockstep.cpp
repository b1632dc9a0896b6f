#include "examples/elec2/lockstep.h"

#include <optional>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mw::elec2 {
namespace {

// Reads `object[key]` into `value`; false when it is missing or of another kind.
template <typename T>
bool read_progress_field(const nlohmann::json& object, const char* key, T& value) {
    const auto found = object.find(key);
    if (found == object.end()) return false;
    if constexpr (std::is_same_v<T, bool>) {
        if (!found->is_boolean()) return false;
    } else if constexpr (std::is_unsigned_v<T>) {
        if (!found->is_number_unsigned()) return false;
    } else {
        if (!found->is_number_integer()) return false;
    }
    value = found->get<T>();
    return true;
}

std::string joined_reasons(const std::vector<std::string>& reasons, const char* separator = "; ") {
    std::string text;
    for (const auto& reason : reasons) text += (text.empty() ? "" : separator) + reason;
    return text;
}

}  // namespace

Result<DaemonProgress> parse_progress(std::string_view json_text) {
    using Out = Result<DaemonProgress>;
    const auto json = nlohmann::json::parse(json_text, nullptr, false);
    if (!json.is_object()) return Out::failure("the daemon's progress answer is not a JSON object");
    const auto missing = [](const char* key) {
        return Out::failure(fmt::format("the daemon's progress answer has no valid \"{}\"", key));
    };
    DaemonProgress progress;
    if (!read_progress_field(json, "owned", progress.owned)) return missing("owned");
    if (!read_progress_field(json, "spool_undrained_batches", progress.spool_undrained_batches))
        return missing("spool_undrained_batches");
    const auto monitor = json.find("monitor");
    if (monitor == json.end() || !monitor->is_object()) return missing("monitor");
    if (!read_progress_field(*monitor, "passes_ended", progress.monitor_passes_ended))
        return missing("monitor.passes_ended");
    if (!read_progress_field(*monitor, "next_pass", progress.monitor_next_pass)) return missing("monitor.next_pass");
    if (const auto error = monitor->find("last_error"); error != monitor->end() && error->is_string())
        progress.monitor_error = error->get<std::string>();
    const std::pair<const char*, std::int64_t*> counts[] = {
        {"windows", &progress.windows},
        {"windows_judged", &progress.windows_judged},
        {"last_finding_id", &progress.last_finding_id},
        {"last_reference_id", &progress.last_reference_id},
        {"last_job_transition_id", &progress.last_job_transition_id},
        {"jobs_unfinished", &progress.jobs_unfinished},
        {"findings_unrouted", &progress.findings_unrouted},
        {"findings_unseen_by_retraining", &progress.findings_unseen_by_retraining},
    };
    for (const auto& [key, value] : counts)
        if (!read_progress_field(json, key, *value)) return missing(key);
    return {progress, {}};
}

std::string unsettled_reason(const DaemonProgress& earlier, const DaemonProgress& later) {
    std::vector<std::string> reasons;
    if (later.monitor_passes_ended < earlier.monitor_next_pass)
        reasons.push_back(fmt::format("the end of monitor pass {} (passes ended: {})", earlier.monitor_next_pass,
                                      later.monitor_passes_ended));
    if (!earlier.owned || !later.owned) reasons.push_back("the model's lease (this daemon does not own it)");
    if (earlier.spool_undrained_batches > 0)
        reasons.push_back(fmt::format("{} acknowledged batches to be stored", earlier.spool_undrained_batches));
    if (!later.monitor_error.empty())
        reasons.push_back(fmt::format("a monitor pass that succeeds (the last one failed: {})", later.monitor_error));
    std::vector<std::string> changed;
    const auto compare = [&](const char* name, std::int64_t before, std::int64_t after) {
        if (before != after) changed.push_back(fmt::format("{} {} -> {}", name, before, after));
    };
    compare("windows", earlier.windows, later.windows);
    compare("judged", earlier.windows_judged, later.windows_judged);
    compare("last finding", earlier.last_finding_id, later.last_finding_id);
    compare("last reference", earlier.last_reference_id, later.last_reference_id);
    compare("last job transition", earlier.last_job_transition_id, later.last_job_transition_id);
    if (!changed.empty()) reasons.push_back("a pass with nothing left to do (since the last answer: " +
                                            joined_reasons(changed, ", ") + ")");
    if (later.jobs_unfinished > 0) reasons.push_back(fmt::format("{} retraining jobs to finish", later.jobs_unfinished));
    if (later.findings_unrouted > 0)
        reasons.push_back(fmt::format("{} findings to be routed by the alert router", later.findings_unrouted));
    if (later.findings_unseen_by_retraining > 0)
        reasons.push_back(fmt::format("{} findings to be seen by the retraining policy",
                                      later.findings_unseen_by_retraining));
    return joined_reasons(reasons);
}

Result<LockstepWait> wait_until_settled(const LockstepHooks& hooks, const LockstepOptions& options) {
    using Out = Result<LockstepWait>;
    const auto started = hooks.now();
    const auto deadline = started + options.timeout;
    LockstepWait wait;
    std::optional<DaemonProgress> earlier;
    std::string waiting_for = "a first answer";
    while (true) {
        auto reading = hooks.fetch();
        auto& answer = reading.progress;
        ++wait.answers;
        if (!answer.ok() && reading.final)
            return Out::failure("modelwatchd refused the progress request, so there is nothing to wait for: " +
                                answer.error);
        if (!answer.ok()) {
            waiting_for = "an answer (the last attempt: " + answer.error + ")";
        } else if (!earlier) {
            earlier = std::move(answer.value);
            waiting_for = "a second answer";
        } else if (answer.value.monitor_passes_ended < earlier->monitor_passes_ended) {
            // The count went back: another daemon process answers (it was
            // restarted). Its passes are counted from its start, so `earlier`
            // would wait for a pass number the new process may reach only
            // long after it has settled; start over from this answer.
            ++wait.restarts;
            waiting_for = fmt::format("a second answer from the restarted daemon (its monitor passes ended: {}, "
                                      "before the restart: {})",
                                      answer.value.monitor_passes_ended, earlier->monitor_passes_ended);
            earlier = std::move(answer.value);
        } else {
            waiting_for = unsettled_reason(*earlier, answer.value);
            if (waiting_for.empty()) {
                wait.waited = hooks.now() - started;
                return {wait, {}};
            }
            // The next round starts from this answer once the pass after
            // `earlier` has ended (it found work, or something else is
            // pending), or at once when `earlier` could not start one.
            if (answer.value.monitor_passes_ended >= earlier->monitor_next_pass ||
                earlier->spool_undrained_batches > 0 || !earlier->owned)
                earlier = std::move(answer.value);
        }
        if (hooks.now() + options.poll > deadline)
            return Out::failure(fmt::format(
                "modelwatchd has not judged what was sent within {:g} s ({} answers read); still waiting for: {}",
                std::chrono::duration<double>(options.timeout).count(), wait.answers, waiting_for));
        hooks.sleep(options.poll);
    }
}

}  // namespace mw::elec2
