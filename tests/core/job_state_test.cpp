#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/job_state.h"

using mw::JobState;

TEST_CASE("job states convert to and from their stored names", "[job_state]") {
    for (int i = 0; i <= static_cast<int>(JobState::rolled_back); ++i) {
        const auto state = static_cast<JobState>(i);
        CHECK(mw::parse_job_state(mw::to_string(state)) == state);
    }
    CHECK_FALSE(mw::parse_job_state("done"));
    CHECK(mw::is_legal_transition(JobState::validated, JobState::rejected));
    CHECK_FALSE(mw::is_legal_transition(JobState::queued, JobState::promoted));
    CHECK_FALSE(mw::is_legal_transition(JobState::rolled_back, JobState::promoted));
}

// The lists retention's SQL is built from (store/retention.cpp): every state
// in exactly one of them, a promoted job decided though it can still move.
TEST_CASE("job states split into undecided and decided names", "[job_state]") {
    CHECK(mw::undecided_state_names() == std::vector<std::string>{"queued", "running", "succeeded", "validated"});
    CHECK(mw::decided_state_names() ==
          std::vector<std::string>{"failed", "timed_out", "promoted", "rejected", "rolled_back"});
}
