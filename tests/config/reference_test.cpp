// The reference file config/modelwatch.yaml, the option tables and the
// structs' member initializers must agree; these tests fail when one of them
// changes without the others.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <vector>
#include <string>

#include <yaml-cpp/yaml.h>

#include "config/loader.h"
#include "config/sections.h"

using namespace mw::config;

namespace {

const std::string source_dir = MODELWATCH_SOURCE_DIR;
const std::string reference_path = source_dir + "/config/modelwatch.yaml";

Environment reference_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        if (name == "MODELWATCH_DSN") return std::string("dbname=modelwatch_test");
        return std::nullopt;
    };
}

std::string first_error(const LoadResult& result) {
    return result.errors.empty() ? std::string() : to_string(result.errors.front());
}

// Every key path of a document, lists written as "[]": "server.listen",
// "models[].features[].type".
void collect_key_paths(const YAML::Node& node, const std::string& prefix, std::set<std::string>& out) {
    if (node.IsMap()) {
        for (auto it = node.begin(); it != node.end(); ++it) {
            const std::string path = prefix.empty() ? it->first.Scalar() : prefix + "." + it->first.Scalar();
            out.insert(path);
            collect_key_paths(it->second, path, out);
        }
    } else if (node.IsSequence()) {
        for (const auto& element : node) collect_key_paths(element, prefix + "[]", out);
    }
}

// The node at a documentation path, taking the first element of each list.
YAML::Node node_at(const YAML::Node& root, const std::string& path) {
    YAML::Node node;
    node.reset(root);
    std::size_t start = 0;
    while (start <= path.size() && node.IsDefined()) {
        std::size_t end = path.find('.', start);
        if (end == std::string::npos) end = path.size();
        std::string key = path.substr(start, end - start);
        const bool is_list = key.size() > 2 && key.ends_with("[]");
        if (is_list) key.resize(key.size() - 2);
        // YAML::Node's operator= writes through to the document; reset() rebinds.
        const YAML::Node& parent = node;  // const lookups never add keys
        node.reset(parent[key]);
        if (is_list) {
            const YAML::Node& list = node;
            node.reset(list[0]);
        }
        start = end + 1;
    }
    return node;
}

}  // namespace

TEST_CASE("the reference file is refused for its placeholder tokens, and for nothing else") {
    // Installed as documentation (/usr/share/doc/modelwatch), it must not pass
    // --check-config if copied into place as it is.
    const auto result = load_config_file(reference_path, reference_environment());
    REQUIRE(result.errors.size() == 2);
    CHECK(result.errors[0].path == "server.tokens[0].sha256");
    CHECK(result.errors[1].path == "models[0].tokens[0].sha256");
    for (const auto& error : result.errors) CHECK(error.message.find("placeholder") != std::string::npos);

    // With real hashes in their place, the rest of it is a valid configuration.
    std::ifstream file(reference_path);
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const std::string zeros(64, '0');
    std::string real_hash(64, '0');
    real_hash.back() = '1';
    for (auto at = text.find(zeros); at != std::string::npos; at = text.find(zeros))
        text.replace(at, zeros.size(), real_hash);
    const auto fixed = load_config_text(text, "reference.yaml", reference_environment());
    INFO(first_error(fixed));
    REQUIRE(fixed.ok());
    CHECK(summarize(*fixed.config) == "config OK: 1 model, 1 file tail");
    CHECK(fixed.config->store.dsn == "dbname=modelwatch_test");
}

TEST_CASE("the packaged configuration (examples/minimal.yaml) is valid as installed") {
    // No environment at all: the installed file names its DSN itself.
    const auto result = load_config_file(source_dir + "/config/examples/minimal.yaml",
                                         [](const std::string&) { return std::optional<std::string>(); });
    INFO(first_error(result));
    REQUIRE(result.ok());
    const Config& config = *result.config;
    CHECK(config.server.listen_address == "127.0.0.1");
    CHECK(config.server.listen_port == 8470);
    CHECK(config.store.dsn == "host=/run/postgresql dbname=modelwatch");
    CHECK(config.state_dir == "/var/lib/modelwatch");
    REQUIRE(config.models.size() == 1);
    CHECK(config.models[0].schema.name == "example");
}

TEST_CASE("the reference file documents exactly the keys of the option tables") {
    std::set<std::string> documented;
    collect_key_paths(YAML::LoadFile(reference_path), "", documented);
    std::set<std::string> declared;
    for (const auto& option : describe_options()) {
        declared.insert(option.path);
        INFO(option.path);
        CHECK_FALSE(option.help.empty());
        CHECK_FALSE(option.field.empty());
    }
    std::set<std::string> only_in_file;
    std::set<std::string> only_in_tables;
    // The keys of the sink, the runner and the hooks the file chooses come from
    // their own tables, which tests/registry/registry_test.cpp checks the file against.
    for (const std::string component_key : {"alerting.receivers[].urls", "models[].retrain.command",
                                             "models[].retrain.promote_command", "models[].retrain.rollback_command"}) {
        CHECK(documented.contains(component_key));
        declared.insert(component_key);
    }
    for (const auto& key : documented)
        if (!declared.contains(key)) only_in_file.insert(key);
    for (const auto& key : declared)
        if (!documented.contains(key)) only_in_tables.insert(key);
    CHECK(only_in_file == std::set<std::string>{});
    CHECK(only_in_tables == std::set<std::string>{});
    CHECK(declared.size() > 30);  // the walk of the tables reached the nested sections
}

TEST_CASE("the reference file shows each option's default as the table writes it") {
    // store.dsn_env shows the recommended practice, not the (empty) default.
    // retrain.runner's default is inferred from the runner's keys; the file names it.
    const std::set<std::string> examples = {"store.dsn_env", "models[].retrain.runner"};
    const YAML::Node reference = YAML::LoadFile(reference_path);
    std::size_t compared = 0;
    for (const auto& option : describe_options()) {
        if (option.required || examples.contains(option.path) || option.kind == ValueKind::mapping ||
            option.kind == ValueKind::mapping_list || option.kind == ValueKind::name_list ||
            option.kind == ValueKind::text_list)
            continue;
        // An optional number has no default; the file shows an example value.
        if (option.kind == ValueKind::number && option.default_text.empty()) continue;
        INFO(option.path);
        const YAML::Node node = node_at(reference, option.path);
        REQUIRE(node.IsDefined());
        CHECK(node.Scalar() == option.default_text);
        ++compared;
    }
    CHECK(compared >= 20);
}

TEST_CASE("the structs' member initializers equal the table defaults") {
    const auto result = load_config_text(
        "store: {dsn: x}\nmodels: [{name: m, prediction: {type: binary}}]\nfile_tails: [{path: /p, model: m}]\n",
        "defaults.yaml", reference_environment());
    INFO(first_error(result));
    REQUIRE(result.ok());
    const Config& loaded = *result.config;
    const Config initial;
    CHECK(loaded.state_dir == initial.state_dir);
    CHECK(loaded.server == initial.server);
    StoreOptions store = initial.store;
    store.dsn = "x";
    CHECK(loaded.store == store);
    SpoolOptions spool = initial.spool;
    spool.dir = initial.state_dir + "/spool";  // derived by the loader, empty in the struct
    CHECK(loaded.spool == spool);
    CHECK(loaded.log == initial.log);
    FileTailOptions tail;
    tail.path = "/p";
    tail.model = "m";
    REQUIRE(loaded.file_tails.size() == 1);
    CHECK(loaded.file_tails[0] == tail);
    REQUIRE(loaded.models.size() == 1);
    const ModelOptions model;
    CHECK(loaded.models[0].reference == model.reference);
    CHECK(loaded.models[0].window == model.window);
    CHECK(loaded.models[0].drift == model.drift);
    CHECK(loaded.models[0].performance == model.performance);
    CHECK(loaded.models[0].concept_drift == model.concept_drift);
    CHECK(loaded.models[0].anomaly == model.anomaly);
    CHECK(loaded.models[0].retrain == model.retrain);
    CHECK(loaded.models[0].store_raw == model.store_raw);
    CHECK(loaded.alerting == initial.alerting);
    MonitorOptions monitor = initial.monitor;
    monitor.jobs_dir = initial.state_dir + "/jobs";  // derived by the loader
    monitor.reports_dir = initial.state_dir + "/reports";
    CHECK(loaded.monitor == monitor);
    CHECK(loaded.retention == initial.retention);
}

TEST_CASE("an audit's and a receiver's member initializers equal the table defaults") {
    const auto result = load_config_text(
        "store: {dsn: x}\nmodels: [{name: m, prediction: {type: binary, classes: [a, b]}, attributes: [s],\n"
        "  audits: [{name: w, schedule: '0 6 * * 1', sensitive: [s]}]}]\n"
        "alerting: {receivers: [{name: r, type: alertmanager, urls: ['http://127.0.0.1:9093']}]}\n",
        "defaults.yaml", reference_environment());
    INFO(first_error(result));
    REQUIRE(result.ok());
    AuditConfig audit;
    audit.name = "w";
    audit.schedule = "0 6 * * 1";
    audit.sensitive = {"s"};
    REQUIRE(result.config->models[0].audits.size() == 1);
    CHECK(result.config->models[0].audits[0] == audit);
    // The sink's own keys are its table's (tests/registry checks them); here, without a catalog, kept as given.
    REQUIRE(result.config->alerting.receivers.size() == 1);
    ReceiverConfig receiver = result.config->alerting.receivers[0];
    CHECK(receiver.options.list("urls") == std::vector<std::string>{"http://127.0.0.1:9093"});
    ReceiverConfig expected;
    expected.name = "r";
    expected.options = receiver.options;
    CHECK(receiver == expected);
}

TEST_CASE("examples/elec2.yaml loads with the Elec2 schema") {
    const auto result = load_config_file(source_dir + "/config/examples/elec2.yaml", reference_environment());
    INFO(first_error(result));
    REQUIRE(result.ok());
    const Config& config = *result.config;
    REQUIRE(config.models.size() == 1);
    const mw::ModelSchema& schema = config.models[0].schema;
    CHECK(schema.name == "elec2");
    CHECK(schema.prediction_type == mw::PredictionType::binary);
    CHECK(schema.classes == std::vector<std::string>{"UP", "DOWN"});
    CHECK(schema.attributes.empty());
    const std::vector<std::string> expected = {"date",     "day",       "period",    "nswprice",
                                               "nswdemand", "vicprice", "vicdemand", "transfer"};
    REQUIRE(schema.features.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(schema.features[i].name == expected[i]);
        CHECK(schema.features[i].type == mw::FeatureType::numeric);
    }
    CHECK(config.store.dsn == "dbname=modelwatch_test");
    CHECK(config.file_tails.empty());
}

TEST_CASE("the reference file states each option's range as the table has it") {
    std::vector<std::string> lines;
    {
        std::ifstream file(reference_path);
        for (std::string line; std::getline(file, line);) lines.push_back(line);
    }
    const YAML::Node reference = YAML::LoadFile(reference_path);
    std::size_t compared = 0;
    for (const auto& option : describe_options()) {
        if (option.range.empty()) continue;
        INFO(option.path);
        const YAML::Node node = node_at(reference, option.path);
        REQUIRE(node.IsDefined());
        // The comment line right above the key ends with "Range <min> to <max>."
        const int key_index = node.Mark().line;
        REQUIRE(key_index >= 1);
        const std::string& comment = lines[static_cast<std::size_t>(key_index - 1)];
        CHECK(comment.ends_with("Range " + option.range + "."));
        ++compared;
    }
    CHECK(compared >= 15);
}
