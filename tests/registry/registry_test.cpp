// Every registry of pluggable components, walked end to end: each name is
// accepted by the configuration (and a misspelling is refused naming the
// known ones), listed by the CLI's help, in docs/monitoring.md's tables and
// in config/modelwatch.yaml's comments; every finding kind the code emits is
// registered, alerts and triggers retraining; a component added to a catalog
// is validated and documented like the built-in ones.
#include <catch2/catch.hpp>

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
#include "retrain/runner_registry.h"
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
             // The keys each sink needs, from its own rules.
             const auto* sink = registry::catalog().find_sink(name);
             std::string keys;
             if (sink == nullptr || sink->rules.max_urls > 0) keys += ", urls: ['http://127.0.0.1:9']";
             if (sink != nullptr && sink->rules.needs_command) keys += ", command: [/bin/cat]";
             if (sink != nullptr && sink->rules.needs_secret) keys += ", secret_env: HOME";
             const std::string text = fmt::format(
                 "store: {{dsn: x}}\nalerting: {{receivers: [{{name: r, type: {}{}}}]}}\nmodels:\n  - name: m\n"
                 "    prediction: {{type: binary}}\n",
                 name, keys);
             return config::load_config_text(text, "test.yaml", config::process_environment(),
                                              &registry::catalog());
         }},
    };
}

}  // namespace

TEST_CASE("every registry: unique names, a description, options whose defaults parse") {
    const auto& catalog = registry::catalog();
    for (const std::string registry : {"drift_methods", "performance_metrics", "concept_detectors",
                                       "anomaly_detectors", "report_formats", "retrain_runners", "retrain_hooks",
                                       "alert_sinks", "finding_kinds", "trigger_kinds"}) {
        INFO(registry);
        const auto names = catalog.names(registry);
        CHECK(names.size() >= 2);
        CHECK(std::set<std::string_view>(names.begin(), names.end()).size() == names.size());
    }
    std::vector<config::ComponentInfo> all;
    for (const auto* infos : {&catalog.drift_methods, &catalog.performance_metrics, &catalog.concept_detectors,
                              &catalog.anomaly_detectors, &catalog.report_formats, &catalog.retrain_runners,
                              &catalog.retrain_hooks})
        all.insert(all.end(), infos->begin(), infos->end());
    for (const auto& sink : catalog.alert_sinks) all.push_back(sink.info);
    for (const auto& info : all) {
        INFO(info.name);
        CHECK_FALSE(info.summary.empty());
        CHECK(config::configure(info, {}).ok());  // the defaults pass the table and the checks between options
        if (info.options == nullptr) continue;
        for (const auto& row : info.options()) CHECK_FALSE(row.help.empty());
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

}  // namespace

TEST_CASE("a component added to the catalog is accepted by the configuration, validated and documented") {
    config::Catalog catalog = registry::catalog();
    catalog.concept_detectors.push_back({"throwaway", "a detector for this test only", throwaway_table});
    catalog.alert_sinks.push_back({{"pigeon", "a sink for this test only"}, {1, false, false}});
    catalog.drift_methods.push_back({"throwaway_shift", "a drift method for this test only"});
    catalog.retrain_runners.push_back({"carrier_pigeon", "a job runner for this test only"});

    const auto accepted = load("    concept_drift: {detector: throwaway, params: [level=5]}\n",
                               "alerting: {receivers: [{name: p, type: pigeon, urls: ['http://127.0.0.1:9']}]}\n",
                               catalog);
    INFO(errors_of(accepted));
    CHECK(accepted.ok());
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
    CHECK(docs.find("| `pigeon` | a sink for this test only |") != std::string::npos);
    CHECK(docs.find("| `throwaway_shift` | a drift method for this test only |") != std::string::npos);
    CHECK(docs.find("| `carrier_pigeon` | a job runner for this test only |") != std::string::npos);
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
    retrain.command = {"/bin/true"};
    REQUIRE(retrain::configured_runner(retrain) != nullptr);
    CHECK(retrain::configured_runner(retrain)->info.name == "exec");
    retrain.command.clear();
    retrain.http_url = "http://127.0.0.1:9/train";
    REQUIRE(retrain::configured_runner(retrain) != nullptr);
    CHECK(retrain::configured_runner(retrain)->info.name == "http_trigger");
    for (const auto kind : {retrain::HookKind::promotion, retrain::HookKind::rollback})
        CHECK(retrain::retrain_hook(kind).info.name == retrain::to_string(kind));
    // Not configured: no hook runs.
    CHECK_FALSE(retrain::run_configured_hook(retrain::HookKind::promotion, retrain, "/tmp", {}, {}).has_value());
}
