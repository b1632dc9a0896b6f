#include "examples/elec2/command_line.h"

namespace mw::elec2 {

CommandLine read_command_line(std::span<char* const> args, std::span<const mw::command_line::Option> options,
                              void* target, std::string_view program, std::string_view synopsis) {
    CommandLine command;
    command.usage = std::string(synopsis) + mw::command_line::describe(options);
    const BadUsage bad_usage{program, command.usage};
    auto given = mw::command_line::parse(args, options);
    if (!given.ok()) {
        command.exit_status = bad_usage(given.error);
        return command;
    }
    command.parsed = std::move(given.parsed);
    if (command.parsed.help) {
        fmt::print("{}", command.usage);
        command.exit_status = 0;
    } else if (!command.parsed.positionals.empty()) {
        command.exit_status =
            bad_usage(fmt::format("unexpected argument '{}'", command.parsed.positionals.front()));
    } else if (const auto error = mw::command_line::apply(command.parsed, options, target); !error.empty()) {
        command.exit_status = bad_usage(error);
    }
    return command;
}

}  // namespace mw::elec2
