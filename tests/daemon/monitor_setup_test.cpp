// The configuration checks names against the registries (through
// registry/catalog.cpp); these tests walk every registry through the loader
// and the daemon's wiring, and check what the daemon builds from a loaded
// configuration.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <pqxx/result>
#include <pqxx/transaction>
#include <prometheus/registry.h>

#include "config/loader.h"
#include "core/time.h"
#include "store/migrations.h"
#include "tests/support/test_database.h"
#include "daemon/alert_loop.h"
#include "daemon/detector_options.h"
#include "daemon/reference_fit.h"
#include "daemon/retrain_loop.h"
#include "daemon/window_table.h"
#include "detectors/concept_registry.h"
#include "detectors/feature_drift.h"
#include "detectors/performance_thresholds.h"
#include "detectors/reference_sample.h"
#include "registry/catalog.h"
#include "retrain/job_queue.h"
#include "retrain/policy.h"

using namespace mw;

namespace {

config::LoadResult load_model(const std::string& model_extra, const std::string& top_extra = "") {
    const std::string text = fmt::format(
        "{}models:\n  - name: m\n    prediction: {{type: binary, classes: [a, b]}}\n"
        "    features: [{{name: x, type: numeric}}, {{name: c, type: categorical}}]\n    attributes: [s]\n{}",
        top_extra.find("store:") == std::string::npos ? "store: {dsn: x}\n" + top_extra : top_extra, model_extra);
    return config::load_config_text(text, "test.yaml", [](const std::string&) { return std::nullopt; },
                                    &registry::catalog());
}

// 100 reference rows predicted "a": 60 labelled "a", 20 "b", 20 without a
// label yet; accuracy on the 80 labelled rows 0.75 (binary fractions, so
// the bounds drawn from it are exact and their ties ties).
drift::DriftTable labelled_reference_sample() {
    drift::DriftTable sample;
    sample.rows = 100;
    drift::ColumnData x{.name = "x", .numeric = true, .numbers = {}, .texts = {}};
    drift::ColumnData c{.name = "c", .numeric = false, .numbers = {}, .texts = {}};
    drift::ColumnData score{.name = daemon::score_column, .numeric = true, .numbers = {}, .texts = {}};
    drift::ColumnData prediction{.name = daemon::prediction_column, .numeric = false, .numbers = {}, .texts = {}};
    drift::ColumnData label{.name = daemon::label_column, .numeric = false, .numbers = {}, .texts = {}};
    for (int r = 0; r < 100; ++r) {
        x.numbers.push_back(r % 17);
        c.texts.push_back(r % 2 == 0 ? "u" : "v");
        score.numbers.push_back(0.55 + 0.004 * r);
        prediction.texts.push_back("a");
        label.texts.push_back(r < 60 ? "a" : r < 80 ? "b" : "");
    }
    sample.columns = {x, c, score, prediction, label};
    return sample;
}

}  // namespace

TEST_CASE("every drift method in the registry is accepted by the configuration, and nothing else") {
    for (const auto& entry : drift::drift_methods()) {
        const std::string name(entry.info.name);
        INFO(name);
        REQUIRE(drift::parse_drift_method(name) == &entry);
        CHECK(load_model(fmt::format("    drift: {{method: {}}}\n", name)).ok());
    }
    const auto refused = load_model("    drift: {method: kolmogorov}\n");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.errors.front().path == "models[0].drift.method");
}

TEST_CASE("every concept-drift detector in the registry is accepted by the configuration") {
    for (const auto& entry : concept_drift::concept_detectors()) {
        INFO(entry.info.name);
        CHECK(load_model(fmt::format("    concept_drift: {{detector: {}}}\n", entry.info.name)).ok());
    }
    CHECK_FALSE(load_model("    concept_drift: {detector: adwinn}\n").ok());
}

TEST_CASE("every finding kind can trigger retraining, and the policy gets each trigger the configuration accepts") {
    std::vector<std::string_view> kinds;
    for (const auto& kind : finding_kinds()) kinds.push_back(kind.name);
    kinds.push_back(manual_trigger);
    for (const auto kind : kinds) {
        INFO(kind);
        REQUIRE(retrain::parse_trigger_kind(kind).has_value());
        const auto loaded =
            load_model(fmt::format("    retrain: {{command: [/bin/true], triggers: [{{kind: {}, for: 10m}}]}}\n", kind));
        REQUIRE(loaded.ok());
        const auto policy = daemon::policy_options(loaded.config->models[0].retrain);
        REQUIRE(policy.triggers.size() == 1);
        CHECK(policy.triggers[0].kind == kind);
        CHECK(policy.triggers[0].hold_for_ms == 600000);
    }
    const auto refused = load_model("    retrain: {command: [/bin/true], triggers: [{kind: feature_drfit}]}\n");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.errors.front().path == "models[0].retrain.triggers[0].kind");
}

TEST_CASE("alert routing: every receiver gets alerts; only Alertmanager gets re-sends") {
    const auto loaded = load_model(
        "", "alerting:\n  resend_interval: 2m\n  receivers:\n"
            "    - {name: am, type: alertmanager, urls: ['http://127.0.0.1:9093']}\n"
            "    - {name: hook, type: exec, command: [/bin/cat]}\n");
    REQUIRE(loaded.ok());
    const auto routing = daemon::routing_options(loaded.config->alerting);
    CHECK(routing.default_receivers == std::vector<std::string>{"am", "hook"});
    REQUIRE(routing.receivers.size() == 2);
    CHECK(routing.receivers[0].resend);
    CHECK_FALSE(routing.receivers[1].resend);
    CHECK(routing.resend_interval_seconds == 120);
    CHECK(daemon::make_sinks(loaded.config->alerting).size() == 2);
}

TEST_CASE("stored rows become the detectors' columns; missing and mistyped values are missing") {
    ModelSchema schema;
    schema.features = {{"x", FeatureType::numeric}, {"c", FeatureType::categorical}};
    schema.attributes = {"s"};
    std::vector<store::WindowRow> rows(3);
    rows[0].features_json = R"({"x": 1.5, "c": "red"})";
    rows[0].attributes_json = R"({"s": "F"})";
    rows[0].prediction_label = "a";
    rows[0].score = 0.7;
    rows[1].features_json = R"({"x": "oops", "c": 3})";
    rows[1].attributes_json = "{}";
    rows[2].features_json = "not json";
    rows[2].attributes_json = "[]";
    rows[2].label = "b";
    const auto table = daemon::rows_to_table(rows, schema);
    REQUIRE(table.rows == 3);
    const auto* x = table.find("x");
    REQUIRE(x != nullptr);
    CHECK(x->numbers[0] == 1.5);
    CHECK(std::isnan(x->numbers[1]));
    CHECK(std::isnan(x->numbers[2]));
    CHECK(table.find("c")->texts == std::vector<std::string>{"red", "3", ""});
    CHECK(table.find("#s")->texts == std::vector<std::string>{"F", "", ""});
    CHECK(table.find("@label")->texts == std::vector<std::string>{"", "", "b"});
    const auto outputs = daemon::outputs_view(table);
    REQUIRE(outputs.columns.size() == 2);
    CHECK(outputs.columns[0].name == "score");
    const auto features = daemon::features_view(table, schema, {"s"});
    REQUIRE(features.columns.size() == 3);
    CHECK(features.columns[2].name == "s");
}

TEST_CASE("a retraining schedule queues a job at its slot, once") {
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    auto loaded = load_model(
        "    retrain: {command: [/bin/false], schedule: '0 * * * *', cooldown: 0}\n",
        fmt::format("store: {{dsn: \"{}\"}}\n", database.dsn()));
    // load_model sets its own store; the loop only needs the models.
    INFO((loaded.errors.empty() ? std::string() : config::to_string(loaded.errors.front())));
    REQUIRE(loaded.ok());
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    daemon::RetrainLoop loop(*loaded.config, metrics, "setup-test");
    const std::int64_t now = mw::now_us();
    auto count = [&] {
        pqxx::read_transaction transaction(database.connection());
        return transaction.exec1("SELECT count(*) FROM retrain_jobs WHERE trigger = 'schedule'")[0].as<int>();
    };
    // Before the next hour: nothing.
    loop.pass(database.connection(), now);
    CHECK(count() == 0);
    // Two hours later: the missed slots give one job, and the next pass none.
    loop.pass(database.connection(), now + 2LL * 3600 * 1'000'000);
    CHECK(count() == 1);
    loop.pass(database.connection(), now + 2LL * 3600 * 1'000'000 + 1'000'000);
    CHECK(count() == 1);
}

TEST_CASE("an unusable retraining schedule is refused with the model named") {
    const std::string retrain = "    retrain: {command: [/bin/false], schedule: '61 * * * *'}\n";
    // The loader refuses it, with its line, before anything starts...
    const auto refused = load_model(retrain);
    REQUIRE_FALSE(refused.ok());
    CHECK(config::to_string(refused.errors.front()) ==
          "models[0].retrain.schedule (line 7): \"61 * * * *\" is not a cron expression: field 1 (minute): 61 is "
          "outside 0-59");
    // ...and the loop, given it anyway (a configuration built by hand), refuses it too.
    auto loaded = load_model("    retrain: {command: [/bin/false], schedule: '1 * * * *'}\n");
    REQUIRE(loaded.ok());
    loaded.config->models[0].retrain.schedule = "61 * * * *";
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    CHECK_THROWS_WITH(daemon::RetrainLoop(*loaded.config, metrics, "setup-test"),
                      Catch::Contains("model m: retrain.schedule"));
}

TEST_CASE("a max_drop without a band drops from the accuracy on the reference's labelled rows") {
    const auto sample = labelled_reference_sample();
    store::StoredReference reference;
    reference.id = 7;
    reference.rows = 100;
    reference.sample_json = drift::reference_sample_to_json(sample);

    const auto model_with = [](const std::string& threshold) {
        const auto loaded = load_model(fmt::format("    performance: {{thresholds: [{}]}}\n", threshold));
        REQUIRE(loaded.ok());
        return loaded.config->models.front();
    };
    const auto fit_with = [&](const std::string& threshold) {
        return daemon::fit_reference(reference, model_with(threshold));
    };
    const auto model = model_with("{metric: accuracy, max_drop: 0.5, band_sd: 0}");
    const auto fitted = daemon::fit_reference(reference, model);
    REQUIRE(fitted.bands.size() == 1);
    REQUIRE(fitted.bands[0].reference_value);
    CHECK(*fitted.bands[0].reference_value == 0.75);
    // The bound the window's accuracy is held to: half of 0.75.
    const auto thresholds = daemon::metric_thresholds(model.performance);
    REQUIRE(thresholds.size() == 1);
    CHECK_FALSE(thresholds[0].reference_band);
    performance::MetricSet window;
    window.metrics.push_back({"accuracy", 0.375, {}});
    auto findings = performance::evaluate_thresholds(window, false, thresholds, fitted.bands, {"m", "", 0, 1});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].threshold == 0.375);
    CHECK_FALSE(findings[0].triggered);  // at the bound is not below it
    window.metrics[0].value = 0.37;
    findings = performance::evaluate_thresholds(window, true, thresholds, fitted.bands, {"m", "", 0, 1});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].triggered);
    CHECK(findings[0].method == "cbpe");

    // A window with no labelled rows has no accuracy: no finding either way.
    window.metrics[0] = {"accuracy", std::nullopt, "no labelled rows"};
    CHECK(performance::evaluate_thresholds(window, false, thresholds, fitted.bands, {"m", "", 0, 1}).empty());

    // A reference whose labels have not arrived has no value to drop from:
    // no bound, so no finding (and a warning at the fit), until a new reference.
    auto unlabelled_sample = sample;
    unlabelled_sample.columns[4].texts = mw::drift::TextColumn(std::vector<std::string>(100, ""));
    auto unlabelled = reference;
    unlabelled.sample_json = drift::reference_sample_to_json(unlabelled_sample);
    const auto unfitted = daemon::fit_reference(unlabelled, model);
    CHECK(unfitted.bands.empty());
    window.metrics[0] = {"accuracy", 0.1, {}};
    CHECK(performance::evaluate_thresholds(window, true, thresholds, unfitted.bands, {"m", "", 0, 1}).empty());

    // A negative drop is refused where it is written.
    const auto negative = load_model("    performance: {thresholds: [{metric: accuracy, max_drop: -0.1, band_sd: 0}]}\n");
    REQUIRE_FALSE(negative.ok());
    CHECK(negative.errors.front().path == "models[0].performance.thresholds[0].max_drop");

    // A minimum alone fits no band; a band alone keeps working as before.
    CHECK(fit_with("{metric: accuracy, min: 0.7, band_sd: 0}").bands.empty());
    CHECK(fit_with("{metric: accuracy, min: 0.7}").bands.size() == 1);
}

TEST_CASE("retrain.rebase_on_rejection is refused where it would re-base nothing, naming the key and its line") {
    const std::string drop = "    performance: {thresholds: [{metric: accuracy, max_drop: 0.1, band_sd: 0}]}\n";
    const auto error_of = [](const config::LoadResult& loaded) {
        REQUIRE_FALSE(loaded.ok());
        return config::to_string(loaded.errors.front());
    };
    // No gate without a runner.
    CHECK(error_of(load_model(drop + "    retrain: {rebase_on_rejection: true}\n")) ==
          "models[0].retrain.rebase_on_rejection (line 8): re-bases after the gate rejects a job's challenger, and "
          "retraining is off (no runner: command or http_url)");
    // No max_drop of the gate's metric to move: none at all, or on another metric.
    const std::string retrain =
        "    retrain: {command: [/bin/false], triggers: [{kind: performance}], rebase_on_rejection: true}\n";
    const std::string refused =
        "models[0].retrain.rebase_on_rejection (line 8): re-bases the reference value that "
        "performance.thresholds[].max_drop drops from, and no threshold of the gate's metric \"accuracy\" has a "
        "max_drop";
    CHECK(error_of(load_model("    performance: {thresholds: [{metric: accuracy, min: 0.7}]}\n" + retrain)) == refused);
    CHECK(error_of(load_model("    performance: {thresholds: [{metric: log_loss, max_drop: 0.1, band_sd: 0}]}\n" +
                              retrain)) == refused);
    // Not a boolean: the option table's own error.
    const auto not_boolean = load_model(
        drop + "    retrain: {command: [/bin/false], triggers: [{kind: performance}], rebase_on_rejection: yes}\n");
    REQUIRE_FALSE(not_boolean.ok());
    CHECK(not_boolean.errors.front().path == "models[0].retrain.rebase_on_rejection");
    // Off by default; on with a max_drop of the gate's metric.
    const auto off = load_model(drop + "    retrain: {command: [/bin/false], triggers: [{kind: performance}]}\n");
    REQUIRE(off.ok());
    CHECK_FALSE(off.config->models[0].retrain.rebase_on_rejection);
    const auto on = load_model(drop + retrain);
    INFO((on.errors.empty() ? std::string() : config::to_string(on.errors.front())));
    REQUIRE(on.ok());
    CHECK(on.config->models[0].retrain.rebase_on_rejection);
}

TEST_CASE("a rejected challenger re-bases the served model's max_drop; a promotion resets it; a restart keeps it") {
    store::testing::TestDatabase database;
    auto& connection = database.connection();
    store::migrate(connection);
    const auto config_with = [&](const std::string& rebase) {
        auto loaded = load_model(
            "    performance: {thresholds: [{metric: accuracy, max_drop: 0.5, band_sd: 0}]}\n"
            "    retrain: {http_url: 'http://127.0.0.1:9/train', triggers: [{kind: performance}], cooldown: 0" +
                rebase + "}\n",
            fmt::format("store: {{dsn: \"{}\"}}\n", database.dsn()));
        INFO((loaded.errors.empty() ? std::string() : config::to_string(loaded.errors.front())));
        REQUIRE(loaded.ok());
        return std::move(*loaded.config);
    };
    const auto config = config_with(", rebase_on_rejection: true");
    const auto& model = config.models.front();
    const auto sample_json = drift::reference_sample_to_json(labelled_reference_sample());
    store::NewReference first;
    first.model = "m";
    first.source = "first_n";
    first.model_version = "v1";
    first.rows = 100;
    first.sample_json = sample_json;
    store::insert_reference(connection, first);
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    daemon::RetrainLoop loop(config, metrics, "rebase-test");

    int jobs = 0;
    const auto claim = [&] {
        retrain::JobRequest request;
        request.model = "m";
        request.dedup_key = fmt::format("m:manual:{}", ++jobs);
        request.trigger = "manual";
        request.reason = "the test";
        retrain::enqueue(connection, request, mw::now_us());
        auto job = retrain::claim_next(connection, "rebase-test", 2, mw::now_us());
        REQUIRE(job);
        return job->id;
    };
    const auto report = [](double challenger, const std::string& champion_metrics) {
        return fmt::format(R"({{"version": 1, "challenger_version": "v{}", "artifact": "/m",)"
                           R"( "metrics": {{"accuracy": {}}}, "champion_metrics": {}}})",
                           challenger, challenger, champion_metrics);
    };
    const auto finish = [&](daemon::RetrainLoop& with, std::int64_t job, const std::string& body) {
        const auto [status, answer] = with.accept_report(connection, job, body, mw::now_us());
        INFO(answer);
        CHECK(status == 200);
        return nlohmann::json::parse(answer).at("state").get<std::string>();
    };
    const auto active = [&] {
        auto reference = store::active_reference(connection, "m");
        REQUIRE(reference);
        return *reference;
    };
    const auto decisions = [&] {
        pqxx::read_transaction transaction(connection);
        return transaction.exec1("SELECT count(*) FROM decisions WHERE kind = 'reference_rebased'")[0].as<int>();
    };
    const auto reference_value = [&](const daemon::ReferenceFit& fitted) {
        REQUIRE(fitted.bands.size() == 1);
        REQUIRE(fitted.bands[0].reference_value);
        return *fitted.bands[0].reference_value;
    };

    // Before any job: the accuracy on the reference's labelled rows.
    auto running = daemon::fit_reference(active(), model);
    CHECK(reference_value(running) == 0.75);
    CHECK_FALSE(running.rebased_by_job);

    // The gate rejects (0.600 does not beat 0.625): the champion's 0.625 is the new base.
    const auto rejected = claim();
    CHECK(finish(loop, rejected, report(0.6, R"({"accuracy": 0.625, "rows": 500})")) == "rejected");
    REQUIRE(active().rebase);
    CHECK(active().rebase->metric == "accuracy");
    CHECK(active().rebase->value == 0.625);
    CHECK(active().rebase->job_id == rejected);
    CHECK(decisions() == 1);
    // The running monitor's fit takes it at its next pass...
    daemon::apply_rebase(running, active(), model);
    CHECK(reference_value(running) == 0.625);
    CHECK(running.rebased_by_job == rejected);
    // ...and a restarted daemon's fit of the stored reference the same.
    const auto restarted = daemon::fit_reference(active(), model);
    CHECK(reference_value(restarted) == 0.625);
    // A window at 0.31 is now below half of 0.625, and says whose bar it was.
    const auto thresholds = daemon::metric_thresholds(model.performance);
    performance::MetricSet window;
    window.metrics.push_back({"accuracy", 0.31, {}});
    const auto findings = performance::evaluate_thresholds(window, false, thresholds, restarted.bands, {"m", "", 0, 1});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].triggered);
    CHECK(findings[0].threshold == 0.3125);
    CHECK(nlohmann::json::parse(findings[0].evidence_json).at("reference_rebased_by_job") == rejected);
    // With the option off, the stored value is not used.
    const auto off_config = config_with("");
    CHECK(reference_value(daemon::fit_reference(active(), off_config.models.front())) == 0.75);

    // A gate that measured nothing of the champion does not re-base: no
    // champion accuracy in the report, or a figure on no rows.
    CHECK(finish(loop, claim(), report(0.6, R"({"log_loss": 0.5})")) == "rejected");
    CHECK(finish(loop, claim(), report(0.5, R"({"accuracy": 0.52, "rows": 0})")) == "rejected");
    // Nor does a rejection with the option off.
    daemon::RetrainLoop loop_off(off_config, metrics, "rebase-test");
    CHECK(finish(loop_off, claim(), report(0.5, R"({"accuracy": 0.55})")) == "rejected");
    CHECK(active().rebase->value == 0.625);
    CHECK(active().rebase->job_id == rejected);
    CHECK(decisions() == 1);

    // A promotion resets the reference: the new model's has no re-base, nor
    // does a rejection while it is pending give it one.
    CHECK(finish(loop, claim(), report(0.9, R"({"accuracy": 0.625})")) == "promoted");
    CHECK(active().pending());
    CHECK_FALSE(active().rebase);
    CHECK(finish(loop, claim(), report(0.5, R"({"accuracy": 0.6})")) == "rejected");
    CHECK_FALSE(active().rebase);
    store::complete_reference(connection, active().id, first);
    CHECK_FALSE(active().rebase);
    CHECK(reference_value(daemon::fit_reference(active(), model)) == 0.75);

    // A job that started before another job's promotion measured the old
    // champion: its rejection re-bases nothing.
    const auto older = claim();
    CHECK(finish(loop, claim(), report(0.95, R"({"accuracy": 0.9})")) == "promoted");
    store::complete_reference(connection, active().id, first);
    CHECK(finish(loop, older, report(0.5, R"({"accuracy": 0.6})")) == "rejected");
    CHECK_FALSE(active().rebase);
    CHECK(decisions() == 1);
}
