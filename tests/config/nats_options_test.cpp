// The nats: section: its defaults, and every refusal names the key path and
// line (the section starts at line 5, after a valid head).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/support/temp_dir.h"

using namespace mw::config;

namespace {

LoadResult load_nats_config(std::string_view nats_section) {
    const std::string yaml = std::string(R"(store:
  dsn: "dbname=modelwatch"
models:
  - {name: m, prediction: {type: score}}
)") + std::string(nats_section);
    return load_config_text(yaml, "nats.yaml", [](const std::string& name) -> std::optional<std::string> {
        if (name == "NATS_PASSWORD") return std::string("s3cret");
        return std::nullopt;
    });
}

std::vector<std::string> nats_errors(std::string_view nats_section) {
    std::vector<std::string> out;
    for (const auto& error : load_nats_config(nats_section).errors) out.push_back(to_string(error));
    return out;
}

constexpr std::string_view nats_minimal = "nats:\n  servers: [nats://127.0.0.1:4222]\n  stream: MW\n";

}  // namespace

TEST_CASE("without a nats section there is no NATS collector") {
    const auto result = load_nats_config("");
    REQUIRE(result.ok());
    CHECK_FALSE(result.config->nats.has_value());
}

TEST_CASE("a minimal nats section takes every default") {
    const auto result = load_nats_config(nats_minimal);
    INFO((result.errors.empty() ? std::string() : to_string(result.errors.front())));
    REQUIRE(result.ok());
    REQUIRE(result.config->nats.has_value());
    const NatsOptions& nats = *result.config->nats;
    CHECK(nats.servers == std::vector<std::string>{"nats://127.0.0.1:4222"});
    CHECK(nats.stream == "MW");
    CHECK(nats.consumer == "modelwatch");
    CHECK(nats.predictions_subject == "modelwatch.predictions");
    CHECK(nats.outcomes_subject == "modelwatch.outcomes");
    CHECK(nats.fetch_batch == 256);
    CHECK(nats.fetch_timeout_ms == 1000);
    CHECK(nats.ack_wait_ms == 30000);
    CHECK(nats.retry_delay_ms == 5000);
    // The struct's initializers are the table's defaults.
    NatsOptions by_hand;
    by_hand.servers = nats.servers;
    by_hand.stream = nats.stream;
    CHECK(by_hand == nats);
}

TEST_CASE("the password comes from the environment variable named, never from the file") {
    const auto result = load_nats_config(std::string(nats_minimal) + "  user: mw\n  password_env: NATS_PASSWORD\n");
    REQUIRE(result.ok());
    CHECK(result.config->nats->user == "mw");
    CHECK(result.config->nats->password == "s3cret");

    CHECK(nats_errors(std::string(nats_minimal) + "  user: mw\n  password_env: UNSET_VARIABLE\n") ==
          std::vector<std::string>{
              "nats.password_env (line 9): environment variable UNSET_VARIABLE is not set or is empty"});
    CHECK(nats_errors(std::string(nats_minimal) + "  user: mw\n") ==
          std::vector<std::string>{"nats.user (line 8): user and password_env go together"});
    CHECK(nats_errors(std::string(nats_minimal) + "  user: mw\n  password_env: not-a-name\n") ==
          std::vector<std::string>{"nats.password_env (line 9): expected an environment variable name "
                                   "([A-Za-z_][A-Za-z0-9_]*), got \"not-a-name\""});
}

TEST_CASE("nats refusals name the key and line") {
    CHECK(nats_errors("nats:\n  stream: MW\n") ==
          std::vector<std::string>{"nats.servers (line 5): required key is missing"});
    CHECK(nats_errors("nats:\n  servers: [http://127.0.0.1:4222]\n  stream: MW\n") ==
          std::vector<std::string>{
              "nats.servers (line 6): expected nats://host:port or tls://host:port, got \"http://127.0.0.1:4222\""});
    CHECK(nats_errors("nats:\n  servers: []\n  stream: MW\n") ==
          std::vector<std::string>{"nats.servers (line 6): at least one server URL is required"});
    CHECK(nats_errors("nats:\n  servers: [nats://h:1]\n  stream: M.W\n") ==
          std::vector<std::string>{"nats.stream (line 7): a stream name cannot hold '.', got \"M.W\""});
    CHECK(nats_errors(std::string(nats_minimal) + "  consumer: a.b\n") ==
          std::vector<std::string>{"nats.consumer (line 8): a consumer name cannot hold '.', got \"a.b\""});
    CHECK(nats_errors(std::string(nats_minimal) + "  predictions_subject: mw.*\n") ==
          std::vector<std::string>{"nats.predictions_subject (line 8): \"mw.*\" must not hold wildcards (the model "
                                   "is the token after it)"});
    CHECK(nats_errors(std::string(nats_minimal) + "  outcomes_subject: mw..x\n") ==
          std::vector<std::string>{"nats.outcomes_subject (line 8): \"mw..x\" has an empty token"});
    CHECK(nats_errors(std::string(nats_minimal) + "  outcomes_subject: modelwatch.predictions\n") ==
          std::vector<std::string>{"nats.outcomes_subject (line 8): must differ from predictions_subject"});
    CHECK(nats_errors(std::string(nats_minimal) + "  fetch_batch: 0\n") ==
          std::vector<std::string>{"nats.fetch_batch (line 8): expected an integer in [1, 10000], got \"0\""});
    CHECK(nats_errors(std::string(nats_minimal) + "  fetch_timeout: 2m\n").size() == 1);
    CHECK(nats_errors(std::string(nats_minimal) + "  fetch_tiemout: 2s\n") ==
          std::vector<std::string>{"nats.fetch_tiemout (line 8): unknown key (did you mean \"fetch_timeout\"?)"});
    CHECK(nats_errors("nats: [nats://h:1]\n") ==
          std::vector<std::string>{"nats (line 5): expected a mapping, got a sequence"});
}

TEST_CASE("nats credential files must exist and methods must not be mixed") {
    mw::testing::TempDir dir("mw-nats-config");
    const auto creds = (dir.path() / "user.creds").string();
    mw::testing::write_text(creds, "-----BEGIN NATS USER JWT-----\n");
    const std::string missing = (dir.path() / "missing.creds").string();

    CHECK(load_nats_config(std::string(nats_minimal) + "  creds_file: " + creds + "\n").ok());
    CHECK(nats_errors(std::string(nats_minimal) + "  creds_file: " + missing + "\n") ==
          std::vector<std::string>{"nats.creds_file (line 8): \"" + missing +
                                   "\" is not a readable file here: No such file or directory"});
    CHECK(nats_errors(std::string(nats_minimal) + "  creds_file: relative.creds\n").size() == 1);
    CHECK(nats_errors(std::string(nats_minimal) + "  creds_file: " + creds +
                      "\n  user: mw\n  password_env: NATS_PASSWORD\n") ==
          std::vector<std::string>{"nats.user (line 9): give at most one of user, creds_file and nkey"});

    const std::string nkey = "U" + std::string(55, 'A');
    CHECK(load_nats_config(std::string(nats_minimal) + "  nkey: " + nkey + "\n  nkey_seed_file: " + creds + "\n").ok());
    CHECK(nats_errors(std::string(nats_minimal) + "  nkey: " + nkey + "\n") ==
          std::vector<std::string>{"nats.nkey (line 8): nkey and nkey_seed_file go together"});
    CHECK(nats_errors(std::string(nats_minimal) + "  nkey: SUAAA\n  nkey_seed_file: " + creds + "\n") ==
          std::vector<std::string>{
              "nats.nkey (line 8): expected a user's public nkey (56 characters starting with U)"});

    CHECK(load_nats_config(std::string(nats_minimal) + "  tls_ca_file: " + creds + "\n").ok());
    CHECK(nats_errors(std::string(nats_minimal) + "  tls_cert_file: " + creds + "\n") ==
          std::vector<std::string>{"nats.tls_key_file (line 5): tls_cert_file and tls_key_file go together"});
}
