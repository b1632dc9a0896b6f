// modelwatch quarantine list: the quarantine files in a spool directory
// (store/quarantine.h, docs/privacy.md "Quarantine files"), read from their
// names and reason lines only; the records themselves are counted, never
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
#include "core/utf8.h"
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
           "once the clients have sent those records again (docs/privacy.md).\n"
           "\n"
           "A record is a line with the columns of its kind; other lines after the records\n"
           "are counted apart, and a file named as a quarantine file without a reason line\n"
           "is listed as not one. Bytes that are not printable UTF-8 are shown escaped.\n";
}

constexpr Form forms[] = {{"quarantine list", "[--dir DIR]", description, option_table}};

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

    // The reasons quote PostgreSQL's errors, which may quote a value a client
    // sent: shown through terminal_safe, like every byte the CLI echoes.
    const auto files = store::list_quarantine(arguments.dir);
    std::uint64_t quarantine_files = 0;
    std::uint64_t records = 0;
    for (const auto& file : files) {
        if (!file.not_quarantine.empty()) {
            std::printf("%s  not a quarantine file: %s; not counted\n", file.name.c_str(),
                        file.not_quarantine.c_str());
            continue;
        }
        ++quarantine_files;
        records += file.records;
        const std::string unframed =
            file.unframed_lines == 0
                ? ""
                : fmt::format(" (+{} line{} not {} records)", file.unframed_lines, file.unframed_lines == 1 ? "" : "s",
                              file.kind == "predictions" ? "prediction" : "outcome");
        std::printf("%s  %-11s  %6llu records%s  %s  %s\n", format_rfc3339_us(file.written_us).c_str(),
                    file.kind.c_str(), static_cast<unsigned long long>(file.records), unframed.c_str(),
                    file.name.c_str(), terminal_safe(file.reason).c_str());
    }
    const auto others = files.size() - quarantine_files;
    const std::string not_quarantine =
        others == 0   ? ""
        : others == 1 ? "; 1 file named as a quarantine file is not one"
                      : fmt::format("; {} files named as quarantine files are not", others);
    std::printf("%llu quarantine file%s, %llu record%s in %s%s\n", static_cast<unsigned long long>(quarantine_files),
                quarantine_files == 1 ? "" : "s", static_cast<unsigned long long>(records), records == 1 ? "" : "s",
                terminal_safe(arguments.dir).c_str(), not_quarantine.c_str());
    return exit_ok;
}

}  // namespace mw::cli
