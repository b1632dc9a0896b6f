// The daemon's admin API from the command line: the same operations as
// daemon/api.h's admin routes, so an operator does not write curl by hand.
//   modelwatch audit run MODEL AUDIT          run a fairness audit now
//   modelwatch retrain MODEL [--reason TEXT]  queue a retraining job (the policy may refuse, and says why)
//   modelwatch reference upload MODEL FILE    pin a reference from a CSV or NDJSON file
//   modelwatch status [findings|alerts|jobs|windows|audits|decisions] [--model M]
// Every one takes --daemon URL (default http://127.0.0.1:8470, or
// $MODELWATCH_URL) and --token-env NAME (the environment variable holding a
// bearer token; default MODELWATCH_TOKEN).
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "config/values.h"
#include "core/http_client.h"
#include "core/utf8.h"

namespace mw::cli {
namespace {

constexpr std::string_view default_url = "http://127.0.0.1:8470";

struct Connection {
    std::string url;
    std::string token_env = "MODELWATCH_TOKEN";
};

// What an admin command was asked; the rows below fill it.
struct AdminArguments {
    Connection connection;
    std::string reason = "requested with modelwatch retrain";
    std::string model;
};

// What every admin command accepts, after its own options.
constexpr command_line::Option daemon_option{
    "--daemon", "URL", "the daemon's address (default http://127.0.0.1:8470, or $MODELWATCH_URL)", false,
    command_line::stores<&AdminArguments::connection, &Connection::url>};
constexpr command_line::Option token_option{
    "--token-env", "NAME", "the environment variable holding a bearer token (default MODELWATCH_TOKEN)", false,
    command_line::stores<&AdminArguments::connection, &Connection::token_env>};

constexpr std::array retrain_options{
    command_line::Option{"--reason", "TEXT", "recorded with the job and its decision", false,
                         command_line::stores<&AdminArguments::reason>},
    daemon_option, token_option};
constexpr std::array reference_options{daemon_option, token_option};
constexpr std::array status_options{
    command_line::Option{"--model", "M", "only those of model M", false, command_line::stores<&AdminArguments::model>},
    daemon_option, token_option};
constexpr std::array audit_run_options{daemon_option, token_option};

constexpr Form retrain_form_table[] = {{"retrain", "MODEL [--reason TEXT] [--daemon URL] [--token-env NAME]",
                                        [] {
                                            return std::string(
                                                "Asks the daemon to queue a retraining job for MODEL; its retraining "
                                                "policy may refuse\n(cooldown, budget, breaker) and says why.\n");
                                        },
                                        retrain_options}};
constexpr Form reference_form_table[] = {
    {"reference", "upload MODEL FILE.csv|FILE.ndjson [--daemon URL] [--token-env NAME]",
     [] {
         return std::string(
             "Pins MODEL's reference to the rows of a CSV (header row) or NDJSON file of predictions.\n");
     },
     reference_options}};
constexpr Form status_form_table[] = {
    {"status", "[findings|alerts|jobs|windows|audits|decisions] [--model M] [--daemon URL] [--token-env NAME]",
     [] {
         return std::string(
             "Prints the daemon's latest findings (default), alerts, jobs, windows, audits or decisions as JSON.\n");
     },
     status_options}};
constexpr Form audit_run_form{"audit run", "MODEL AUDIT [--daemon URL] [--token-env NAME]",
                              [] {
                                  return std::string(
                                      "Runs the configured fairness audit AUDIT of MODEL in the daemon now and prints "
                                      "its result.\n");
                              },
                              audit_run_options};

// The --daemon URL (checked before anything is sent) and the token's variable.
std::string connection_of(const command_line::Parsed& parsed, const Form& form, AdminArguments& arguments) {
    const char* from_env = std::getenv("MODELWATCH_URL");
    Connection& connection = arguments.connection;
    connection.url = from_env && *from_env ? from_env : std::string(default_url);
    command_line::apply(parsed, form.options, &arguments);  // every row stores its value as given
    while (!connection.url.empty() && connection.url.back() == '/') connection.url.pop_back();
    if (const auto url = http::parse_url(connection.url + "/"); !url.error.empty())
        return fmt::format("--daemon (or MODELWATCH_URL) '{}': {}", connection.url, url.error);
    return "";
}

// A model, audit or collection name goes into the URL (a path segment or the
// query), so it must be a name by the configuration's rule (config/values.h);
// its length is the daemon's to refuse.
std::string name_error(std::string_view what, std::string_view name) {
    if (config::is_valid_name(name, std::numeric_limits<std::size_t>::max())) return "";
    return fmt::format("{} '{}' is not a name ([A-Za-z0-9_.-], at least one)", what, name);
}

int call(const Connection& connection, std::string method, const std::string& path, std::string body = {},
         std::string content_type = "application/json") {
    http::Request request;
    request.method = std::move(method);
    request.url = connection.url + path;
    request.body = std::move(body);
    request.content_type = std::move(content_type);
    request.timeout = std::chrono::minutes(10);  // an audit of millions of rows takes a while
    request.max_response_bytes = 64 << 20;
    if (const char* token = std::getenv(connection.token_env.c_str()); token && *token)
        request.headers.emplace_back("Authorization", std::string("Bearer ") + token);
    const auto response = http::send(request);
    if (!response.ok()) {
        std::fprintf(stderr, "modelwatch: the daemon at %s did not answer: %s\n", terminal_safe(connection.url).c_str(),
                     terminal_safe(response.error).c_str());
        return exit_unreachable;
    }
    // Whatever answers at the address is outside: its bytes reach the
    // terminal through terminal_safe, JSON as JSON (its strings may hold C1
    // controls that parse and dump keep).
    const auto json = nlohmann::json::parse(response.body, nullptr, false);
    const std::string shown =
        json.is_discarded() ? terminal_safe(response.body) : terminal_safe(json.dump(2), Escapes::json_u);
    std::printf("%s\n", shown.c_str());
    return response.success() ? exit_ok : exit_negative;
}

// Parses an admin command's line: its options, the connection and exactly
// `positionals` positional arguments (named in `usage`). Sets `exit_code` when
// the command must not run.
struct AdminLine {
    command_line::Parsed parsed;
    AdminArguments arguments;
    int exit_code = -1;
};
AdminLine parse_admin(std::string_view command, const Form& form, Args args, std::size_t min_positionals,
                      std::size_t max_positionals) {
    auto given = parse_or_exit(command, form, args);
    AdminLine line{std::move(given.parsed)};
    line.exit_code = given.exit_code;
    if (line.exit_code >= 0) return line;
    const auto count = line.parsed.positionals.size();
    if (count < min_positionals || count > max_positionals) {
        line.exit_code = usage_error(
            form.name, count < min_positionals
                           ? fmt::format("missing arguments: usage: modelwatch {} {}", form.name, form.usage)
                           : fmt::format("unexpected argument '{}'", line.parsed.positionals[max_positionals]));
        return line;
    }
    if (const auto error = connection_of(line.parsed, form, line.arguments); !error.empty())
        line.exit_code = usage_error(form.name, error);
    return line;
}

}  // namespace

std::span<const Form> retrain_forms() { return retrain_form_table; }
std::span<const Form> reference_forms() { return reference_form_table; }
std::span<const Form> status_forms() { return status_form_table; }
const Form& admin_audit_form() { return audit_run_form; }

int run_admin_audit(Args args) {
    // args[0] is "run".
    auto line = parse_admin("audit", audit_run_form, args.subspan(1), 2, 2);
    if (line.exit_code >= 0) return line.exit_code;
    const auto& model = line.parsed.positionals[0];
    const auto& audit = line.parsed.positionals[1];
    for (const auto& error : {name_error("MODEL", model), name_error("AUDIT", audit)})
        if (!error.empty()) return usage_error("audit run", error);
    return call(line.arguments.connection, "POST", fmt::format("/v1/models/{}/audits/{}/run", model, audit));
}

int run_retrain(Args args) {
    auto line = parse_admin("retrain", retrain_form_table[0], args, 1, 1);
    if (line.exit_code >= 0) return line.exit_code;
    const auto& model = line.parsed.positionals[0];
    if (const auto error = name_error("MODEL", model); !error.empty()) return usage_error("retrain", error);
    const std::string& reason = line.arguments.reason;
    return call(line.arguments.connection, "POST", fmt::format("/v1/models/{}/retrain", model),
                nlohmann::json{{"reason", reason}}.dump());
}

int run_reference(Args args) {
    auto line = parse_admin("reference", reference_form_table[0], args, 3, 3);
    if (line.exit_code >= 0) return line.exit_code;
    const auto& positionals = line.parsed.positionals;
    if (positionals[0] != "upload")
        return usage_error("reference", fmt::format("unknown action '{}' (the action is upload)", positionals[0]));
    const auto& model = positionals[1];
    const auto& path = positionals[2];
    if (const auto error = name_error("MODEL", model); !error.empty()) return usage_error("reference", error);
    std::ifstream file(path, std::ios::binary);
    if (!file) return usage_error("reference", fmt::format("cannot read {}", path));
    std::ostringstream content;
    content << file.rdbuf();
    const bool ndjson = path.ends_with(".ndjson") || path.ends_with(".jsonl") || path.ends_with(".json");
    return call(line.arguments.connection, "POST", fmt::format("/v1/models/{}/reference", model), content.str(),
                ndjson ? "application/x-ndjson" : "text/csv");
}

int run_status(Args args) {
    auto line = parse_admin("status", status_form_table[0], args, 0, 1);
    if (line.exit_code >= 0) return line.exit_code;
    const std::string what = line.parsed.positionals.empty() ? "findings" : line.parsed.positionals[0];
    // The daemon owns the collections' names (an unknown one is its 404).
    if (const auto error = name_error("the collection", what); !error.empty())
        return usage_error("status", error);
    const std::string& model = line.arguments.model;
    if (!model.empty())
        if (const auto error = name_error("--model", model); !error.empty()) return usage_error("status", error);
    return call(line.arguments.connection, "GET", fmt::format("/v1/{}?limit=20{}", what, model.empty() ? "" : "&model=" + model));
}

}  // namespace mw::cli
