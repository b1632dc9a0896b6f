// GET /v1/models/{model}/progress (daemon/monitoring.h, Monitoring::progress;
// store/admin_queries.h, model_progress) against a real PostgreSQL: each
// count moves with what the monitor, the alert router, the retraining policy
// and a job write for the model, and with nothing another model's rows do.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/nontransaction>
#include <prometheus/registry.h>

#include "config/loader.h"
#include "core/time.h"
#include "daemon/metrics.h"
#include "daemon/monitoring.h"
#include "daemon/rejection_tally.h"
#include "registry/catalog.h"
#include "store/migrations.h"
#include "store/read_sessions.h"
#include "tests/support/test_database.h"

using namespace mw;

namespace {

std::shared_ptr<const config::Config> progress_test_config(const std::string& dsn) {
    const auto loaded = config::load_config_text(
        fmt::format("store: {{dsn: \"{}\"}}\nmodels:\n"
                    "  - name: m\n    prediction: {{type: binary, classes: [UP, DOWN]}}\n"
                    "    features: [{{name: x, type: numeric}}]\n"
                    "    retrain: {{command: [/bin/true], triggers: [{{kind: performance}}]}}\n"
                    "  - name: plain\n    prediction: {{type: binary, classes: [UP, DOWN]}}\n"
                    "    features: [{{name: x, type: numeric}}]\n",
                    dsn),
        "t.yaml", [](const std::string&) { return std::nullopt; }, &registry::catalog());
    REQUIRE(loaded.ok());
    return std::make_shared<const config::Config>(*loaded.config);
}

void progress_test_exec(pqxx::connection& connection, const std::string& sql) {
    pqxx::nontransaction(connection).exec(sql);
}

// A window, a triggered finding on it and nothing else, for `model`.
void progress_test_window_and_finding(pqxx::connection& connection, const std::string& model, int sequence) {
    progress_test_exec(connection, fmt::format(
        "INSERT INTO monitor_windows (model, sequence, first_ts, first_id, last_ts, last_id, rows) "
        "VALUES ('{0}', {1}, now(), 'a{1}', now(), 'b{1}', 100); "
        "INSERT INTO findings (model, kind, method, statistic, threshold, triggered, severity, window_start, "
        "window_end, window_id) SELECT '{0}', 'performance', 'accuracy', 0.4, 0.5, true, 'warning', now(), now(), "
        "max(id) FROM monitor_windows",
        model, sequence));
}

}  // namespace

TEST_CASE("the progress answer counts what the daemon has done for one model") {
    store::testing::TestDatabase database;
    auto& connection = database.connection();
    store::migrate(connection);
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    daemon::RejectionTally rejections;
    daemon::Monitoring monitoring(progress_test_config(database.dsn()), 1, metrics, rejections, now_us(),
                                  [] { return now_us(); });
    // The caller's reading of the workers before the store (here: made up).
    daemon::WorkerStatus monitor_before;
    monitor_before.name = "monitor";
    monitor_before.passes_ended = 41;
    // The admin threads' read sessions (daemon/api.cpp): one, kept open between answers.
    store::ReadSessions reads(1, store::admin_read_timeout);
    const auto progress = [&](const std::string& model, std::uint64_t undrained = 0) {
        const auto outcome = monitoring.progress(model, undrained, {monitor_before}, reads);
        INFO(outcome.body);
        REQUIRE(outcome.status == 200);
        return nlohmann::json::parse(outcome.body);
    };

    const auto unknown = monitoring.progress("nope", 0, {}, reads);
    CHECK(unknown.status == 404);
    CHECK(nlohmann::json::parse(unknown.body)["error"] == "unknown model 'nope'");

    auto answer = progress("m", 3);
    CHECK(answer["model"] == "m");
    CHECK(answer["owned"] == false);  // no lease taken: the workers never ran
    CHECK(answer["spool_undrained_batches"] == 3);
    CHECK(answer["monitor"]["passes_ended"] == 41);
    CHECK(answer["monitor"]["next_pass"] == 1);  // no monitor pass has begun
    for (const char* key : {"windows", "windows_judged", "last_finding_id", "last_reference_id",
                            "last_job_transition_id", "jobs_unfinished", "findings_unrouted",
                            "findings_unseen_by_retraining"})
        CHECK(answer[key] == 0);
    CHECK(answer["reference_pending"] == false);

    // The monitor closed a window with a finding; another model's do not count.
    progress_test_window_and_finding(connection, "m", 1);
    progress_test_window_and_finding(connection, "plain", 1);
    const auto finding_id =
        pqxx::nontransaction(connection).exec1("SELECT max(id) FROM findings WHERE model = 'm'")[0].as<std::int64_t>();
    answer = progress("m");
    CHECK(answer["windows"] == 1);
    CHECK(answer["windows_judged"] == 0);
    CHECK(answer["last_finding_id"] == finding_id);
    CHECK(answer["findings_unrouted"] == 1);
    CHECK(answer["findings_unseen_by_retraining"] == 1);
    // A model without retraining has no retraining policy to wait for.
    CHECK(progress("plain")["findings_unseen_by_retraining"] == 0);
    CHECK(progress("plain")["findings_unrouted"] == 1);

    // Routed, seen by the policy (its cursor) and a job queued for it.
    progress_test_exec(connection, fmt::format(
        "UPDATE findings SET alert_routed = true WHERE model = 'm'; "
        "INSERT INTO finding_cursors (consumer, last_finding_id) VALUES ('retrain_policy', {0}); "
        "INSERT INTO retrain_jobs (model, dedup_key, trigger, reason, finding_id, state) "
        "VALUES ('m', 'k', 'performance', 'accuracy below 0.5', {0}, 'queued'); "
        "INSERT INTO retrain_transitions (job_id, to_state, reason) SELECT max(id), 'queued', 'r' FROM retrain_jobs",
        finding_id));
    answer = progress("m");
    CHECK(answer["findings_unrouted"] == 0);
    CHECK(answer["findings_unseen_by_retraining"] == 0);
    CHECK(answer["jobs_unfinished"] == 1);
    const auto queued_transition = answer["last_job_transition_id"].get<std::int64_t>();
    CHECK(queued_transition > 0);

    // The job passes the gate (still unfinished: the promotion hook runs
    // next), is promoted, and the reference is reset; the window is judged.
    for (const char* state : {"running", "succeeded", "validated"}) {
        progress_test_exec(connection, fmt::format(
            "UPDATE retrain_jobs SET state = '{0}'; "
            "INSERT INTO retrain_transitions (job_id, to_state, reason) SELECT max(id), '{0}', 'r' FROM retrain_jobs",
            state));
        CHECK(progress("m")["jobs_unfinished"] == 1);
    }
    progress_test_exec(connection,
                       "UPDATE retrain_jobs SET state = 'promoted'; "
                       "INSERT INTO retrain_transitions (job_id, to_state, reason) "
                       "SELECT max(id), 'promoted', 'r' FROM retrain_jobs; "
                       "INSERT INTO model_references (model, source, rows, sample) VALUES ('m', 'promotion', 0, '{}'); "
                       "UPDATE monitor_windows SET performance_at = now() WHERE model = 'm'");
    answer = progress("m");
    CHECK(answer["jobs_unfinished"] == 0);
    CHECK(answer["last_job_transition_id"].get<std::int64_t>() > queued_transition);
    CHECK(answer["windows_judged"] == 1);
    CHECK(answer["last_reference_id"].get<std::int64_t>() > 0);
    CHECK(answer["reference_pending"] == true);
    // Every answer read on one session; an unknown model's needed none.
    CHECK(reads.stats().opened == 1);
}
