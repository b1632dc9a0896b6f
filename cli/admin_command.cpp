// The daemon's admin API from the command line: the same operations as
// daemon/api.h's admin routes, so an operator does not write curl by hand.
//   modelwatch audit run MODEL AUDIT          run a fairness audit now
//   modelwatch retrain MODEL [--reason TEXT]  queue a retraining job (the policy may refuse, and says why)
//   modelwatch reference upload MODEL FILE    pin a reference from a CSV or NDJSON file
//   modelwatch status [findings|alerts|jobs|windows|audits|decisions] [--model M]
// Every one takes --daemon URL (default http://127.0.0.1:8470, or
// $MODELWATCH_URL) and --token-env NAME (the environment variable holding a
// bearer token; default MODELWATCH_TOKEN).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/http_client.h"

namespace mw::cli {
namespace {

struct Connection {
    std::string url = "http://127.0.0.1:8470";
    std::string token_env = "MODELWATCH_TOKEN";
};

// Splits off --daemon and --token-env; returns the other arguments.
std::vector<std::string> common_options(Args args, Connection& connection, std::string& error) {
    if (const char* url = std::getenv("MODELWATCH_URL")) connection.url = url;
    std::vector<std::string> rest;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string arg = args[i];
        if ((arg == "--daemon" || arg == "--token-env") && i + 1 >= args.size()) {
            error = arg + " needs a value";
            return {};
        }
        if (arg == "--daemon")
            connection.url = args[++i];
        else if (arg == "--token-env")
            connection.token_env = args[++i];
        else
            rest.push_back(arg);
    }
    while (!connection.url.empty() && connection.url.back() == '/') connection.url.pop_back();
    return rest;
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
        std::fprintf(stderr, "modelwatch: %s\n", response.error.c_str());
        return 2;
    }
    const auto json = nlohmann::json::parse(response.body, nullptr, false);
    std::printf("%s\n", json.is_discarded() ? response.body.c_str() : json.dump(2).c_str());
    return response.success() ? 0 : 1;
}

// What every admin command accepts besides its own arguments.
constexpr std::string_view connection_help =
    "\n"
    "  --daemon URL       the daemon's address (default http://127.0.0.1:8470, or $MODELWATCH_URL)\n"
    "  --token-env NAME   the environment variable holding a bearer token (default MODELWATCH_TOKEN)\n"
    "\n"
    "exit status: 0 done, 1 the daemon refused (its answer says why), 2 usage error or daemon unreachable.\n";

constexpr std::string_view retrain_usage = "usage: modelwatch retrain MODEL [--reason TEXT] [--daemon URL] [--token-env NAME]\n";
constexpr std::string_view reference_usage =
    "usage: modelwatch reference upload MODEL FILE.csv|FILE.ndjson [--daemon URL] [--token-env NAME]\n";
constexpr std::string_view status_usage =
    "usage: modelwatch status [findings|alerts|jobs|windows|audits|decisions] [--model M] [--daemon URL] "
    "[--token-env NAME]\n";
constexpr std::string_view audit_run_usage = "usage: modelwatch audit run MODEL AUDIT [--daemon URL] [--token-env NAME]\n";

int usage(std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stderr);
    return 2;
}

bool wants_help(Args args) {
    for (const char* arg : args)
        if (std::string_view(arg) == "--help" || std::string_view(arg) == "-h") return true;
    return false;
}

int print_help(const std::string& text) {
    std::fputs(text.c_str(), stdout);
    return 0;
}

}  // namespace

std::string retrain_help() {
    return std::string(retrain_usage) +
           "\nAsks the daemon to queue a retraining job for MODEL; its retraining policy may refuse\n"
           "(cooldown, budget, breaker) and says why.\n\n"
           "  --reason TEXT      recorded with the job and its decision\n" +
           std::string(connection_help);
}

std::string reference_help() {
    return std::string(reference_usage) +
           "\nPins MODEL's reference to the rows of a CSV (header row) or NDJSON file of predictions.\n" +
           std::string(connection_help);
}

std::string status_help() {
    return std::string(status_usage) +
           "\nPrints the daemon's latest findings (default), alerts, jobs, windows, audits or decisions as JSON.\n\n"
           "  --model M          only those of model M\n" +
           std::string(connection_help);
}

int run_admin_audit(Args args) {
    if (wants_help(args)) return print_help(audit_help());
    Connection connection;
    std::string error;
    const auto rest = common_options(args, connection, error);
    if (!error.empty() || rest.size() != 3 || rest[0] != "run")
        return usage(audit_run_usage);
    return call(connection, "POST", fmt::format("/v1/models/{}/audits/{}/run", rest[1], rest[2]));
}

int run_retrain(Args args) {
    if (wants_help(args)) return print_help(retrain_help());
    Connection connection;
    std::string error;
    auto rest = common_options(args, connection, error);
    std::string reason = "requested with modelwatch retrain";
    for (std::size_t i = 0; i + 1 < rest.size(); ++i)
        if (rest[i] == "--reason") {
            reason = rest[i + 1];
            rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i), rest.begin() + static_cast<std::ptrdiff_t>(i) + 2);
            break;
        }
    if (!error.empty() || rest.size() != 1)
        return usage(retrain_usage);
    return call(connection, "POST", fmt::format("/v1/models/{}/retrain", rest[0]),
                nlohmann::json{{"reason", reason}}.dump());
}

int run_reference(Args args) {
    if (wants_help(args)) return print_help(reference_help());
    Connection connection;
    std::string error;
    const auto rest = common_options(args, connection, error);
    if (!error.empty() || rest.size() != 3 || rest[0] != "upload")
        return usage(reference_usage);
    std::ifstream file(rest[2], std::ios::binary);
    if (!file) {
        std::fprintf(stderr, "modelwatch: cannot read %s\n", rest[2].c_str());
        return 2;
    }
    std::ostringstream content;
    content << file.rdbuf();
    const bool ndjson = rest[2].ends_with(".ndjson") || rest[2].ends_with(".jsonl") || rest[2].ends_with(".json");
    return call(connection, "POST", fmt::format("/v1/models/{}/reference", rest[1]), content.str(),
                ndjson ? "application/x-ndjson" : "text/csv");
}

int run_status(Args args) {
    if (wants_help(args)) return print_help(status_help());
    Connection connection;
    std::string error;
    auto rest = common_options(args, connection, error);
    std::string model;
    for (std::size_t i = 0; i + 1 < rest.size(); ++i)
        if (rest[i] == "--model") {
            model = rest[i + 1];
            rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i), rest.begin() + static_cast<std::ptrdiff_t>(i) + 2);
            break;
        }
    const std::string what = rest.empty() ? "findings" : rest[0];
    if (!error.empty() || rest.size() > 1)
        return usage(status_usage);
    return call(connection, "GET", fmt::format("/v1/{}?limit=20{}", what, model.empty() ? "" : "&model=" + model));
}

}  // namespace mw::cli
