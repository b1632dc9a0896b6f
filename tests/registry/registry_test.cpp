// Every registry of pluggable components, walked end to end: each name is
// accepted by the configuration (and a misspelling is refused naming the
// known ones), listed by the CLI's help, in docs/monitoring.md's tables and
// in config/modelwatch.yaml's comments; every finding kind the code emits is
// registered, alerts and triggers retraining; a component added to a catalog
// is validated and documented like the built-in ones.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/commands.h"
#include "config/loader.h"
#include "config/sections.h"
#include "core/finding_kinds.h"
#include "detectors/drift_method.h"
#include "detectors/drift_report.h"
#include "detectors/feature_drift.h"
#include "detectors/performance_metrics.h"
#include "alerts/sink_registry.h"
#include "retrain/runner_registry.h"
#include "detectors/profile_drift.h"
#include "registry/catalog.h"
#include "registry/docs.h"
#include "tests/support/temp_dir.h"

using namespace mw;

namespace {

std::string source(const std::string& relative) { return std::string(MODELWATCH_SOURCE_DIR) + "/" + relative; }

const auto no_environment = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };

// A valid file with one binary model; `model_extra` and `top_extra` add keys.
config::LoadResult load(const std::string& model_extra, const std::string& top_extra = "",
                        const config::Catalog& catalog = registry::catalog()) {
    const std::string text = fmt::format(
        "store: {{dsn: x}}\n{}models:\n  - name: m\n    prediction: {{type: binary, classes: [a, b]}}\n"
        "    features: [{{name: x, type: numeric}}]\n    attributes: [s]\n{}",
        top_extra, model_extra);
    return config::load_config_text(text, "test.yaml", no_environment, &catalog);
}

std::string errors_of(const config::LoadResult& result) {
    std::string text;
    for (const auto& error : result.errors) text += config::to_string(error) + "\n";
    return text;
}

// ", key: value" for each required key of a component's table, a valid value
// of its kind (HOME is set wherever the tests run); "" for an unknown component.
std::string required_keys(const config::ComponentInfo* component) {
    std::string keys;
    if (component == nullptr || component->options == nullptr) return keys;
    for (const auto& row : component->options()) {
        if (!row.required) continue;
        std::string value = std::string(row.default_text);
        switch (row.kind) {
            case config::ValueKind::url_list: value = "['http://127.0.0.1:9']"; break;
            case config::ValueKind::url: value = "'http://127.0.0.1:9'"; break;
            case config::ValueKind::argv: value = "[/bin/cat]"; break;
            case config::ValueKind::environment: value = "HOME"; break;
            default: value = "x"; break;
        }
        keys += fmt::format(", {}: {}", row.key, value);
    }
    return keys;
}

// Where a registry's names appear in a configuration, as a model's or the top level's keys.
struct Placement {
    std::string registry;
    std::string what;  // as "unknown <what>" names it
    std::string path;  // the key path errors name
    std::function<config::LoadResult(std::string_view name)> load_with;
};

std::vector<Placement> placements() {
    return {
        {"drift_methods", "drift method", "models[0].drift.method",
         [](std::string_view name) { return load(fmt::format("    drift: {{method: {}}}\n", name)); }},
        {"drift_methods", "drift method", "models[0].drift.features[0].method",
         [](std::string_view name) {
             return load(fmt::format("    drift: {{features: [{{name: x, method: {}}}]}}\n", name));
         }},
        {"drift_modes", "drift mode", "models[0].drift.mode",
         [](std::string_view name) { return load(fmt::format("    drift: {{mode: {}}}\n", name)); }},
        {"corrections", "correction", "models[0].drift.correction",
         [](std::string_view name) { return load(fmt::format("    drift: {{correction: {}}}\n", name)); }},
        {"performance_metrics", "performance metric", "models[0].performance.thresholds[0].metric",
         [](std::string_view name) {
             return load(fmt::format("    performance: {{thresholds: [{{metric: {}, min: 0.5}}]}}\n", name));
         }},
        {"concept_detectors", "concept detector", "models[0].concept_drift.detector",
         [](std::string_view name) { return load(fmt::format("    concept_drift: {{detector: {}}}\n", name)); }},
        {"anomaly_detectors", "anomaly detector", "models[0].anomaly.detector",
         [](std::string_view name) { return load(fmt::format("    anomaly: {{detector: {}}}\n", name)); }},
        {"report_formats", "report format", "models[0].audits[0].formats",
         [](std::string_view name) {
             return load(fmt::format("    audits: [{{name: a, schedule: '0 3 * * *', sensitive: [s], formats: [{}]}}]\n",
                                     name));
         }},
        {"trigger_kinds", "trigger kind", "models[0].retrain.triggers[0].kind",
         [](std::string_view name) {
             return load(fmt::format("    retrain: {{command: [/bin/true], triggers: [{{kind: {}}}]}}\n", name));
         }},
        {"finding_kinds", "finding kind", "alerting.kinds",
         [](std::string_view name) { return load("", fmt::format("alerting: {{kinds: [{}]}}\n", name)); }},
        {"alert_sinks", "alert sink", "alerting.receivers[0].type",
         [](std::string_view name) {
             const std::string text = fmt::format(
                 "store: {{dsn: x}}\nalerting: {{receivers: [{{name: r, type: {}{}}}]}}\nmodels:\n  - name: m\n"
                 "    prediction: {{type: binary}}\n",
                 name, required_keys(registry::catalog().find("alert_sinks", name)));
             return config::load_config_text(text, "test.yaml", config::process_environment(),
                                              &registry::catalog());
         }},
        {"retrain_runners", "job runner", "models[0].retrain.runner",
         [](std::string_view name) {
             return load(fmt::format("    retrain: {{runner: {}{}, triggers: [{{kind: manual}}]}}\n", name,
                                     required_keys(registry::catalog().find("retrain_runners", name))));
         }},
    };
}

}  // namespace

TEST_CASE("every registry: unique names, a description, options whose defaults parse") {
    const auto& catalog = registry::catalog();
    for (const std::string registry : {"drift_methods", "drift_modes", "corrections", "performance_metrics", "concept_detectors",
                                       "anomaly_detectors", "report_formats", "retrain_runners", "retrain_hooks",
                                       "alert_sinks", "finding_kinds", "trigger_kinds"}) {
        INFO(registry);
        const auto names = catalog.names(registry);
        CHECK(names.size() >= 2);
        CHECK(std::set<std::string_view>(names.begin(), names.end()).size() == names.size());
    }
    std::vector<config::ComponentInfo> all;
    for (const auto* infos : {&catalog.drift_methods, &catalog.drift_modes, &catalog.corrections, &catalog.performance_metrics, &catalog.concept_detectors,
                              &catalog.anomaly_detectors, &catalog.report_formats, &catalog.retrain_runners,
                              &catalog.retrain_hooks})
        all.insert(all.end(), infos->begin(), infos->end());
    all.insert(all.end(), catalog.alert_sinks.begin(), catalog.alert_sinks.end());
    for (const auto& info : all) {
        INFO(info.name);
        CHECK_FALSE(info.summary.empty());
        if (info.options == nullptr) continue;
        for (const auto& row : info.options()) CHECK_FALSE(row.help.empty());
        // The defaults pass the table and the checks between options (a required scalar has none).
        if (std::none_of(info.options().begin(), info.options().end(), [](const config::SettingRow& row) {
                return row.required && !config::is_list(row.kind);
            }))
            CHECK(config::configure(info, {}).ok());
    }
    for (const auto& kind : finding_kinds()) CHECK_FALSE(kind.when.empty());
}

TEST_CASE("every registered name is accepted where the configuration names it; a misspelling names the known ones") {
    for (const auto& place : placements()) {
        INFO(place.path);
        const auto names = registry::catalog().names(place.registry);
        std::string listing;
        for (const auto name : names) {
            listing += (listing.empty() ? "" : ", ") + std::string(name);
            const auto loaded = place.load_with(name);
            INFO(name << "\n" << errors_of(loaded));
            CHECK(loaded.ok());
        }
        const auto refused = place.load_with("zz_nope");
        REQUIRE(refused.errors.size() == 1);
        CHECK(refused.errors[0].path == place.path);
        CHECK(refused.errors[0].message ==
              fmt::format("unknown {} \"zz_nope\"; known: {}", place.what, listing));
    }
}

TEST_CASE("the bugs of issue 13: label_drift alerts and triggers, pr_auc is not a metric") {
    CHECK(load("", "alerting: {kinds: [label_drift]}\n").ok());
    CHECK(load("    retrain: {command: [/bin/true], triggers: [{kind: label_drift}]}\n").ok());
    // The metric computed is average_precision; a second name for it would be a second thing to keep in step.
    const auto refused = load("    performance: {thresholds: [{metric: pr_auc, min: 0.99}]}\n");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.errors[0].message.starts_with("unknown performance metric \"pr_auc\"; known: "));
    CHECK(refused.errors[0].message.find("average_precision") != std::string::npos);
}

// A profile-only model with one feature of each kind given, and `drift`.
config::LoadResult load_profile_only(const std::string& features, const std::string& drift) {
    const std::string text = fmt::format(
        "store: {{dsn: x}}\nmodels:\n  - name: m\n    prediction: {{type: binary, classes: [a, b]}}\n"
        "    features: [{}]\n    store_raw: false\n    window: {{duration: 1h}}\n    drift: {}\n",  // drift: line 8
        features, drift);
    return config::load_config_text(text, "test.yaml", no_environment, &registry::catalog());
}

TEST_CASE("a profile-only model refuses the drift methods and modes the profile checks' own rule refuses") {
    // Every mode, method and kind of feature, at the model's level and as a
    // feature's override: refused with the rule's reason, naming the key and
    // its line, exactly where the rule (detectors/profile_drift.h) says so.
    std::size_t refused_count = 0;
    std::size_t accepted_count = 0;
    for (const auto& mode : drift::drift_modes()) {
        for (const auto& method : drift::drift_methods()) {
            for (const bool numeric : {true, false}) {
                const std::string mode_name(mode.info.name);
                const std::string method_name(method.info.name);
                INFO(mode_name << " " << method_name << (numeric ? ", numeric" : ", categorical"));
                const std::string feature = numeric ? "{name: f, type: numeric}" : "{name: f, type: categorical}";
                const std::string reason =
                    drift::profile_unsupported_reason(method, mode.mode, numeric, !numeric || method.categories_only);
                const auto model_level =
                    load_profile_only(feature, fmt::format("{{mode: {}, method: {}}}", mode_name, method_name));
                const auto override_ = load_profile_only(
                    feature, fmt::format("{{mode: {}, features: [{{name: f, method: {}}}]}}", mode_name, method_name));
                if (reason.empty()) {
                    ++accepted_count;
                    CHECK(errors_of(model_level).empty());
                    CHECK(errors_of(override_).empty());
                    continue;
                }
                ++refused_count;
                CHECK(errors_of(model_level) ==
                      fmt::format("models[0].drift.{} (line 8): store_raw is false: {}\n",
                                  method.selects_per_feature() ? "mode" : "method", reason));
                // An override of "auto" leaves the feature to the mode's
                // selection: refused for the feature as the mode is above.
                CHECK(errors_of(override_) ==
                      fmt::format("models[0].drift.features[0].method (line 8): store_raw is false: {}\n", reason));
            }
        }
    }
    CHECK(refused_count > 0);
    CHECK(accepted_count > 0);
    // What the rule must say, whatever else it learns: the daemon's default
    // runs; what needs every value's rank, or a numeric feature's category
    // counts, cannot; a method measured below the bar is refused with its
    // figure and what to use instead.
    const auto default_drift = load_profile_only("{name: f, type: numeric}, {name: g, type: categorical}", "{}");
    CHECK(errors_of(default_drift).empty());
    for (const std::string method : {"anderson", "cvm"}) {
        const auto refused = load_profile_only("{name: f, type: numeric}", "{method: " + method + "}");
        REQUIRE(refused.errors.size() == 1);
        CHECK(refused.errors[0].message.find("needs every value's rank") != std::string::npos);
    }
    const auto per_feature =
        load_profile_only("{name: f, type: numeric}", "{features: [{name: f, method: chi2}]}");
    REQUIRE(per_feature.errors.size() == 1);
    CHECK(per_feature.errors[0].path == "models[0].drift.features[0].method");
    CHECK(per_feature.errors[0].message.find("not computed from profiles") != std::string::npos);
    const auto legacy_wasserstein = load_profile_only("{name: f, type: numeric}", "{mode: legacy, method: wasserstein}");
    REQUIRE(legacy_wasserstein.errors.size() == 1);
    CHECK(legacy_wasserstein.errors[0].message.find("98.18%") != std::string::npos);
    CHECK(legacy_wasserstein.errors[0].message.find("instead") != std::string::npos);
    // Legacy mode's own selection is refused for numeric features, not for
    // those given a method of their own.
    const auto legacy_auto = load_profile_only("{name: f, type: numeric}, {name: g, type: categorical}", "{mode: legacy}");
    REQUIRE(legacy_auto.errors.size() == 1);
    CHECK(legacy_auto.errors[0].path == "models[0].drift.mode");
    CHECK(load_profile_only("{name: f, type: numeric}, {name: g, type: categorical}",
                            "{mode: legacy, features: [{name: f, method: ks}]}")
              .ok());
    // An entry that gives no method (a threshold only) leaves its feature to
    // the mode's selection, not to the model's method: refused for it.
    const auto threshold_only =
        load_profile_only("{name: f, type: numeric}", "{mode: legacy, method: ks, features: [{name: f, threshold: 0.2}]}");
    REQUIRE(threshold_only.errors.size() == 1);
    CHECK(threshold_only.errors[0].path == "models[0].drift.features[0].method");
    // The same settings are fine for a model that stores its rows.
    CHECK(load("    drift: {method: anderson}\n").ok());
    CHECK(load("    drift: {mode: legacy, method: wasserstein}\n").ok());
}

TEST_CASE("check-config's problems are all reported at once, each with its key path and line") {
    const auto loaded = load(
        "    concept_drift: {detector: adwin, params: [delt=0.1, clock=0]}\n"  // line 7
        "    anomaly: {detector: robst}\n"                                     // line 8
        "    retrain:\n"
        "      command: [/bin/true]\n"
        "      schedule: '61 * * * *'\n"                                       // line 11
        "      schedule_time_zone: Mars/Olympus\n");                           // line 12
    const std::string errors = errors_of(loaded);
    INFO(errors);
    CHECK(errors ==
          "models[0].concept_drift.params (line 7): adwin: unknown option \"delt\"; did you mean \"delta\"? (options: "
          "delta, clock, max_buckets, min_window_length, grace_period)\n"
          "models[0].concept_drift.params (line 7): adwin: clock: expected an integer in [1, 1000000000], got \"0\"\n"
          "models[0].anomaly.detector (line 8): unknown anomaly detector \"robst\" (did you mean \"robust\"?); known: "
          "ensemble, robust, contextual, windowed_gaussian\n"
          "models[0].retrain.schedule (line 11): \"61 * * * *\" is not a cron expression: field 1 (minute): 61 is "
          "outside 0-59\n"
          "models[0].retrain.schedule_time_zone (line 12): time zone 'Mars/Olympus': not found in "
          "/usr/share/zoneinfo\n");
    CHECK(load("    anomaly: {detector: robust, params: [level_window=1]}\n").errors.at(0).message ==
          "robust: level_window: expected an integer in [3, 1000000], got \"1\"");
}

TEST_CASE("every finding kind the code emits is registered, and every registered kind is emitted") {
    // Emitters write `kind = "x"`, `.kind = "x"`, `base("x", ...)` (dataset_drift.cpp) or SQL `'x'`
    // (the breaker's finding); a kind nobody registered would be refused by alerting.kinds.
    const std::regex emitted(R"((?:\bkind = |base\()\"([a-z_]+)\"|VALUES \(\$1, '([a-z_]+)')");
    std::set<std::string> kinds;
    for (const std::string folder : {"daemon", "detectors", "fairness", "retrain", "alerts"}) {
        for (const auto& file : std::filesystem::recursive_directory_iterator(source(folder))) {
            if (file.path().extension() != ".cpp") continue;
            const std::string text = mw::testing::read_text(file.path().string());
            for (std::sregex_iterator it(text.begin(), text.end(), emitted), end; it != end; ++it)
                kinds.insert((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
        }
    }
    // status_page.cpp filters by kind; it does not emit one.
    std::set<std::string> registered;
    for (const auto& kind : finding_kinds()) registered.insert(std::string(kind.name));
    for (const auto& kind : kinds) {
        INFO(kind);
        CHECK(registered.contains(kind));
    }
    for (const auto& kind : registered) {
        INFO(kind << " is registered but nothing emits it");
        CHECK(kinds.contains(kind));
    }
}

TEST_CASE("docs/monitoring.md's finding and component tables are the registries'") {
    const std::string doc = mw::testing::read_text(source("docs/monitoring.md"));
    const std::string findings = finding_kind_table_markdown();
    INFO("docs/monitoring.md's findings table must read exactly:\n" << findings);
    CHECK(doc.find(findings) != std::string::npos);
    const std::string components = registry::component_tables_markdown(registry::catalog());
    INFO("docs/monitoring.md's component tables must read exactly:\n" << components);
    CHECK(doc.find(components) != std::string::npos);
}

TEST_CASE("config/modelwatch.yaml lists each registry's names above the keys that take them") {
    std::vector<std::string> lines;
    {
        std::ifstream file(source("config/modelwatch.yaml"));
        for (std::string line; std::getline(file, line);) lines.push_back(line);
    }
    const YAML::Node reference = YAML::LoadFile(source("config/modelwatch.yaml"));
    std::size_t compared = 0;
    for (const auto& option : config::describe_options()) {
        if (option.registry.empty()) continue;
        INFO(option.path);
        // The key's line in the file: walk the path, taking the first element of lists.
        YAML::Node node = reference;
        std::string rest = option.path;
        while (!rest.empty()) {
            const auto dot = rest.find('.');
            std::string key = rest.substr(0, dot);
            rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
            const bool list = key.ends_with("[]");
            if (list) key.resize(key.size() - 2);
            node.reset(node[key]);
            REQUIRE(node.IsDefined());
            if (list) node.reset(node[0]);
        }
        // The comment lines right above the key, joined.
        int index = node.Mark().line - 1;
        std::string comment;
        while (index >= 0 && lines[static_cast<std::size_t>(index)].find('#') != std::string::npos &&
               lines[static_cast<std::size_t>(index)].find_first_not_of(' ') ==
                   lines[static_cast<std::size_t>(index)].find('#')) {
            const auto& line = lines[static_cast<std::size_t>(index)];
            comment = line.substr(line.find('#') + 2) + " " + comment;
            --index;
        }
        std::string names;
        for (const auto name : registry::catalog().names(option.registry))
            names += (names.empty() ? "" : ", ") + std::string(name);
        CHECK(comment.find("One of: " + names + ".") != std::string::npos);
        ++compared;
    }
    CHECK(compared >= 9);
}

TEST_CASE("the CLI lists every drift method, concept and anomaly detector and report format, and names them in errors") {
    const std::string drift = cli::help("drift");
    for (const auto& info : registry::catalog().drift_methods) CHECK(drift.find(std::string(info.name)) != std::string::npos);
    // --mode, --correction and --format of drift and detect: their tables, name and summary.
    const auto lists_all = [](const std::string& help, const auto& entries) {
        for (const auto& entry : entries) {
            INFO(entry.info.name);
            CHECK(help.find(fmt::format("  {:<20} {}\n", entry.info.name, entry.info.summary)) != std::string::npos);
        }
    };
    lists_all(drift, drift::drift_modes());
    lists_all(drift, drift::corrections());
    lists_all(drift, drift::drift_report_formats());
    const std::string detect = cli::help("detect");
    for (const auto& info : registry::catalog().concept_detectors)
        CHECK(detect.find("  " + std::string(info.name)) != std::string::npos);
    const std::string anomaly = cli::help("anomaly");
    for (const auto& info : registry::catalog().anomaly_detectors)
        CHECK(anomaly.find("  " + std::string(info.name) + ": ") != std::string::npos);
    const std::string audit = cli::help("audit");
    for (const auto& info : registry::catalog().report_formats)
        CHECK(audit.find(fmt::format("  {:<6} {}", info.name, info.summary)) != std::string::npos);
}

namespace {

// A component that exists only in this test: one file pair's worth, registered by one line below.
const config::SettingRow throwaway_options[] = {
    {.key = "level", .kind = config::ValueKind::integer, .default_text = "3", .min = 1, .max = 10,
     .help = "how throwaway it is"},
};
std::span<const config::SettingRow> throwaway_table() { return throwaway_options; }

// A sink and a runner that exist only in this test, each with the keys it takes.
const config::SettingRow pigeon_sink_rows[] = {
    {.key = "loft", .kind = config::ValueKind::text, .required = true, .help = "where the pigeons fly to"},
    {.key = "birds", .kind = config::ValueKind::integer, .default_text = "2", .min = 1, .max = 5,
     .help = "pigeons sent per alert"},
};
std::span<const config::SettingRow> pigeon_sink_table() { return pigeon_sink_rows; }
const config::SettingRow carrier_pigeon_rows[] = {
    {.key = "coop", .kind = config::ValueKind::url, .required = true, .help = "the coop that trains the model"},
};
std::span<const config::SettingRow> carrier_pigeon_table() { return carrier_pigeon_rows; }

}  // namespace

TEST_CASE("a component added to the catalog is accepted by the configuration, validated and documented") {
    config::Catalog catalog = registry::catalog();
    catalog.concept_detectors.push_back({"throwaway", "a detector for this test only", throwaway_table});
    catalog.alert_sinks.push_back({"pigeon", "a sink for this test only", pigeon_sink_table});
    catalog.drift_methods.push_back({"throwaway_shift", "a drift method for this test only"});
    catalog.retrain_runners.push_back({"carrier_pigeon", "a job runner for this test only", carrier_pigeon_table});

    const auto accepted = load("    concept_drift: {detector: throwaway, params: [level=5]}\n"
                               "    retrain: {coop: 'https://coop.example/train', triggers: [{kind: manual}]}\n",
                               "alerting: {receivers: [{name: p, type: pigeon, loft: roof, birds: 3}]}\n",
                               catalog);
    INFO(errors_of(accepted));
    REQUIRE(accepted.ok());
    const auto& receiver = accepted.config->alerting.receivers.at(0);
    CHECK(receiver.options.text("loft") == "roof");
    CHECK(receiver.options.integer("birds") == 3);
    // The runner is the one whose required key is given, its key read against its table.
    CHECK(accepted.config->models[0].retrain.runner == "carrier_pigeon");
    CHECK(accepted.config->models[0].retrain.runner_options.text("coop") == "https://coop.example/train");
    const auto defaulted = load("", "alerting: {receivers: [{name: p, type: pigeon, loft: roof}]}\n", catalog);
    REQUIRE(defaulted.ok());
    CHECK(defaulted.config->alerting.receivers.at(0).options.integer("birds") == 2);
    CHECK(errors_of(load("", "alerting:\n  receivers:\n    - {name: p, type: pigeon, loft: roof,\n       birds: 9}\n",
                         catalog)) ==
          "alerting.receivers[0].birds (line 5): expected an integer in [1, 5], got \"9\"\n");
    CHECK(errors_of(load("", "alerting: {receivers: [{name: p, type: pigeon}]}\n", catalog)) ==
          "alerting.receivers[0].loft (line 2): required key is missing: a pigeon receiver needs it\n");
    // Without the registration its keys are nobody's.
    CHECK_FALSE(load("", "alerting: {receivers: [{name: p, type: pigeon, loft: roof}]}\n").ok());
    CHECK_FALSE(load("    retrain: {coop: 'https://coop.example/train', triggers: [{kind: manual}]}\n").ok());
    const auto refused = load("    concept_drift: {detector: throwaway, params: [level=11]}\n", "", catalog);
    REQUIRE(refused.errors.size() == 1);
    CHECK(refused.errors[0].message == "throwaway: level: expected an integer in [1, 10], got \"11\"");
    // Without the registration it is unknown.
    CHECK_FALSE(load("    concept_drift: {detector: throwaway}\n").ok());
    CHECK(load("    drift: {method: throwaway_shift, features: [{name: x, method: throwaway_shift}]}\n", "", catalog)
              .ok());
    CHECK_FALSE(load("    drift: {method: throwaway_shift}\n").ok());

    const std::string docs = registry::component_tables_markdown(catalog);
    CHECK(docs.find("| `throwaway` | a detector for this test only | `level=3` (1 to 10): how throwaway it is |") !=
          std::string::npos);
    CHECK(docs.find("| `pigeon` | a sink for this test only | `loft` (required): where the pigeons fly to<br>"
                    "`birds=2` (1 to 5): pigeons sent per alert |") != std::string::npos);
    CHECK(docs.find("| `throwaway_shift` | a drift method for this test only |") != std::string::npos);
    CHECK(docs.find("| `carrier_pigeon` | a job runner for this test only | `coop` (required, URL): the coop that "
                    "trains the model |") != std::string::npos);
}

namespace {

// A drift method and a metric that exist only in this test, as their file pairs would declare them.
mw::drift::DriftStatistic throwaway_mean_shift(const mw::drift::DriftSamples& s, const mw::drift::DriftOptions&) {
    const auto mean = [](std::span<const double> v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); };
    return {std::abs(mean(s.current) - mean(s.reference)), std::nullopt, {}};
}
std::string throwaway_mean_shift_definition(bool, const mw::drift::DriftOptions&) { return "|mean(cur) - mean(ref)|"; }

}  // namespace

TEST_CASE("a drift method is its entry: what it reads, its statistic and its definition come from the registry") {
    // Every registered method computes through its own entry on the view it declares.
    for (const auto& method : drift::drift_methods()) {
        INFO(method.info.name);
        CHECK(method.definition != nullptr);
        if (method.selects_per_feature()) continue;
        CHECK((method.on_samples != nullptr || method.on_counts != nullptr));
        CHECK(drift::parse_drift_method(method.info.name) == &method);
    }
    // A method defined here runs through the same evaluation as the registered ones.
    const drift::DriftMethod throwaway{{"throwaway_mean_shift", "difference of the means"}, false,
                                       throwaway_mean_shift, nullptr, throwaway_mean_shift_definition};
    drift::ColumnData reference{"x", true, {1, 2, 3, 4, 5, 6}, {}};
    drift::ColumnData current{"x", true, {4, 5, 6, 7, 8, 9}, {}};
    drift::DriftOptions options;
    options.mode = drift::DriftMode::legacy;
    const auto fitted = drift::fit_feature(reference, {&throwaway, 1.0}, options);
    REQUIRE(fitted.error.empty());
    CHECK_FALSE(fitted.categorical);  // no counts function: it reads the numeric samples
    const auto result = drift::evaluate_feature(fitted, current, options);
    CHECK(result.statistic == 3.0);
    CHECK(std::string(drift::to_string(result.method)) == "throwaway_mean_shift");
    CHECK(drift::statistic_definition(*result.method, false, options) == "|mean(cur) - mean(ref)|");
    // A numeric-only method refuses a text column, by what the entry declares.
    const auto text = drift::fit_feature({"c", false, {}, {"a", "b"}}, {&throwaway, {}}, options);
    CHECK(text.error == "method throwaway_mean_shift needs a numeric column");
}

TEST_CASE("every performance metric computes through its entry, in registry order, for its family") {
    std::vector<std::string> classification;
    std::vector<std::string> regression;
    for (const auto& metric : performance::performance_metrics()) {
        INFO(metric.info.name);
        CHECK(metric.compute != nullptr);
        (metric.family == performance::MetricFamily::classification ? classification : regression)
            .emplace_back(metric.info.name);
    }
    CHECK(classification == performance::classification_metric_names());
    CHECK(regression == performance::regression_metric_names());
}

TEST_CASE("every retraining runner and hook is registered once, and a model's section selects at most one runner") {
    config::RetrainConfig retrain;
    CHECK(retrain::configured_runner(retrain) == nullptr);
    for (const auto& runner : retrain::job_runners()) {
        retrain.runner = std::string(runner.info.name);
        CHECK(retrain::configured_runner(retrain) == &runner);
    }
    for (const auto kind : {retrain::HookKind::promotion, retrain::HookKind::rollback})
        CHECK(retrain::retrain_hook(kind).info.name == retrain::to_string(kind));
    // Not configured: no hook runs.
    CHECK_FALSE(retrain::run_configured_hook(retrain::HookKind::promotion, retrain, "/tmp", {}, {}).has_value());
}

TEST_CASE("each retraining hook's own key is read into hook_options, checked as a program, and runs the hook") {
    for (const auto& hook : retrain::retrain_hooks()) {
        INFO(hook.info.name);
        REQUIRE(hook.info.options != nullptr);
        REQUIRE(hook.info.options().size() == 1);
        CHECK(hook.info.options()[0].key == hook.argv_key);
        const auto loaded = load(fmt::format("    retrain: {{command: [/bin/true], triggers: [{{kind: manual}}], "
                                             "{}: [/bin/true, x]}}\n",
                                             hook.argv_key));
        INFO(errors_of(loaded));
        REQUIRE(loaded.ok());
        const auto& retrain = loaded.config->models[0].retrain;
        CHECK(retrain.hook_options.list(hook.argv_key) == std::vector<std::string>{"/bin/true", "x"});
        // /bin/true exits 0: the configured hook runs and succeeds.
        const auto result = retrain::run_configured_hook(hook.kind, retrain, "/tmp", {}, {});
        REQUIRE(result.has_value());
        CHECK(result->status == retrain::CallStatus::ok);
        // The other hook is not configured by this key.
        for (const auto& other : retrain::retrain_hooks())
            if (other.kind != hook.kind)
                CHECK_FALSE(retrain::run_configured_hook(other.kind, retrain, "/tmp", {}, {}).has_value());
        // Its program must exist here, as the daemon would run it.
        CHECK(errors_of(load(fmt::format("    retrain: {{command: [/bin/true], triggers: [{{kind: manual}}], "
                                         "{}: [/nonexistent/deploy]}}\n",
                                         hook.argv_key))) ==
              fmt::format("models[0].retrain.{}[0] (line 7): \"/nonexistent/deploy\" is not an executable file "
                          "here: No such file or directory\n",
                          hook.argv_key));
    }
    // A misspelt hook key is unknown, with the closest key.
    CHECK_THAT(errors_of(load("    retrain: {command: [/bin/true], triggers: [{kind: manual}], "
                              "promote_comand: [/bin/true]}\n")),
               Catch::StartsWith("models[0].retrain.promote_comand (line 7): unknown key (did you mean "
                                 "\"promote_command\"?)"));
}

TEST_CASE("a receiver is read against its sink's own table: every sink's keys round-trip through the loader") {
    const auto receiver_text = [](const std::string& receiver) {
        return fmt::format("store: {{dsn: x}}\nalerting:\n  receivers:\n    - {}\nmodels:\n  - name: m\n"
                           "    prediction: {{type: binary}}\n",
                           receiver);
    };
    const auto load_receiver = [&](const std::string& receiver) {
        return config::load_config_text(receiver_text(receiver), "test.yaml", config::process_environment(),
                                        &registry::catalog());
    };
    for (const auto& sink : alerts::alert_sinks()) {
        INFO(sink.info.name);
        REQUIRE(sink.info.options != nullptr);
        const auto loaded =
            load_receiver(fmt::format("{{name: r, type: {}{}}}", sink.info.name, required_keys(&sink.info)));
        INFO(errors_of(loaded));
        REQUIRE(loaded.ok());
        const auto& receiver = loaded.config->alerting.receivers.at(0);
        for (const auto& row : sink.info.options()) {
            INFO(row.key);
            CHECK(receiver.options.has(row.key));
            // Each required key, left out, is named with the sink.
            if (row.required) {
                std::string keys = required_keys(&sink.info);
                const auto at = keys.find(fmt::format(", {}: ", row.key));
                const auto next = keys.find(", ", at + 2);
                keys.erase(at, next == std::string::npos ? std::string::npos : next - at);
                const auto refused = load_receiver(fmt::format("{{name: r, type: {}{}}}", sink.info.name, keys));
                REQUIRE(refused.errors.size() == 1);
                CHECK(refused.errors[0].path == "alerting.receivers[0]." + std::string(row.key));
                CHECK(refused.errors[0].message.starts_with("required key is missing: a"));
                CHECK(refused.errors[0].message.ends_with(fmt::format(" {} receiver needs it", sink.info.name)));
            }
        }
        // The sink is made from what the loader read.
        CHECK(sink.make(receiver) != nullptr);
        // A key of no sink is refused, naming the sink's own keys.
        const auto refused = load_receiver(
            fmt::format("{{name: r, type: {}{}, channel: x}}", sink.info.name, required_keys(&sink.info)));
        REQUIRE(refused.errors.size() == 1);
        CHECK(refused.errors[0].path == "alerting.receivers[0].channel");
        CHECK(refused.errors[0].message.ends_with(fmt::format(" {} receiver takes {} besides the common keys",
                                                              sink.info.name,
                                                              config::setting_keys(sink.info.options()))));
    }
    // The issue's example: a limit from the sink's table, with the key path and line.
    const auto two_urls = config::load_config_text(
        "store: {dsn: x}\nalerting:\n  receivers:\n    - {name: a, type: alertmanager, urls: ['http://a:9093']}\n"
        "    - {name: b, type: exec, command: [/bin/cat]}\n"
        "    - name: c\n      type: slack\n      urls: ['https://hooks.slack.com/x', 'https://hooks.slack.com/y']\n"
        "models: [{name: m, prediction: {type: binary}}]\n",
        "test.yaml", config::process_environment(), &registry::catalog());
    CHECK(errors_of(two_urls) == "alerting.receivers[2].urls (line 8): a slack receiver takes 1 URL, got 2\n");
    // An exec receiver takes no URL; a webhook's secret must be set; a URL must be http(s).
    CHECK(errors_of(load_receiver("{name: r, type: exec, command: [/bin/cat], urls: ['http://x']}")) ==
          "alerting.receivers[0].urls (line 4): unknown key; an exec receiver takes command besides the common keys\n");
    CHECK(errors_of(load_receiver("{name: r, type: webhook, urls: ['http://x'], secret_env: MW_NOT_SET_ANYWHERE}")) ==
          "alerting.receivers[0].secret_env (line 4): environment variable MW_NOT_SET_ANYWHERE is not set or is "
          "empty\n");
    CHECK(errors_of(load_receiver("{name: r, type: slack, urls: ['ftp://x']}")) ==
          "alerting.receivers[0].urls[0] (line 4): expected an http:// or https:// URL, got \"ftp://x\"\n");
    // The secret's value is read at load, for the sink; the file holds only the variable's name.
    const auto webhook = load_receiver("{name: r, type: webhook, urls: ['http://x'], secret_env: HOME}");
    REQUIRE(webhook.ok());
    CHECK(webhook.config->alerting.receivers[0].environment.at("secret_env") == std::getenv("HOME"));
}

TEST_CASE("a retrain section is read against its runner's own table; the runner is named or inferred in one rule") {
    for (const auto& runner : retrain::job_runners()) {
        INFO(runner.info.name);
        REQUIRE(runner.info.options != nullptr);
        // Inferred from its required key, and named explicitly: the same configuration.
        const auto inferred =
            load(fmt::format("    retrain: {{triggers: [{{kind: manual}}]{}}}\n", required_keys(&runner.info)));
        INFO(errors_of(inferred));
        REQUIRE(inferred.ok());
        const auto named = load(fmt::format("    retrain: {{runner: {}, triggers: [{{kind: manual}}]{}}}\n",
                                            runner.info.name, required_keys(&runner.info)));
        REQUIRE(named.ok());
        CHECK(inferred.config->models[0].retrain.runner == runner.info.name);
        CHECK(inferred.config->models[0].retrain == named.config->models[0].retrain);
        for (const auto& row : runner.info.options())
            CHECK(inferred.config->models[0].retrain.runner_options.has(row.key));
    }
    // The keys of two runners: one error, naming both.
    CHECK(errors_of(load("    retrain:\n      command: [/bin/true]\n      http_url: 'http://x/train'\n"
                         "      triggers: [{kind: manual}]\n")) ==
          "models[0].retrain.http_url (line 9): keys of more than one job runner given: command (exec), http_url "
          "(http_trigger); keep one, or choose with runner:\n");
    // A runner named explicitly takes only its own keys.
    CHECK(errors_of(load("    retrain: {runner: http_trigger, http_url: 'http://x/train', command: [/bin/true], "
                         "triggers: [{kind: manual}]}\n")) ==
          "models[0].retrain.command (line 7): unknown key; a http_trigger runner takes http_url besides the common "
          "keys\n");
    CHECK(errors_of(load("    retrain: {runner: exec, triggers: [{kind: manual}]}\n")) ==
          "models[0].retrain.command (line 7): required key is missing: an exec runner needs it\n");
    // exec's program must exist here, as the daemon would run it.
    CHECK(errors_of(load("    retrain: {command: [/nonexistent/train], triggers: [{kind: manual}]}\n")) ==
          "models[0].retrain.command[0] (line 7): \"/nonexistent/train\" is not an executable file here: No such "
          "file or directory\n");
    // No runner: retraining is off.
    const auto off = load("    retrain: {triggers: [{kind: manual}]}\n");
    REQUIRE(off.ok());
    CHECK_FALSE(off.config->models[0].retrain.enabled());
}

TEST_CASE("config/modelwatch.yaml lists each sink's, runner's and hook's keys from their tables") {
    const std::string reference = mw::testing::read_text(source("config/modelwatch.yaml"));
    const auto lists_keys = [&](const config::ComponentInfo& info) {
        INFO(info.name);
        const auto at = reference.find(fmt::format("#   {}: ", info.name));
        REQUIRE(at != std::string::npos);
        const std::string line = reference.substr(at, reference.find('\n', at) - at);
        for (const auto& row : info.options()) {
            INFO(row.key);
            CHECK(line.find(" " + std::string(row.key) + " (") != std::string::npos);
        }
    };
    for (const auto& sink : registry::catalog().alert_sinks) lists_keys(sink);
    for (const auto& runner : registry::catalog().retrain_runners) lists_keys(runner);
    for (const auto& hook : registry::catalog().retrain_hooks) lists_keys(hook);
}
