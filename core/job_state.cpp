#include "core/job_state.h"

#include <array>
#include <utility>

namespace mw {
namespace {

constexpr std::array<std::pair<JobState, const char*>, 9> state_names{{
    {JobState::queued, "queued"},
    {JobState::running, "running"},
    {JobState::succeeded, "succeeded"},
    {JobState::failed, "failed"},
    {JobState::timed_out, "timed_out"},
    {JobState::validated, "validated"},
    {JobState::promoted, "promoted"},
    {JobState::rejected, "rejected"},
    {JobState::rolled_back, "rolled_back"},
}};

std::vector<std::string> state_names_where(bool undecided) {
    std::vector<std::string> names;
    for (const auto& [state, name] : state_names)
        if (is_undecided(state) == undecided) names.emplace_back(name);
    return names;
}

}  // namespace

const char* to_string(JobState state) {
    for (const auto& [value, name] : state_names)
        if (value == state) return name;
    return "unknown";
}

std::optional<JobState> parse_job_state(std::string_view text) {
    for (const auto& [value, name] : state_names)
        if (text == name) return value;
    return std::nullopt;
}

bool is_legal_transition(JobState from, JobState to) {
    using enum JobState;
    switch (from) {
        case queued: return to == running;
        case running: return to == succeeded || to == failed || to == timed_out;
        case succeeded: return to == validated || to == rejected;
        case validated: return to == promoted || to == rejected;
        case promoted: return to == rolled_back;
        case failed:
        case timed_out:
        case rejected:
        case rolled_back: return false;
    }
    return false;
}

bool is_finished(JobState state) { return state != JobState::queued && state != JobState::running; }

bool is_failure(JobState state) {
    return state == JobState::failed || state == JobState::timed_out || state == JobState::rejected;
}

bool is_undecided(JobState state) {
    // A promoted job can still move (rolled back in its probation), but that
    // is the model's verdict, reached without the job.
    if (state == JobState::promoted) return false;
    for (const auto& [next, name] : state_names)
        if (is_legal_transition(state, next)) return true;
    return false;
}

std::vector<std::string> undecided_state_names() { return state_names_where(true); }

std::vector<std::string> decided_state_names() { return state_names_where(false); }

}  // namespace mw
