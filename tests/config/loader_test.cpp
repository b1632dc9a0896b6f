#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/support/temp_dir.h"

using namespace mw::config;

namespace {

// A hermetic environment: only MODELWATCH_DSN is set.
Environment environment_with_dsn() {
    return [](const std::string& name) -> std::optional<std::string> {
        if (name == "MODELWATCH_DSN") return std::string("host=/tmp dbname=from_env");
        return std::nullopt;
    };
}

LoadResult load(std::string_view yaml) { return load_config_text(yaml, "test.yaml", environment_with_dsn()); }

std::vector<std::string> messages(const LoadResult& result) {
    std::vector<std::string> out;
    for (const auto& error : result.errors) out.push_back(to_string(error));
    return out;
}

// The one error a document is expected to produce.
std::string only_error(std::string_view yaml) {
    const auto result = load(yaml);
    CHECK_FALSE(result.ok());
    const auto all = messages(result);
    INFO("errors: " << all.size());
    for (const auto& message : all) UNSCOPED_INFO(message);
    REQUIRE(all.size() == 1);
    return all.front();
}

// Lines 1-4: a valid store and model that other documents append to.
constexpr std::string_view valid_head = R"(store:
  dsn: "dbname=modelwatch"
models:
  - {name: m, prediction: {type: score}}
)";

std::string with_head(std::string_view rest) { return std::string(valid_head) + std::string(rest); }

}  // namespace

TEST_CASE("a minimal config loads and takes every default") {
    const auto result = load(valid_head);
    INFO((result.errors.empty() ? std::string() : to_string(result.errors.front())));
    REQUIRE(result.ok());
    REQUIRE(result.errors.empty());
    const Config& config = *result.config;
    CHECK(config.state_dir == "/var/lib/modelwatch");
    CHECK(config.server.listen_address == "127.0.0.1");
    CHECK(config.server.listen_port == 8470);
    CHECK(config.server.max_body_bytes == 32ull << 20);
    CHECK(config.server.max_records_per_request == 100000);
    CHECK(config.server.max_connections == 512);
    CHECK(config.server.header_timeout_ms == 10000);
    CHECK(config.server.body_timeout_ms == 60000);
    CHECK(config.server.idle_timeout_ms == 60000);
    CHECK(config.server.max_json_depth == 32);
    CHECK(config.server.tokens.empty());
    CHECK(config.store.dsn == "dbname=modelwatch");
    CHECK(config.store.dsn_env.empty());
    CHECK(config.store.connect_timeout_ms == 5000);
    CHECK(config.store.retry_initial_ms == 200);
    CHECK(config.store.retry_max_ms == 10000);
    CHECK(config.store.batch_max_records == 50000);
    CHECK(config.store.partition_days == 1);
    CHECK(config.spool.dir == "/var/lib/modelwatch/spool");
    CHECK(config.spool.max_bytes == 1ull << 30);
    CHECK(config.spool.segment_bytes == 64ull << 20);
    CHECK(config.spool.group_commit_max_wait_us == 0);
    CHECK(config.log.level == LogLevel::info);
    REQUIRE(config.models.size() == 1);
    CHECK(config.models[0].schema.name == "m");
    CHECK(config.models[0].schema.prediction_type == mw::PredictionType::score);
    CHECK(config.models[0].schema.features.empty());
    CHECK(config.models[0].schema.classes.empty());
    CHECK(config.models[0].tokens.empty());
    CHECK(config.file_tails.empty());
    CHECK(summarize(config) == "config OK: 1 model, 0 file tails");
}

TEST_CASE("a full config fills every field") {
    const auto result = load(R"(state_dir: /srv/mw
server:
  listen: "[::1]:0"
  max_body_bytes: 500KB
  max_records_per_request: 7
  max_connections: 9
  header_timeout: 1500
  body_timeout: 2m
  idle_timeout: 250ms
  max_json_depth: 5
  tokens:
    - sha256: "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
store:
  dsn_env: MODELWATCH_DSN
  connect_timeout: 1s
  retry_initial: 50
  retry_max: 1m
  batch_max_records: 1000
  partition_days: 1
spool:
  dir: /srv/spool
  max_bytes: 2GiB
  segment_bytes: 1MiB
  group_commit_max_wait: 2ms
log:
  level: debug
models:
  - name: churn
    prediction: {type: multiclass, classes: [stay, leave, pause]}
    features:
      - {name: tenure, type: numeric}
      - {name: plan, type: categorical}
      - {name: promo, type: boolean}
    attributes: [region]
    tokens: [{sha256: "0000000000000000000000000000000000000000000000000000000000000001"}]
  - name: price.v2
    prediction: {type: regression}
file_tails:
  - {path: /var/log/churn.ndjson, model: churn}
  - {path: /var/log/churn-labels.ndjson, model: churn, kind: outcomes, poll_interval: 2s}
)");
    INFO((result.errors.empty() ? std::string() : to_string(result.errors.front())));
    REQUIRE(result.ok());
    const Config& config = *result.config;
    CHECK(config.state_dir == "/srv/mw");
    CHECK(config.server.listen_address == "::1");
    CHECK(config.server.listen_port == 0);
    CHECK(config.server.max_body_bytes == 500000);
    CHECK(config.server.max_records_per_request == 7);
    CHECK(config.server.max_connections == 9);
    CHECK(config.server.header_timeout_ms == 1500);
    CHECK(config.server.body_timeout_ms == 120000);
    CHECK(config.server.idle_timeout_ms == 250);
    CHECK(config.server.max_json_depth == 5);
    REQUIRE(config.server.tokens.size() == 1);
    CHECK(config.server.tokens[0].sha256_hex == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    CHECK(config.store.dsn == "host=/tmp dbname=from_env");
    CHECK(config.store.dsn_env == "MODELWATCH_DSN");
    CHECK(config.store.connect_timeout_ms == 1000);
    CHECK(config.store.retry_initial_ms == 50);
    CHECK(config.store.retry_max_ms == 60000);
    CHECK(config.store.batch_max_records == 1000);
    CHECK(config.store.partition_days == 1);
    CHECK(config.spool.dir == "/srv/spool");
    CHECK(config.spool.max_bytes == 2ull << 30);
    CHECK(config.spool.segment_bytes == 1ull << 20);
    CHECK(config.spool.group_commit_max_wait_us == 2000);
    CHECK(config.log.level == LogLevel::debug);
    REQUIRE(config.models.size() == 2);
    const auto& churn = config.models[0];
    CHECK(churn.schema.name == "churn");
    CHECK(churn.schema.prediction_type == mw::PredictionType::multiclass);
    CHECK(churn.schema.classes == std::vector<std::string>{"stay", "leave", "pause"});
    REQUIRE(churn.schema.features.size() == 3);
    CHECK(churn.schema.features[0].name == "tenure");
    CHECK(churn.schema.features[0].type == mw::FeatureType::numeric);
    CHECK(churn.schema.features[1].type == mw::FeatureType::categorical);
    CHECK(churn.schema.features[2].type == mw::FeatureType::boolean);
    CHECK(churn.schema.attributes == std::vector<std::string>{"region"});
    REQUIRE(churn.tokens.size() == 1);
    CHECK(churn.tokens[0].sha256_hex.back() == '1');
    CHECK(config.models[1].schema.name == "price.v2");
    CHECK(config.models[1].schema.prediction_type == mw::PredictionType::regression);
    CHECK(config.find_model("price.v2") == &config.models[1]);
    REQUIRE(config.file_tails.size() == 2);
    CHECK(config.file_tails[0].path == "/var/log/churn.ndjson");
    CHECK(config.file_tails[0].model == "churn");
    CHECK(config.file_tails[0].kind == mw::RecordKind::prediction);
    CHECK(config.file_tails[0].poll_interval_ms == 500);
    CHECK(config.file_tails[1].kind == mw::RecordKind::outcome);
    CHECK(config.file_tails[1].poll_interval_ms == 2000);
    CHECK(summarize(config) == "config OK: 2 models, 2 file tails");
}

TEST_CASE("an unknown key is an error, with a suggestion when a known key is close") {
    CHECK(only_error(with_head("server:\n  lisen: \"127.0.0.1:1\"\n")) ==
          "server.lisen (line 6): unknown key (did you mean \"listen\"?)");
    CHECK(only_error(with_head("spool:\n  max_byte: 1GiB\n")) ==
          "spool.max_byte (line 6): unknown key (did you mean \"max_bytes\"?)");
    CHECK(only_error(with_head("colour: blue\n")) == "colour (line 5): unknown key");
    CHECK(only_error(with_head("file_tails:\n  - {path: /a, model: m, knd: outcomes}\n")) ==
          "file_tails[0].knd (line 6): unknown key (did you mean \"kind\"?)");
}

TEST_CASE("a value of the wrong type is an error naming what was expected") {
    CHECK(only_error(with_head("server:\n  max_connections: [1, 2]\n")) ==
          "server.max_connections (line 6): expected an integer in [1, 65535], got a sequence");
    CHECK(only_error(with_head("server:\n  max_connections: lots\n")) ==
          "server.max_connections (line 6): expected an integer in [1, 65535], got \"lots\"");
    CHECK(only_error(with_head("server: 5\n")) == "server (line 5): expected a mapping, got \"5\"");
    CHECK(only_error(with_head("file_tails: {path: /a}\n")) == "file_tails (line 5): expected a sequence, got a mapping");
    // One message for one mistake: no "models required" or "dsn required" on top.
    CHECK(only_error("store: {dsn: x}\nmodels: 5\n") == "models (line 2): expected a sequence, got \"5\"");
    CHECK(only_error("store: dbname=x\nmodels: [{name: m, prediction: {type: score}}]\n") ==
          "store (line 1): expected a mapping, got \"dbname=x\"");
    CHECK(only_error(with_head("log:\n  level: {a: 1}\n")) ==
          "log.level (line 6): expected one of error, warning, notice, info, debug, got a mapping");
}

TEST_CASE("a value out of range is an error showing the range") {
    CHECK(only_error(with_head("server:\n  max_connections: 0\n")) ==
          "server.max_connections (line 6): expected an integer in [1, 65535], got \"0\"");
    CHECK(only_error(with_head("server:\n  max_body_bytes: 2GiB\n")) ==
          "server.max_body_bytes (line 6): expected a size in [1KiB, 1GiB], got \"2GiB\"");
    CHECK(only_error(with_head("server:\n  header_timeout: 1h\n")) ==
          "server.header_timeout (line 6): expected a duration in [100ms, 10m], got \"1h\"");
    CHECK(only_error(with_head("server:\n  listen: \"0.0.0.0:70000\"\n")) ==
          "server.listen (line 6): expected \"host:port\" (port 0 to 65535, IPv6 as \"[::1]:8470\"), got "
          "\"0.0.0.0:70000\"");
    // --check-config refuses what the daemon could not bind at start.
    CHECK(only_error(with_head("server:\n  listen: \"localhost:8470\"\n")).starts_with(
        "server.listen (line 6): \"localhost\" is not an IP address"));
    CHECK(only_error("store:\n  dsn: x\n  partition_days: 7\nmodels: [{name: m, prediction: {type: score}}]\n") ==
          "store.partition_days (line 3): expected an integer in [1, 1], got \"7\"");
}

TEST_CASE("a bad enum value lists the choices") {
    CHECK(only_error(with_head("  - name: n\n    prediction: {type: binary}\n    features:\n"
                               "      - {name: a, type: numeric}\n      - {name: b, type: float}\n")) ==
          "models[1].features[1].type (line 9): expected one of numeric, categorical, boolean, got \"float\"");
    CHECK(only_error(with_head("  - {name: n, prediction: {type: ranking}}\n")) ==
          "models[1].prediction.type (line 5): expected one of binary, multiclass, regression, score, got "
          "\"ranking\"");
    CHECK(only_error(with_head("file_tails:\n  - {path: /a, model: m, kind: labels}\n")) ==
          "file_tails[0].kind (line 6): expected one of predictions, outcomes, got \"labels\"");
}

TEST_CASE("duplicate models, features, attributes, classes, tails and keys are errors") {
    CHECK(only_error(with_head("  - name: m\n    prediction: {type: binary}\n")) ==
          "models[1].name (line 5): duplicate model name \"m\" (also models[0], line 4)");
    CHECK(only_error(with_head("  - name: n\n    prediction: {type: binary}\n    features:\n"
                               "      - {name: a, type: numeric}\n      - {name: a, type: boolean}\n")) ==
          "models[1].features[1].name (line 9): duplicate feature name \"a\" (also features[0], line 8)");
    CHECK(only_error(with_head("  - {name: n, prediction: {type: binary}, attributes: [sex, region, sex]}\n")) ==
          "models[1].attributes[2] (line 5): duplicate \"sex\" (also models[1].attributes[0])");
    CHECK(only_error(with_head("  - {name: n, prediction: {type: multiclass, classes: [a, b, a]}}\n")) ==
          "models[1].prediction.classes[2] (line 5): duplicate \"a\" (also models[1].prediction.classes[0])");
    CHECK(only_error(with_head("file_tails:\n  - {path: /a, model: m}\n  - {path: /a, model: m, kind: outcomes}\n")) ==
          "file_tails[1].path (line 7): duplicate path \"/a\" (also file_tails[0])");
    CHECK(only_error(with_head("log:\n  level: info\n  level: debug\n")) ==
          "log.level (line 7): duplicate key (first given at line 6)");
}

TEST_CASE("a file tail must name a declared model") {
    CHECK(only_error(with_head("file_tails:\n  - path: /var/log/x.ndjson\n    model: churn\n")) ==
          "file_tails[0].model (line 7): no model named \"churn\" is declared under models");
}

TEST_CASE("bad size and duration strings are errors showing the accepted forms") {
    CHECK(only_error(with_head("spool:\n  max_bytes: 64 megabytes\n")) ==
          "spool.max_bytes (line 6): expected a size such as 1048576, \"500KB\" or \"64MiB\", got \"64 megabytes\"");
    CHECK(only_error(with_head("file_tails:\n  - {path: /a, model: m, poll_interval: 1.5s}\n")) ==
          "file_tails[0].poll_interval (line 6): expected a duration such as 250 (in ms), \"250ms\", \"10s\" "
          "or \"5m\", got \"1.5s\"");
    CHECK(only_error("store:\n  dsn: x\n  retry_initial: 100us\nmodels: [{name: m, prediction: {type: score}}]\n") ==
          "store.retry_initial (line 3): duration \"100us\" is not a whole number of ms");
}

TEST_CASE("a YAML syntax error gives the line and column") {
    const auto result = load("server:\n  listen: \"127.0.0.1:1\"\n  tokens: [a, b\nstore: {}\n");
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.errors.size() == 1);
    const auto& error = result.errors[0];
    CHECK(error.line == 4);
    CHECK(error.column == 6);
    CHECK(to_string(error) == "syntax error (line 4, column 6): end of sequence flow not found");

    const auto tab = load("server:\n\tlisten: x\n");
    REQUIRE(tab.errors.size() == 1);
    CHECK(tab.errors[0].line == 2);
    CHECK(tab.errors[0].column > 0);
}

TEST_CASE("required and empty values are errors") {
    CHECK(only_error(with_head("  - name: n\n")) == "models[1].prediction (line 5): required key is missing");
    CHECK(only_error(with_head("  - {name: \"\", prediction: {type: score}}\n")) ==
          "models[1].name (line 5): must not be empty");
    CHECK(only_error(with_head("  - {name: credit default, prediction: {type: score}}\n")) ==
          "models[1].name (line 5): expected a name of 1 to 64 characters from A-Z a-z 0-9 _ . -, got \"credit "
          "default\"");
    CHECK(only_error(with_head("file_tails:\n  - {model: m}\n")) == "file_tails[0].path (line 6): required key is missing");
    CHECK(only_error(with_head("file_tails:\n  - {path: relative.ndjson, model: m}\n")) ==
          "file_tails[0].path (line 6): expected an absolute path, got \"relative.ndjson\"");
    CHECK(only_error(with_head("state_dir: \"\"\n")) == "state_dir (line 5): must not be empty");
    CHECK(only_error(with_head("server:\n  tokens: [{sha256: abc}]\n")) ==
          "server.tokens[0].sha256 (line 6): expected the SHA-256 of the token as 64 hex digits, got \"abc\" (3 "
          "characters)");
    CHECK(only_error("store: {dsn: x}\nmodels: []\n") == "models (line 2): at least one model is required");
}

TEST_CASE("the DSN comes from dsn or from the variable dsn_env names, exactly one") {
    CHECK(only_error("store: {}\nmodels: [{name: m, prediction: {type: score}}]\n") ==
          "store (line 1): one of dsn or dsn_env is required (the PostgreSQL connection string)");
    CHECK(only_error("store:\n  dsn: x\n  dsn_env: MODELWATCH_DSN\nmodels: [{name: m, prediction: {type: score}}]\n") ==
          "store.dsn_env (line 3): give either dsn or dsn_env, not both");
    CHECK(only_error("store:\n  dsn_env: NOT_SET_HERE\nmodels: [{name: m, prediction: {type: score}}]\n") ==
          "store.dsn_env (line 2): environment variable NOT_SET_HERE is not set or is empty");
    CHECK(only_error("store:\n  dsn_env: 9LIVES\nmodels: [{name: m, prediction: {type: score}}]\n") ==
          "store.dsn_env (line 2): expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), got \"9LIVES\"");
}

TEST_CASE("checks across keys: class counts, retry bounds, segment size") {
    CHECK(only_error(with_head("  - {name: n, prediction: {type: binary, classes: [a, b, c]}}\n")) ==
          "models[1].prediction.classes (line 5): a binary model has exactly 2 classes, got 3");
    CHECK(only_error(with_head("  - {name: n, prediction: {type: regression, classes: [a, b]}}\n")) ==
          "models[1].prediction.classes (line 5): a regression model has no classes; remove the key");
    CHECK(only_error(with_head("  - {name: n, prediction: {type: multiclass, classes: [a]}}\n")) ==
          "models[1].prediction.classes (line 5): a multiclass model has at least 2 classes, got 1");
    CHECK(only_error("store:\n  dsn: x\n  retry_initial: 5s\n  retry_max: 1s\n"
                     "models: [{name: m, prediction: {type: score}}]\n") ==
          "store.retry_max (line 4): must be at least retry_initial (5000ms), got 1000ms");
    CHECK(only_error(with_head("server:\n  max_body_bytes: 64MiB\n  max_inflight_bytes: 32MiB\n")) ==
          "server.max_inflight_bytes (line 7): must be at least max_body_bytes (64MiB), got 32MiB");
    CHECK(only_error(with_head("spool:\n  max_bytes: 1MiB\n  segment_bytes: 2MiB\n")) ==
          "spool.segment_bytes (line 7): must be at most max_bytes (1MiB), got 2MiB");
}

TEST_CASE("every error of a file is reported, in line order") {
    const auto result = load(R"(server:
  listen: nowhere
  max_conections: 5
store:
  dsn: "dbname=x"
  partition_days: 0
models:
  - name: a
    prediction: {type: binary}
  - name: a
    prediction: {type: binary}
    features: [{name: x, type: float}]
file_tails:
  - {path: /x, model: b}
)");
    REQUIRE_FALSE(result.ok());
    CHECK(messages(result) ==
          std::vector<std::string>{
              "server.listen (line 2): expected \"host:port\" (port 0 to 65535, IPv6 as \"[::1]:8470\"), got "
              "\"nowhere\"",
              "server.max_conections (line 3): unknown key (did you mean \"max_connections\"?)",
              "store.partition_days (line 6): expected an integer in [1, 1], got \"0\"",
              "models[1].name (line 10): duplicate model name \"a\" (also models[0], line 8)",
              "models[1].features[0].type (line 12): expected one of numeric, categorical, boolean, got \"float\"",
              "file_tails[0].model (line 14): no model named \"b\" is declared under models",
          });
}

TEST_CASE("an empty document lacks the required store and models") {
    const auto result = load("");
    CHECK(messages(result) ==
          std::vector<std::string>{
              "store (line 1): one of dsn or dsn_env is required (the PostgreSQL connection string)",
              "models (line 1): at least one model is required",
          });
    CHECK(only_error("- just\n- a list\n") == "top level (line 1): expected a mapping, got a sequence");
}

TEST_CASE("spool.dir defaults to <state_dir>/spool, and an explicit dir is kept") {
    const auto derived = load(with_head("state_dir: /srv/state/\n"));
    REQUIRE(derived.ok());
    CHECK(derived.config->spool.dir == "/srv/state/spool");
    const auto kept = load(with_head("spool: {dir: /fast/spool}\n"));
    REQUIRE(kept.ok());
    CHECK(kept.config->spool.dir == "/fast/spool");
}

TEST_CASE("a missing file is an error value naming the file") {
    const auto result = load_config_file("/nonexistent/modelwatch.yaml", environment_with_dsn());
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.errors.size() == 1);
    CHECK(to_string(result.errors[0]) ==
          "top level (line 1): cannot open /nonexistent/modelwatch.yaml: No such file or directory");
    CHECK(result.source_name == "/nonexistent/modelwatch.yaml");
}

// The configuration path is an operator's, but what is there may be anything:
// a device is refused before a byte is read (/dev/zero would be read until
// memory ran out), a FIFO with no writer reads as empty rather than waiting
// for one forever (on SIGHUP that would hang the reloads for good), and
// anything larger than any configuration is refused unread. A pipe is read:
// `modelwatch check-config <(envsubst < template.yaml)` passes /dev/fd/N.
TEST_CASE("a configuration path naming a device, a FIFO or a huge file is an error, never a hang") {
    mw::testing::TempDir dir("mw-config-load");
    const std::string fifo = (dir.path() / "fifo.yaml").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto loading = std::async(std::launch::async, [&fifo] { return load_config_file(fifo, environment_with_dsn()); });
    // The bound only keeps a blocked open() from hanging the test; it asserts nothing about speed.
    if (loading.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
        const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // releases the open()
        if (writer >= 0) ::close(writer);
        loading.wait();
        FAIL("load_config_file() blocked in open() on a FIFO with no writer");
    }
    CHECK_FALSE(loading.get().ok());

    const auto zero = load_config_file("/dev/zero", environment_with_dsn());
    REQUIRE(zero.errors.size() == 1);
    CHECK(to_string(zero.errors[0]) == "top level (line 1): /dev/zero is a character device, not a configuration file");

    const auto huge_path = dir.path() / "huge.yaml";
    mw::testing::write_text(huge_path, std::string(valid_head));
    std::filesystem::resize_file(huge_path, 64ull << 20);  // sparse: no disk used
    const auto huge = load_config_file(huge_path.string(), environment_with_dsn());
    REQUIRE(huge.errors.size() == 1);
    CHECK_THAT(to_string(huge.errors[0]), Catch::Contains("larger than 16777216 bytes"));

    int ends[2];
    REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    REQUIRE(::write(ends[1], valid_head.data(), valid_head.size()) == static_cast<ssize_t>(valid_head.size()));
    ::close(ends[1]);
    const auto piped = load_config_file("/dev/fd/" + std::to_string(ends[0]), environment_with_dsn());
    ::close(ends[0]);
    INFO((piped.errors.empty() ? std::string() : to_string(piped.errors[0])));
    CHECK(piped.ok());
}

TEST_CASE("retention ages take days, 0 keeps forever, and an audit may not read past raw retention") {
    const auto parsed = load(with_head("retention: {predictions: 3d, findings: 0, jobs: 36h}\n"));
    INFO((parsed.errors.empty() ? std::string() : to_string(parsed.errors[0])));
    REQUIRE(parsed.ok());
    CHECK(parsed.config->retention.predictions_s == 3 * 86400);
    CHECK(parsed.config->retention.findings_s == 0);
    CHECK(parsed.config->retention.jobs_s == 36 * 3600);

    const auto audit = load_config_text(
        "store: {dsn: x}\nretention: {predictions: 3d}\n"
        "models: [{name: m, prediction: {type: binary, classes: [a, b]}, attributes: [s],\n"
        "  audits: [{name: w, schedule: '0 6 * * 1', sensitive: [s], window: 7d}]}]\n",
        "test.yaml", environment_with_dsn());
    REQUIRE(audit.errors.size() == 1);
    CHECK(to_string(audit.errors[0]) ==
          "models[0].audits[0].window (line 4): reads 7d of records but retention.predictions keeps only 3d");
    // With raw predictions kept forever, any audit window is fine.
    const auto forever = load_config_text(
        "store: {dsn: x}\nretention: {predictions: 0}\n"
        "models: [{name: m, prediction: {type: binary, classes: [a, b]}, attributes: [s],\n"
        "  audits: [{name: w, schedule: '0 6 * * 1', sensitive: [s], window: 300d}]}]\n",
        "test.yaml", environment_with_dsn());
    CHECK(forever.ok());
}

TEST_CASE("store_raw: false needs time windows and refuses what needs joint rows, naming the key and its line; "
          "segments are capped") {
    // Lines 5-: a profile-only model after the valid head.
    const std::string model = "  - name: p\n"
                              "    prediction: {type: binary}\n"
                              "    features: [{name: age, type: numeric}]\n"
                              "    attributes: [sex]\n"
                              "    store_raw: false\n";
    const auto ok = load(with_head(model + "    window: {duration: 1h}\n"));
    INFO((ok.errors.empty() ? std::string() : to_string(ok.errors[0])));
    REQUIRE(ok.ok());
    CHECK_FALSE(ok.config->models[1].store_raw);
    CHECK(ok.config->models[0].store_raw);
    // No window.duration: reported at the store_raw line, which asks for it.
    CHECK(only_error(with_head(model)).starts_with(
        "models[1].window.duration (line 9): store_raw is false: a profile-only model needs time windows"));
    CHECK(only_error(with_head(model + "    window: {duration: 1h}\n    reference:\n      source: upload\n"))
              .starts_with("models[1].reference.source (line 12): store_raw is false: an uploaded reference keeps "
                           "raw rows"));
    CHECK(only_error(with_head(model + "    window: {duration: 1h}\n    drift:\n      multivariate: true\n"))
              .starts_with("models[1].drift.multivariate (line 12): store_raw is false: the PCA reconstruction "
                           "error needs every row's features together"));
    // Segment drift runs from per-segment profiles, their values capped.
    const auto segmented = load(with_head(model + "    window: {duration: 1h}\n    drift:\n      segments: [sex]\n"
                                                  "      max_segment_values: 5\n      multivariate: false\n"));
    INFO((segmented.errors.empty() ? std::string() : to_string(segmented.errors[0])));
    REQUIRE(segmented.ok());
    CHECK(segmented.config->models[1].drift.segments == std::vector<std::string>{"sex"});
    CHECK(segmented.config->models[1].drift.max_segment_values == 5);
    CHECK(only_error(with_head(model + "    window: {duration: 1h}\n    drift:\n      max_segment_values: 0\n"))
              .starts_with("models[1].drift.max_segment_values (line 12)"));
    // multivariate false is accepted (and so is its default, which a profile-only model does not run).
    CHECK(load(with_head(model + "    window: {duration: 1h}\n    drift:\n      multivariate: false\n")).ok());
}
