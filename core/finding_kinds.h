// The finding kinds (DESIGN.md "Decisions"): the one list of what a finding's
// `kind` may be. Every emitter names its kind from here (finding_kind()),
// `alerting.kinds` and `retrain.triggers[].kind` accept exactly these, and
// docs/monitoring.md's findings table is made from this table
// (finding_kind_table_markdown(), checked by tests/registry/registry_test.cpp).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mw {

struct FindingKind {
    std::string_view name;
    std::string_view when;     // when it is produced
    std::string_view subject;  // what its subject names
    std::string_view source;   // the code that makes it
    bool alerts_by_default;    // in the alert router's default set (alerting.kinds empty)
};

std::span<const FindingKind> finding_kinds();

// The kind named `name`; an unknown name is a programming error
// (std::logic_error), so an emitter cannot make a kind nobody accepts.
std::string_view finding_kind(std::string_view name);

bool is_finding_kind(std::string_view name);

// The kinds that alert when alerting.kinds is empty.
std::vector<std::string> default_alerting_kinds();

// What may start a retraining job besides a finding kind: a due cron slot of
// retrain.schedule, and a request over the admin API (POST /v1/jobs), which
// a configuration may also name as a trigger.
inline constexpr std::string_view schedule_trigger = "schedule";
inline constexpr std::string_view manual_trigger = "manual";

// docs/monitoring.md's findings table.
std::string finding_kind_table_markdown();

}  // namespace mw
