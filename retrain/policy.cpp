#include "retrain/policy.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace mw::retrain {
namespace {

bool is_finding_driven(TriggerKind kind) { return kind != schedule_trigger && kind != manual_trigger; }

void replace_all(std::string& text, std::string_view field, std::string_view value) {
    for (std::size_t at = text.find(field); at != std::string::npos; at = text.find(field, at + value.size()))
        text.replace(at, field.size(), value);
}

Decision skip(Decision decision, std::string reason) {
    decision.verdict = Verdict::skip;
    decision.reason = std::move(reason);
    return decision;
}

// The checks every trigger goes through once its hold (if any) is met;
// `window` is the finding's, none for requests.
Decision check_limits(const RetrainPolicyOptions& options, const PolicyState& state, Decision decision,
                      std::int64_t now_us, const std::optional<FindingWindow>& window = std::nullopt) {
    for (const auto& job : state.active_jobs)
        if (job.dedup_key == decision.dedup_key) {
            decision.existing_job = job.id;
            return skip(std::move(decision),
                        fmt::format("duplicate: job {} with key {} is {}", job.id, job.dedup_key, job.state));
        }
    if (!state.active_jobs.empty()) {
        const auto& job = state.active_jobs.front();
        return skip(std::move(decision),
                    fmt::format("busy: job {} with key {} is {}", job.id, job.dedup_key, job.state));
    }
    if (state.last_finished_us) {
        const std::int64_t since_ms = (now_us - *state.last_finished_us) / 1000;
        if (since_ms < options.cooldown_ms)
            return skip(std::move(decision),
                        fmt::format("cooldown: last job ended {} ago, cooldown {}", format_duration_ms(since_ms),
                                    format_duration_ms(options.cooldown_ms)));
        if (window && window->sequence - state.last_window_before_finish < options.cooldown_windows) {
            const std::int64_t after = window->sequence - state.last_window_before_finish;
            return skip(std::move(decision),
                        after <= 0 ? fmt::format("cooldown: window {} closed before the last job ended, cooldown {} "
                                                 "windows after it",
                                                 window->sequence, options.cooldown_windows)
                                   : fmt::format("cooldown: window {} is window {} of the {} after the last job "
                                                 "ended",
                                                 window->sequence, after, options.cooldown_windows));
        }
    }
    const auto recent = std::count_if(state.queued_at_us.begin(), state.queued_at_us.end(),
                                      [&](std::int64_t at_us) { return at_us > now_us - budget_window_us; });
    if (recent >= options.daily_budget)
        return skip(std::move(decision), fmt::format("budget: {} jobs in the last 24 h, budget {}", recent,
                                                     options.daily_budget));
    decision.verdict = Verdict::enqueue;
    return decision;
}

Decision check_policy(const RetrainPolicyOptions& options, const PolicyState& state, Decision decision) {
    if (!options.enabled) return skip(std::move(decision), "disabled: the retraining policy of this model is off");
    if (state.breaker_open)
        return skip(std::move(decision),
                    fmt::format("breaker open after {} consecutive failures", state.consecutive_failures));
    return decision;
}

}  // namespace

std::optional<TriggerKind> parse_trigger_kind(std::string_view text) {
    if (text == schedule_trigger) return schedule_trigger;
    if (text == manual_trigger) return manual_trigger;
    if (is_finding_kind(text)) return finding_kind(text);
    return std::nullopt;
}

const TriggerOptions* RetrainPolicyOptions::trigger(TriggerKind kind) const {
    for (const auto& candidate : triggers)
        if (candidate.kind == kind) return &candidate;
    return nullptr;
}

std::string check_options(const RetrainPolicyOptions& options) {
    for (std::size_t i = 0; i < options.triggers.size(); ++i) {
        const auto& trigger = options.triggers[i];
        if (trigger.hold_for_ms < 0)
            return fmt::format("triggers[{}].hold_for_ms must not be negative, not {}", i, trigger.hold_for_ms);
        if (trigger.min_findings < 1)
            return fmt::format("triggers[{}].min_findings must be at least 1, not {}", i, trigger.min_findings);
        for (std::size_t j = 0; j < i; ++j)
            if (options.triggers[j].kind == trigger.kind)
                return fmt::format("triggers[{}] repeats the kind {} of triggers[{}]", i, trigger.kind, j);
    }
    if (options.cooldown_ms < 0) return fmt::format("cooldown_ms must not be negative, not {}", options.cooldown_ms);
    if (options.cooldown_windows < 0)
        return fmt::format("cooldown_windows must not be negative, not {}", options.cooldown_windows);
    if (options.daily_budget < 1)
        return fmt::format("daily_budget must be at least 1, not {}", options.daily_budget);
    if (options.breaker_failures < 1)
        return fmt::format("breaker_failures must be at least 1, not {}", options.breaker_failures);
    if (options.dedup_key_template.empty()) return "dedup_key_template must not be empty";
    return {};
}

std::string hold_key(TriggerKind kind, std::string_view subject) {
    return fmt::format("{}/{}", kind, subject);
}

std::string dedup_key(const RetrainPolicyOptions& options, std::string_view model, TriggerKind kind,
                      std::string_view subject) {
    std::string key = options.dedup_key_template;
    replace_all(key, "{model}", model);
    replace_all(key, "{trigger}", kind);
    replace_all(key, "{subject}", subject);
    return key;
}

std::optional<TriggerKind> finding_trigger(const RetrainPolicyOptions& options, const Finding& finding) {
    const auto kind = parse_trigger_kind(finding.kind);
    if (!kind || !is_finding_driven(*kind) || options.trigger(*kind) == nullptr) return std::nullopt;
    return kind;
}

void observe(PolicyState& state, const RetrainPolicyOptions& options, const Finding& finding) {
    const auto kind = finding_trigger(options, finding);
    if (!kind) return;
    const std::string key = hold_key(*kind, finding.subject);
    if (!finding.triggered) {
        state.holds.erase(key);
        return;
    }
    ++state.holds.try_emplace(key, HoldRun{finding.window_end_us, 0}).first->second.findings;
}

Decision evaluate(const RetrainPolicyOptions& options, const PolicyState& state, const Finding& finding,
                  std::int64_t now_us, const std::optional<FindingWindow>& window) {
    Decision decision;
    const auto kind = finding_trigger(options, finding);
    if (!kind || !finding.triggered) return decision;
    decision.trigger = kind;
    decision.dedup_key = dedup_key(options, state.model, *kind, finding.subject);
    decision = check_policy(options, state, std::move(decision));
    if (decision.verdict == Verdict::skip) return decision;
    if (window && state.reference_id && window->reference_id != *state.reference_id)
        return skip(std::move(decision),
                    fmt::format("superseded: window {} was judged against reference {}, replaced by reference {}",
                                window->sequence, window->reference_id, *state.reference_id));

    const TriggerOptions& trigger = *options.trigger(*kind);
    const auto run = state.holds.find(hold_key(*kind, finding.subject));
    const HoldRun held = run == state.holds.end() ? HoldRun{finding.window_end_us, 1} : run->second;
    const std::int64_t held_ms = (finding.window_end_us - held.first_window_end_us) / 1000;
    if (held_ms < trigger.hold_for_ms)
        return skip(std::move(decision), fmt::format("hold: {} triggered for {} of {}", *kind,
                                                     format_duration_ms(held_ms),
                                                     format_duration_ms(trigger.hold_for_ms)));
    if (held.findings < trigger.min_findings)
        return skip(std::move(decision), fmt::format("hold: {} triggered in {} of the {} findings it needs",
                                                     *kind, held.findings, trigger.min_findings));
    decision.reason = fmt::format("{} triggered for {} over {} findings", *kind,
                                  format_duration_ms(held_ms), held.findings);
    return check_limits(options, state, std::move(decision), now_us, window);
}

Decision evaluate_request(const RetrainPolicyOptions& options, const PolicyState& state, TriggerKind kind,
                          std::int64_t now_us) {
    Decision decision;
    decision.trigger = kind;
    decision.dedup_key = dedup_key(options, state.model, kind, "");
    decision = check_policy(options, state, std::move(decision));
    if (decision.verdict == Verdict::skip) return decision;
    decision.reason = fmt::format("{} request", kind);
    return check_limits(options, state, std::move(decision), now_us);
}

void record_enqueued(PolicyState& state, const Decision& decision, std::string_view subject, std::int64_t job_id,
                     std::int64_t now_us) {
    state.queued_at_us.push_back(now_us);
    state.active_jobs.push_back({job_id, decision.dedup_key, "queued"});
    if (decision.trigger) state.holds.erase(hold_key(*decision.trigger, subject));
}

bool breaker_should_open(const RetrainPolicyOptions& options, const PolicyState& state) {
    return !state.breaker_open && state.consecutive_failures >= options.breaker_failures;
}

std::string format_duration_ms(std::int64_t duration_ms) {
    constexpr std::int64_t minute_ms = 60 * 1000;
    constexpr std::int64_t hour_ms = 60 * minute_ms;
    if (duration_ms < minute_ms) return fmt::format("{} s", duration_ms / 1000);
    if (duration_ms < 3 * hour_ms) return fmt::format("{} min", duration_ms / minute_ms);
    if (duration_ms % hour_ms == 0) return fmt::format("{} h", duration_ms / hour_ms);
    return fmt::format("{:.1f} h", static_cast<double>(duration_ms) / static_cast<double>(hour_ms));
}

}  // namespace mw::retrain
