#include "cli/exit_status.h"

namespace mw::cli {

namespace {

// The admin API's clients.
constexpr std::string_view admin_commands = "retrain, reference, status, audit run";

constexpr ExitStatus exit_status_table[] = {
    {exit_ok, "", "success"},
    {exit_negative, "drift", "dataset drift"},
    {exit_negative, "audit", "--fail-on-violation was given and a disparity is a clear violation"},
    {exit_negative, "check-config", "the configuration is invalid (every problem is printed)"},
    {exit_negative, "migrate", "the migration failed"},
    {exit_negative, admin_commands, "the daemon answered with an error (its answer, printed, says why)"},
    {exit_usage, "", "usage or input error (an unknown option, a missing or bad value, an unreadable file): "
                     "nothing was done"},
    {exit_unreachable, "migrate", "PostgreSQL could not be reached"},
    {exit_unreachable, admin_commands, "the daemon could not be reached or did not answer in time"},
};

}  // namespace

std::span<const ExitStatus> exit_statuses() { return exit_status_table; }

bool applies_to(const ExitStatus& status, std::string_view command) {
    if (status.commands.empty()) return true;
    std::string_view rest = status.commands;
    while (!rest.empty()) {
        const auto comma = rest.find(", ");
        if (rest.substr(0, comma) == command) return true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 2);
    }
    return false;
}

}  // namespace mw::cli
