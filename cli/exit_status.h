// The exit statuses of `modelwatch`, one table: each command's --help, the
// man page's EXIT STATUS and the README's table (checked by tests/cli) are
// written from it, and the commands return these names, never bare numbers.
#pragma once

#include <span>
#include <string_view>

namespace mw::cli {

enum ExitCode : int {
    exit_ok = 0,
    // The answer is "no": dataset drift, a clear fairness violation, an
    // invalid configuration, a failed migration, or the daemon answered
    // with an error (4xx/5xx; its answer is printed).
    exit_negative = 1,
    exit_usage = 2,        // usage or input error: nothing was done
    exit_unreachable = 3,  // the daemon or PostgreSQL could not be reached (or did not answer in time)
};

struct ExitStatus {
    ExitCode code;
    // The commands this row is about, separated by ", " ("drift, audit
    // run"), or empty for all of them.
    std::string_view commands;
    std::string_view meaning;
};

std::span<const ExitStatus> exit_statuses();

// Whether a row applies to `command` ("drift", or "audit run").
bool applies_to(const ExitStatus& status, std::string_view command);

}  // namespace mw::cli
