// modelwatch's command line, run in process through run_modelwatch (what
// main() calls): every subcommand's options in both spellings, --help that
// never reaches the daemon, errors that name the option, and the exit
// statuses of cli/exit_status.h.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/exit_status.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"

namespace cli = mw::cli;
using mw::testing::TempDir;

namespace {

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

// Runs `modelwatch WORDS...` with standard output and error captured.
Run run(std::vector<std::string> words) {
    TempDir dir("mw-cli");
    const auto out_path = dir.path() / "out";
    const auto err_path = dir.path() / "err";
    std::fflush(stdout);
    std::fflush(stderr);
    const int saved_out = ::dup(1);
    const int saved_err = ::dup(2);
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE((saved_out >= 0 && saved_err >= 0 && out_fd >= 0 && err_fd >= 0));
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    Run result;
    result.code = cli::run_modelwatch(argv);
    std::fflush(stdout);
    std::fflush(stderr);
    ::dup2(saved_out, 1);
    ::dup2(saved_err, 2);
    for (const int fd : {saved_out, saved_err, out_fd, err_fd}) ::close(fd);
    result.out = mw::testing::read_text(out_path);
    result.err = mw::testing::read_text(err_path);
    return result;
}

std::string joined(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
    return text;
}

// A daemon stand-in that answers every request at once (so a command that
// wrongly calls it fails its test quickly instead of waiting for a timeout)
// and counts the connections made to it.
class Listener {
public:
    Listener()
        : server_([](const mw::testing::ReceivedRequest&) {
              return mw::testing::CannedResponse{200, {}, "{}"};
          }) {}
    std::string url() const { return server_.url(); }
    bool contacted() const { return server_.connections() > 0; }

private:
    mw::testing::TestHttpServer server_;
};

// The admin commands' default address for the scope of a test, so that a
// command ignoring --daemon would still be seen.
class DaemonUrl {
public:
    explicit DaemonUrl(const std::string& url) { ::setenv("MODELWATCH_URL", url.c_str(), 1); }
    ~DaemonUrl() { ::unsetenv("MODELWATCH_URL"); }
};

// The words that reach a form: `audit run` is the audit command's second form.
std::vector<std::string> form_prefix(const cli::Command& command, const cli::Form& form) {
    if (form.name == command.name) return {std::string(command.name)};
    return {std::string(command.name), std::string(form.name.substr(command.name.size() + 1))};
}

}  // namespace

TEST_CASE("every command's --help and -h print its help, exit 0 and never contact the daemon") {
    Listener listener;
    DaemonUrl daemon_url(listener.url());
    for (const auto& command : cli::commands()) {
        for (const auto& form : command.forms) {
            const auto prefix = form_prefix(command, form);
            for (const std::string help : {"--help", "-h"}) {
                // Alone, after a positional, before a bad option, after an
                // option whose value it would be, and with the daemon named.
                for (const auto& tail : std::vector<std::vector<std::string>>{
                         {help},
                         {"a-model", help},
                         {help, "--no-such-option"},
                         {"--reason", help},
                         {"a-model", "--daemon", listener.url(), help},
                         {"--daemon=" + listener.url(), "m", "a", help}}) {
                    auto words = prefix;
                    words.insert(words.end(), tail.begin(), tail.end());
                    INFO(joined(words));
                    const Run result = run(words);
                    CHECK(result.code == 0);
                    CHECK(result.out.starts_with("usage: modelwatch " + std::string(command.name)));
                    CHECK(result.out.find("exit status:") != std::string::npos);
                    CHECK(result.err.empty());
                    CHECK_FALSE(listener.contacted());
                }
            }
        }
    }
}

TEST_CASE("every option of every command is in its help, and takes --opt=value as --opt value") {
    for (const auto& command : cli::commands()) {
        const std::string text = cli::help(command);
        for (const auto& form : command.forms) {
            CHECK(text.find("usage: modelwatch " + std::string(form.name) + " ") != std::string::npos);
            // The required options given, so that only the option under test decides.
            std::vector<std::string> required;
            for (const auto& option : form.options)
                if (option.required) required.push_back(std::string(option.name) + "=x");
            for (const auto& option : form.options) {
                INFO(form.name << " " << option.name);
                CHECK(text.find("  " + std::string(option.name) + " ") != std::string::npos);
                const auto parse = [&](std::vector<std::string> words) {
                    words.insert(words.end(), required.begin(), required.end());
                    std::vector<char*> argv;
                    for (auto& word : words) argv.push_back(word.data());
                    return mw::command_line::parse(argv, form.options);
                };
                if (option.value.empty()) {
                    CHECK(parse({std::string(option.name)}).parsed.has(option.name));
                    CHECK(parse({std::string(option.name) + "=1"}).error.find(option.name) != std::string::npos);
                    continue;
                }
                const auto spaced = parse({std::string(option.name), "v=1 2"});
                const auto joined_form = parse({std::string(option.name) + "=v=1 2"});
                REQUIRE(spaced.ok());
                REQUIRE(joined_form.ok());
                // The last value wins, so a required option under test is read as given here.
                CHECK(spaced.parsed.values(option.name).front() == "v=1 2");
                CHECK(joined_form.parsed.values(option.name).front() == "v=1 2");
            }
        }
    }
}

TEST_CASE("an unknown option or a missing value is a usage error that names it, on every command") {
    Listener listener;
    DaemonUrl daemon_url(listener.url());
    for (const auto& command : cli::commands()) {
        for (const auto& form : command.forms) {
            const auto prefix = form_prefix(command, form);
            auto words = prefix;
            words.push_back("--no-such-option");
            Run result = run(words);
            INFO(joined(words));
            CHECK(result.code == cli::exit_usage);
            CHECK(result.err.find("modelwatch " + std::string(form.name) + ": unknown option '--no-such-option'") !=
                  std::string::npos);
            CHECK(result.out.empty());
            for (const auto& option : form.options) {
                if (option.value.empty()) continue;
                // At the end of the line, and followed by another option.
                for (const auto& tail : std::vector<std::vector<std::string>>{
                         {std::string(option.name)}, {std::string(option.name), "--no-such-option"}}) {
                    words = prefix;
                    words.insert(words.end(), tail.begin(), tail.end());
                    INFO(joined(words));
                    result = run(words);
                    CHECK(result.code == cli::exit_usage);
                    CHECK(result.err.find(std::string(option.name) + " needs a value (" + std::string(option.value) +
                                          ")") != std::string::npos);
                }
            }
        }
    }
    CHECK_FALSE(listener.contacted());
}

TEST_CASE("the offline commands read --opt=value") {
    TempDir dir("mw-cli-offline");
    const auto path = [&](const char* name) { return (dir.path() / name).string(); };
    std::string reference = "a,b\n", current = "a,b\n", stream, series = "timestamp,value\n", audit =
        "group,y,p\n";
    for (int i = 0; i < 200; ++i) {
        reference += std::to_string(i % 10) + "," + std::to_string(i % 3) + "\n";
        current += std::to_string(i % 10 + 50) + "," + std::to_string(i % 3) + "\n";
        stream += std::to_string(i < 100 ? 0.0 : 5.0 + (i % 2)) + "\n";
        series += std::to_string(1700000000 + i * 60) + "," + std::to_string(i % 7) + "\n";
        audit += std::string(i % 2 ? "x" : "z") + "," + std::to_string(i % 3 == 0) + "," + std::to_string(i % 4 == 0) +
                 "\n";
    }
    mw::testing::write_text(path("ref.csv"), reference);
    mw::testing::write_text(path("cur.csv"), current);
    mw::testing::write_text(path("stream.csv"), stream);
    mw::testing::write_text(path("series.csv"), series);
    mw::testing::write_text(path("audit.csv"), audit);

    Run result = run({"drift", "--reference=" + path("ref.csv"), "--current=" + path("cur.csv"), "--columns=a",
                      "--format=json", "--resamples=0", "--no-multivariate"});
    CHECK(result.code == cli::exit_negative);  // column a moved by 50: dataset drift
    CHECK_FALSE(nlohmann::json::parse(result.out, nullptr, false).is_discarded());
    result = run({"drift", "--reference=" + path("ref.csv"), "--current=" + path("cur.csv"), "--method=bogus"});
    CHECK(result.code == cli::exit_usage);
    CHECK(result.err.find("--method: unknown drift method \"bogus\"; known: auto, ks,") != std::string::npos);
    // Every choice of a command is its table's: unknown names are listed, with a suggestion when one is close.
    const std::vector<std::pair<std::vector<std::string>, std::string>> refused_choices = {
        {{"drift", "--mode=robst"}, "--mode: unknown drift mode \"robst\" (did you mean \"robust\"?); known: robust, legacy"},
        {{"drift", "--correction=bonferoni"},
         "--correction: unknown correction \"bonferoni\" (did you mean \"bonferroni\"?); known: benjamini_hochberg, "
         "bonferroni, none, bh, fdr_bh"},
        {{"drift", "--format=jsn"},
         "--format: unknown report format \"jsn\" (did you mean \"json\"?); known: text, json, html"},
        {{"detect", "--detector=page_hinkley", "--format=yaml"},
         "--format: unknown output format \"yaml\"; known: text, json"},
    };
    for (const auto& [args, message] : refused_choices) {
        std::vector<std::string> full = args;
        if (args[0] == "drift") {
            full.push_back("--reference=" + path("ref.csv"));
            full.push_back("--current=" + path("cur.csv"));
        } else {
            full.push_back("--input=" + path("stream.csv"));
        }
        result = run(full);
        INFO(result.err);
        CHECK(result.code == cli::exit_usage);
        CHECK(result.err.find(message) != std::string::npos);
    }

    result = run({"detect", "--detector=page_hinkley", "--input=" + path("stream.csv"), "--format=json"});
    CHECK(result.code == cli::exit_ok);
    const auto report = nlohmann::json::parse(result.out, nullptr, false);
    REQUIRE_FALSE(report.is_discarded());
    CHECK(report["values"] == 200);
    CHECK_FALSE(report["drifts"].empty());

    result = run({"anomaly", "--input=" + path("series.csv"), "--param=no_such_parameter=1"});
    CHECK(result.code == cli::exit_usage);
    CHECK(result.err.find("no_such_parameter") != std::string::npos);
    result = run({"anomaly", "--input=" + path("series.csv")});
    CHECK(result.code == cli::exit_ok);
    CHECK(result.out.starts_with("timestamp,value,anomaly_score\n"));

    result = run({"audit", "--input=" + path("audit.csv"), "--sensitive=group", "--y-true=y", "--y-pred=p",
                  "--format=json", "--bootstrap=20", "--min-group-size=5"});
    CHECK(result.code == cli::exit_ok);
    const auto audit_report = nlohmann::json::parse(result.out, nullptr, false);
    CHECK_FALSE(audit_report.is_discarded());

    result = run({"check-config", "--skip-env=yes", path("none.yaml")});
    CHECK(result.code == cli::exit_usage);
    CHECK(result.err.find("--skip-env takes no value") != std::string::npos);
    result = run({"check-config", "a.yaml", "b.yaml"});
    CHECK(result.code == cli::exit_usage);
    CHECK(result.err.find("exactly one configuration file") != std::string::npos);
}

TEST_CASE("the admin commands read --opt=value and send what they were given") {
    mw::testing::TestHttpServer daemon([](const mw::testing::ReceivedRequest&) {
        return mw::testing::CannedResponse{200, {{"Content-Type", "application/json"}}, R"({"ok": true})"};
    });
    TempDir dir("mw-cli-admin");
    const auto sample = (dir.path() / "sample.csv").string();
    mw::testing::write_text(sample, "a,b\n1,2\n");
    ::setenv("MW_TEST_TOKEN", "s3cret", 1);

    CHECK(run({"retrain", "elec2", "--reason=new upstream", "--daemon=" + daemon.url()}).code == cli::exit_ok);
    CHECK(run({"status", "jobs", "--model=elec2", "--daemon=" + daemon.url()}).code == cli::exit_ok);
    CHECK(run({"reference", "upload", "elec2", sample, "--daemon=" + daemon.url(), "--token-env=MW_TEST_TOKEN"}).code ==
          cli::exit_ok);
    CHECK(run({"audit", "run", "adult", "daily", "--daemon=" + daemon.url() + "/"}).code == cli::exit_ok);
    ::unsetenv("MW_TEST_TOKEN");

    const auto requests = daemon.requests();
    REQUIRE(requests.size() == 4);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].target == "/v1/models/elec2/retrain");
    CHECK(nlohmann::json::parse(requests[0].body)["reason"] == "new upstream");
    CHECK(requests[1].target == "/v1/jobs?limit=20&model=elec2");
    CHECK(requests[2].target == "/v1/models/elec2/reference");
    CHECK(requests[2].body == "a,b\n1,2\n");
    CHECK(requests[2].header("Authorization") == "Bearer s3cret");
    CHECK(requests[3].target == "/v1/models/adult/audits/daily/run");
}

TEST_CASE("exit statuses: usage 2, daemon unreachable 3, daemon error 1, all distinct") {
    CHECK(cli::exit_usage == 2);
    CHECK(cli::exit_unreachable != cli::exit_usage);
    CHECK(cli::exit_unreachable != cli::exit_negative);
    CHECK(cli::exit_negative != cli::exit_usage);

    SECTION("the daemon answered with an error: 1, its answer printed") {
        mw::testing::TestHttpServer daemon([](const mw::testing::ReceivedRequest&) {
            return mw::testing::CannedResponse{409, {}, R"({"error": "in cooldown until 03:12"})"};
        });
        const Run result = run({"retrain", "elec2", "--daemon", daemon.url()});
        CHECK(result.code == cli::exit_negative);
        CHECK(result.out.find("in cooldown until 03:12") != std::string::npos);
        CHECK(daemon.requests().size() == 1);
    }
    SECTION("no daemon on the port: 3, naming the address") {
        const std::string url = "http://127.0.0.1:" + std::to_string(mw::testing::unused_port());
        for (const auto& words : std::vector<std::vector<std::string>>{{"retrain", "elec2", "--daemon", url},
                                                                        {"status", "--daemon=" + url},
                                                                        {"audit", "run", "m", "a", "--daemon", url}}) {
            INFO(joined(words));
            const Run result = run(words);
            CHECK(result.code == cli::exit_unreachable);
            CHECK(result.err.find("the daemon at " + url + " did not answer") != std::string::npos);
        }
    }
    SECTION("PostgreSQL unreachable: migrate exits 3") {
        const std::string port = std::to_string(mw::testing::unused_port());
        const Run result = run({"migrate", "--dsn=host=127.0.0.1 port=" + port + " connect_timeout=5"});
        CHECK(result.code == cli::exit_unreachable);
        CHECK(result.err.find("cannot connect to PostgreSQL") != std::string::npos);
        CHECK(result.err.find(port) != std::string::npos);
    }
    SECTION("usage errors: 2, and nothing is sent") {
        Listener listener;
        for (const auto& words : std::vector<std::vector<std::string>>{
                 {"retrain", "--daemon", listener.url()},                      // no model
                 {"retrain", "a", "b", "--daemon", listener.url()},            // two
                 {"retrain", "a/../b", "--daemon", listener.url()},            // not a name
                 {"status", "--model", "m&limit=9", "--daemon", listener.url()},
                 {"retrain", "m", "--daemon", "ftp://127.0.0.1/"},             // not http(s)
                 {"reference", "download", "m", "f.csv", "--daemon", listener.url()},
                 {"reference", "upload", "m", "/nonexistent.csv", "--daemon", listener.url()},
                 {"status", "a", "b", "--daemon", listener.url()},
                 {"audit", "run", "m", "--daemon", listener.url()},
                 {"migrate", "extra"},
                 {"no-such-command"},
                 {}}) {
            INFO(joined(words));
            const Run result = run(words);
            CHECK(result.code == cli::exit_usage);
            CHECK_FALSE(result.err.empty());
        }
        CHECK_FALSE(listener.contacted());
    }
    SECTION("--version and --help of modelwatch itself: 0") {
        Run result = run({"--version"});
        CHECK(result.code == cli::exit_ok);
        CHECK(result.out == std::string("modelwatch ") + MODELWATCH_VERSION + "\n");
        result = run({"--help"});
        CHECK(result.code == cli::exit_ok);
        for (const auto& status : cli::exit_statuses())
            CHECK(result.out.find(std::string(status.meaning)) != std::string::npos);
    }
}

// The README documents the exit statuses with the table the code returns them from.
TEST_CASE("README's CLI section has the exit status table") {
    const std::string readme = mw::testing::read_text(std::string(MODELWATCH_SOURCE_DIR) + "/README.md");
    std::string table = "| exit status | commands | meaning |\n|---|---|---|\n";
    for (const auto& status : cli::exit_statuses())
        table += "| " + std::to_string(static_cast<int>(status.code)) + " | " +
                 (status.commands.empty() ? std::string("all") : std::string(status.commands)) + " | " +
                 std::string(status.meaning) + " |\n";
    INFO("expected in README.md:\n" << table);
    CHECK(readme.find(table) != std::string::npos);
}

namespace {

// A COPY row of `columns` fields (store/copy_encoding.h: 10 for a prediction,
// 6 for an outcome) whose id is `id`.
std::string copy_row(const std::string& id, int columns = 10) {
    std::string row = "adult\t" + id;
    for (int column = 2; column < columns; ++column) row += "\t\\N";
    return row + "\n";
}

}  // namespace

TEST_CASE("quarantine list prints each quarantine file's time, kind, records and first line, never a record") {
    TempDir dir("mw-cli-quarantine");
    std::ofstream(dir.path() / "quarantine-1700000000000000-0-predictions.copy", std::ios::binary)
        << "-- not stored: privacy_key_mismatch model=adult\x1b[2J\n"
        << copy_row("secret-row-1") << copy_row("secret-row-2");
    std::ofstream(dir.path() / "segment-1.spool", std::ios::binary) << "not listed\n";
    const auto listed = run({"quarantine", "list", "--dir", dir.path().string()});
    CHECK(listed.code == cli::exit_ok);
    CHECK(listed.err.empty());
    CHECK(listed.out.find("2023-11-14T22:13:20") != std::string::npos);
    CHECK(listed.out.find("predictions" + std::string(7, ' ') + "2 records  quarantine-1700000000000000-0-predictions.copy  "
                          "not stored: privacy_key_mismatch model=adult\\x1b[2J\n") != std::string::npos);
    CHECK(listed.out.find("1 quarantine file, 2 records in " + dir.path().string()) != std::string::npos);
    CHECK(listed.out.find("secret-row") == std::string::npos);
    CHECK(listed.out.find("segment") == std::string::npos);

    const auto missing = run({"quarantine", "list", "--dir", (dir.path() / "none").string()});
    CHECK(missing.code == cli::exit_usage);
    CHECK(missing.err.find("is not a readable directory") != std::string::npos);
    CHECK(run({"quarantine"}).code == cli::exit_usage);
    CHECK(run({"quarantine", "load"}).code == cli::exit_usage);
}

TEST_CASE("quarantine list escapes C1 controls and invalid UTF-8 in a reason, and shows UTF-8 text as it is") {
    TempDir dir("mw-cli-quarantine");
    // CSI as a lone byte (0x9B) and as UTF-8 (C2 9B), a cut-short sequence, DEL.
    std::ofstream(dir.path() / "quarantine-1700000000000000-0-outcomes.copy", std::ios::binary)
        << "-- refused: caf\xc3\xa9 \x9b" "2J \xc2\x9b" "2J \xe6\x97 \x7f end\n"
        << copy_row("a", 6);
    const auto listed = run({"quarantine", "list", "--dir", dir.path().string()});
    CHECK(listed.code == cli::exit_ok);
    INFO(listed.out);
    CHECK(listed.out.find("refused: caf\xc3\xa9 \\x9b2J \\xc2\\x9b2J \\xe6\\x97 \\x7f end\n") !=
          std::string::npos);
    CHECK(std::count_if(listed.out.begin(), listed.out.end(), [](char c) {
              const auto byte = static_cast<unsigned char>(c);
              return byte == 0x7f || (byte < 0x20 && byte != '\n');
          }) == 0);
    CHECK(listed.out.find("\x9b") == std::string::npos);
}

TEST_CASE("quarantine list names the files that are not quarantine files, and counts records by their framing") {
    TempDir dir("mw-cli-quarantine");
    // Not a quarantine file: no reason line (a copy of rows put there by hand).
    std::ofstream(dir.path() / "quarantine-1700000000000000-0-predictions.copy", std::ios::binary)
        << copy_row("x") << copy_row("y");
    // Written before the one-line header: the error's DETAIL and CONTEXT lines, then the rows.
    std::ofstream(dir.path() / "quarantine-1700000000000001-0-predictions.copy", std::ios::binary)
        << "-- refused by PostgreSQL: ERROR:  value too long\nDETAIL:  Failing row contains (adult, a).\n"
        << "CONTEXT:  COPY staging_predictions, line 1\n\n"
        << copy_row("a") << copy_row("b");
    // Rows, then a line that is not one.
    std::ofstream(dir.path() / "quarantine-1700000000000002-0-outcomes.copy", std::ios::binary)
        << "-- not stored: x\n" << copy_row("c", 6) << "adult\tcut short\n";
    const auto listed = run({"quarantine", "list", "--dir", dir.path().string()});
    CHECK(listed.code == cli::exit_ok);
    INFO(listed.out);
    CHECK(listed.out.find("quarantine-1700000000000000-0-predictions.copy  not a quarantine file: its first line "
                          "does not start with \"-- \" (a reason line); not counted\n") != std::string::npos);
    CHECK(listed.out.find("2 records  quarantine-1700000000000001-0-predictions.copy  refused by PostgreSQL: ERROR:  "
                          "value too long DETAIL:  Failing row contains (adult, a). CONTEXT:  COPY "
                          "staging_predictions, line 1\n") != std::string::npos);
    CHECK(listed.out.find("1 records (+1 line not outcome records)  quarantine-1700000000000002-0-outcomes.copy") !=
          std::string::npos);
    CHECK(listed.out.find("2 quarantine files, 3 records in " + dir.path().string() +
                          "; 1 file named as a quarantine file is not one\n") != std::string::npos);
}

TEST_CASE("an admin command shows the daemon's answer with its control bytes escaped, JSON still JSON") {
    SECTION("JSON: a C1 control and DEL in a string become \\u escapes; UTF-8 text and JSON's own escapes stay") {
        mw::testing::TestHttpServer daemon([](const mw::testing::ReceivedRequest&) {
            return mw::testing::CannedResponse{
                409, {{"Content-Type", "application/json"}}, "{\"error\": \"caf\xc3\xa9 \xc2\x9b" "2J\x7f \\u001b\"}"};
        });
        const Run result = run({"retrain", "elec2", "--daemon", daemon.url()});
        CHECK(result.code == cli::exit_negative);
        INFO(result.out);
        CHECK(result.out.find("\"error\": \"caf\xc3\xa9 \\u009b2J\\u007f \\u001b\"") != std::string::npos);
        CHECK(nlohmann::json::parse(result.out)["error"] == "caf\xc3\xa9 \xc2\x9b" "2J\x7f \x1b");
    }
    SECTION("not JSON: each byte that is not printable UTF-8 as \\xHH") {
        mw::testing::TestHttpServer daemon([](const mw::testing::ReceivedRequest&) {
            return mw::testing::CannedResponse{502, {}, "bad gateway\x1b[2J\x9b" "31m"};
        });
        const Run result = run({"retrain", "elec2", "--daemon", daemon.url()});
        CHECK(result.code == cli::exit_negative);
        CHECK(result.out == "bad gateway\\x1b[2J\\x9b31m\n");
    }
}
