// modelwatch quarantine list: the quarantine files in a spool directory
// (store/quarantine.h, docs/privacy.md "Quarantine files"), read from their
// names and first lines only; the records themselves are counted, never
// printed, and nothing is loaded into the store: loading them is exactly
// what the daemon refused.
#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "config/config.h"
#include "core/time.h"
#include "store/quarantine.h"

namespace mw::cli {
namespace {

struct QuarantineArguments {
    std::string dir = config::default_spool_dir(config::Config{}.state_dir);
};

constexpr command_line::Option option_table[] = {
    {"--dir", "DIR", "the daemon's spool directory (spool.dir; default: <state_dir>/spool of\nthe default state_dir)",
     false, command_line::stores<&QuarantineArguments::dir>},
};

std::string description() {
    return "Lists the quarantine files in the daemon's spool directory, oldest first: when\n"
           "each was written, what it holds (predictions or outcomes), how many records,\n"
           "and why they were not stored (the file's first line). Records acknowledged but\n"
           "never stored; keep each file as the record of what was refused and delete it\n"
           "once the clients have sent those records again (docs/privacy.md).\n";
}

constexpr Form forms[] = {{"quarantine list", "[--dir DIR]", description, option_table}};

// The reason as one printable line: it quotes PostgreSQL's errors, which may
// quote a (policy-processed) value, so control bytes are shown escaped.
std::string printable(std::string_view text) {
    std::string out;
    for (const unsigned char c : text) {
        if (c == '\\') out += "\\\\";
        else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
        else out += static_cast<char>(c);
    }
    return out;
}

}  // namespace

std::span<const Form> quarantine_forms() { return forms; }

int run_quarantine(Args args) {
    if (args.empty() || std::string_view(args[0]) != "list") {
        if (!args.empty() && (std::string_view(args[0]) == "--help" || std::string_view(args[0]) == "-h")) {
            std::fputs(help("quarantine").c_str(), stdout);
            return exit_ok;
        }
        return usage_error("quarantine", "expected 'list'");
    }
    const auto given = parse_or_exit("quarantine", forms[0], args.subspan(1));
    if (!given.run()) return given.exit_code;
    if (!given.parsed.positionals.empty())
        return usage_error("quarantine list", fmt::format("unexpected argument '{}'", given.parsed.positionals.front()));
    QuarantineArguments arguments;
    if (const auto error = command_line::apply(given.parsed, option_table, &arguments); !error.empty())
        return usage_error("quarantine list", error);
    std::error_code error;
    if (!std::filesystem::is_directory(arguments.dir, error))
        return usage_error("quarantine list", fmt::format("{} is not a readable directory", arguments.dir));

    const auto files = store::list_quarantine(arguments.dir);
    std::uint64_t records = 0;
    for (const auto& file : files) {
        records += file.records;
        std::printf("%s  %-11s  %6llu records  %s  %s\n", format_rfc3339_us(file.written_us).c_str(),
                    file.kind.c_str(), static_cast<unsigned long long>(file.records), file.name.c_str(),
                    printable(file.reason).c_str());
    }
    std::printf("%zu quarantine file%s, %llu record%s in %s\n", files.size(), files.size() == 1 ? "" : "s",
                static_cast<unsigned long long>(records), records == 1 ? "" : "s", arguments.dir.c_str());
    return exit_ok;
}

}  // namespace mw::cli
