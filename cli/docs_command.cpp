// `modelwatch __generate-docs DIR` (hidden; run by the build):
// writes modelwatch.1, modelwatchd.8, the bash completions
// completions/modelwatch and completions/modelwatchd, and monitoring-tables.md
// (docs/monitoring.md's tables of findings and components, which
// tests/registry/registry_test.cpp checks the doc holds) into DIR, from the
// tables the programs themselves use - the command table and each command's
// forms and option tables (cli/command_table.cpp), the exit status table
// (cli/exit_status.cpp), the daemon's flag table (daemon/flags.h), the
// registries (registry/catalog.h) and
// the configuration's option tables (config/sections.cpp) - so the manual
// and the completion cannot disagree with the code.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "config/option_table.h"
#include "config/sections.h"
#include "core/finding_kinds.h"
#include "daemon/flags.h"
#include "registry/catalog.h"
#include "registry/docs.h"

namespace mw::cli {

namespace {

// roff text: backslashes escaped, and a line starting with a control
// character ('.' or '\'') protected by a zero-width \&.
std::string roff(std::string_view text) {
    std::string out;
    bool line_start = true;
    for (const char c : text) {
        if (line_start && (c == '.' || c == '\'')) out += "\\&";
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
        line_start = c == '\n';
    }
    return out;
}

// A preformatted block (a command's --help text as printed).
std::string roff_block(std::string_view text) {
    std::string body = roff(text);
    if (!body.empty() && body.back() != '\n') body += '\n';
    return ".PP\n.nf\n" + body + ".fi\n";
}

// The daemon's flags and the parser's --help, in the order documented.
std::vector<command_line::Option> daemon_rows() {
    std::vector<command_line::Option> rows(daemon::flags().begin(), daemon::flags().end());
    rows.push_back(command_line::help_option);
    return rows;
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
    return out;
}

std::string cli_man_page() {
    std::string page = fmt::format(".TH MODELWATCH 1 \"\" \"modelwatch {}\" \"User Commands\"\n", MODELWATCH_VERSION);
    page += ".SH NAME\nmodelwatch \\- offline model monitoring reports and the modelwatchd admin client\n";
    page += ".SH SYNOPSIS\n.B modelwatch\n.I COMMAND\n.RI [ ARGS ...]\n.br\n.B modelwatch\n.I COMMAND\n.B \\-\\-help\n"
            ".br\n.B modelwatch \\-\\-version\n";
    page += ".SH DESCRIPTION\n"
            "\\fBmodelwatch\\fR runs the daemon's detectors on CSV files (drift, concept drift, anomalies, "
            "fairness audits), checks a daemon configuration, migrates the store's schema, and speaks the "
            "admin API of a running \\fBmodelwatchd\\fR(8).\n";
    page += ".SH COMMANDS\n";
    for (const auto& command : commands())
        page += fmt::format(".TP\n.B {}\n{}\n", roff(command.name), roff(command.summary));
    for (const auto& command : commands()) {
        page += fmt::format(".SS modelwatch {}\n", roff(command.name));
        page += roff_block(help(command));
    }
    page += ".SH ENVIRONMENT\n"
            ".TP\n.B MODELWATCH_URL\nthe daemon's address for the admin commands (default http://127.0.0.1:8470)\n"
            ".TP\n.B MODELWATCH_TOKEN\nthe bearer token of the admin commands (the variable is chosen with "
            "\\-\\-token\\-env)\n"
            ".TP\n.B MODELWATCH_DSN\nthe PostgreSQL connection string of \\fBmodelwatch migrate\\fR\n";
    page += ".SH EXIT STATUS\n";
    for (const auto& status : exit_statuses())
        page += fmt::format(".TP\n.B {}\n{}{}\n", static_cast<int>(status.code),
                            status.commands.empty() ? "" : roff(fmt::format("{}: ", status.commands)),
                            roff(status.meaning));
    page += ".SH SEE ALSO\n\\fBmodelwatchd\\fR(8)\n";
    return page;
}

std::string daemon_man_page() {
    std::string page = fmt::format(".TH MODELWATCHD 8 \"\" \"modelwatch {}\" \"System Administration\"\n",
                                   MODELWATCH_VERSION);
    page += ".SH NAME\nmodelwatchd \\- monitors machine-learning models in production\n";
    page += ".SH SYNOPSIS\n";
    for (const auto& row : daemon_rows())
        page += fmt::format(".B modelwatchd\n.B {}{}\n.br\n", roff(row.name),
                            row.value.empty() ? "" : fmt::format("\n.I {}", roff(row.value)));
    page += ".SH DESCRIPTION\n"
            "\\fBmodelwatchd\\fR ingests predictions and outcomes over HTTP and from NDJSON files into a local "
            "fdatasync'd spool and PostgreSQL, and runs drift, concept drift, data quality, performance, "
            "anomaly and bias detection on live windows, alerts, retraining and scheduled fairness audits. "
            "It is run by systemd (modelwatchd.service, Type=notify); SIGHUP reloads the configuration "
            "(a bad file is reported and the running one stays in force), SIGTERM drains and stops. "
            "Schema migrations run at start, under an advisory lock, so an upgraded package migrates the "
            "database when the new daemon starts.\n";
    page += ".SH OPTIONS\n";
    for (const auto& row : daemon_rows())
        page += fmt::format(".TP\n.B {}{}\n{}\n", roff(row.name),
                            row.value.empty() ? "" : " \\fI" + roff(row.value) + "\\fR", roff(row.help));
    page += ".SH CONFIGURATION\n"
            "A YAML file; unknown keys are errors and every error names the key path and the line. "
            "Every key, with its kind, default, range and meaning (the daemon's own option tables):\n";
    for (const auto& option : config::describe_options()) {
        std::string detail = config::to_string(option.kind);
        if (option.required) detail += ", required";
        else if (!option.default_text.empty()) detail += ", default " + option.default_text;
        if (!option.range.empty()) detail += ", " + option.range;
        std::string help = option.help;
        if (!option.registry.empty()) {
            std::string names;
            for (const auto name : registry::catalog().names(option.registry))
                names += (names.empty() ? "" : ", ") + std::string(name);
            help += ". One of: " + names;
        }
        page += fmt::format(".TP\n.B {}\n({}) {}\n", roff(option.path), roff(detail), roff(help));
    }
    // The package's paths; an install with another prefix has them under it.
    page += ".SH FILES\n";
    page += ".TP\n.I /etc/modelwatch/modelwatch.yaml\nthe configuration (a conffile of the package)\n";
    page += ".TP\n.I /etc/modelwatch/modelwatch.env\nenvironment of the service (e.g. MODELWATCH_DSN with a "
            "password), mode 0600\n";
    page += ".TP\n.I /usr/share/doc/modelwatch/modelwatch.yaml.reference\nthe annotated reference: every key with "
            "its default\n";
    page += ".TP\n.I /usr/share/doc/modelwatch/docs/\nthe guides (docs/*.md) that the reference and the messages "
            "name, gzip-compressed: read them with zless\n";
    page += ".TP\n.I /var/lib/modelwatch\nstate: the spool, file-tail checkpoints, job directories, audit reports\n";
    page += ".SH SEE ALSO\n\\fBmodelwatch\\fR(1), \\fBsystemctl\\fR(1), \\fBsystemd.exec\\fR(5)\n";
    return page;
}

std::string cli_completion() {
    std::vector<std::string> names;
    for (const auto& command : commands()) names.emplace_back(command.name);
    std::string script =
        "# bash completion for modelwatch; generated by `modelwatch __generate-docs` from its command table\n"
        "# and each command's --help text.\n"
        "_modelwatch()\n{\n"
        "    local cur prev words cword\n"
        "    _init_completion || return\n"
        "    if [[ $cword -eq 1 ]]; then\n"
        "        COMPREPLY=($(compgen -W '" + join(names) + " --help' -- \"$cur\"))\n"
        "        return\n"
        "    fi\n"
        "    local options=\n"
        "    case ${words[1]} in\n";
    for (const auto& command : commands()) {
        std::vector<std::string> options;
        for (const auto& form : command.forms)
            for (const auto& option : form.options)
                if (std::find(options.begin(), options.end(), option.name) == options.end())
                    options.emplace_back(option.name);
        options.emplace_back(command_line::help_option.name);
        script += fmt::format("        {}) options='{}' ;;\n", command.name, join(options));
    }
    script +=
        "    esac\n"
        "    if [[ $cur == -* ]]; then\n"
        "        COMPREPLY=($(compgen -W \"$options\" -- \"$cur\"))\n"
        "    else\n"
        "        _filedir\n"
        "    fi\n"
        "} &&\n"
        "    complete -F _modelwatch modelwatch\n";
    return script;
}

std::string daemon_completion() {
    std::vector<std::string> all;
    std::vector<std::string> with_file;
    for (const auto& row : daemon_rows()) {
        all.emplace_back(row.name);
        if (row.value == "FILE") with_file.emplace_back(row.name);
    }
    std::string file_flags;
    for (const auto& flag : with_file) file_flags += (file_flags.empty() ? "" : "|") + flag;
    return "# bash completion for modelwatchd; generated by `modelwatch __generate-docs` from its flag table.\n"
           "_modelwatchd()\n{\n"
           "    local cur prev words cword\n"
           "    _init_completion || return\n"
           "    case $prev in\n"
           "        " + file_flags + ")\n"
           "            _filedir '@(yaml|yml)'\n"
           "            return\n"
           "            ;;\n"
           "    esac\n"
           "    [[ $cword -eq 1 ]] && COMPREPLY=($(compgen -W '" + join(all) + "' -- \"$cur\"))\n"
           "} &&\n"
           "    complete -F _modelwatchd modelwatchd\n";
}

bool write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) std::fprintf(stderr, "modelwatch __generate-docs: cannot write %s\n", path.c_str());
    return static_cast<bool>(out);
}

}  // namespace

int run_generate_docs(Args args) {
    if (args.size() != 1) {
        std::fprintf(stderr, "usage: modelwatch __generate-docs DIR\n");
        return 2;
    }
    const std::filesystem::path dir = args[0];
    std::error_code ec;
    std::filesystem::create_directories(dir / "completions", ec);
    if (ec) {
        std::fprintf(stderr, "modelwatch __generate-docs: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
        return 2;
    }
    const bool ok = write(dir / "modelwatch.1", cli_man_page()) && write(dir / "modelwatchd.8", daemon_man_page()) &&
                    write(dir / "completions" / "modelwatch", cli_completion()) &&
                    write(dir / "completions" / "modelwatchd", daemon_completion()) &&
                    write(dir / "monitoring-tables.md",
                          finding_kind_table_markdown() + "\n" +
                              registry::component_tables_markdown(registry::catalog()));
    return ok ? 0 : 2;
}

}  // namespace mw::cli
