// The alert rules (pure) and AlertOutbox::route_new_findings against a real
// PostgreSQL: state changes enqueue, repeats do not, silences mute, each
// finding is routed once (a late commit too), only under the model's lease,
// and a failed routing transaction leaves no trace.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "alerts/alert_rules.h"
#include "alerts/fingerprint.h"
#include "alerts/outbox.h"
#include "tests/alerts/alert_test_support.h"

using namespace mw;
using namespace mw::alerts;
using namespace mw::alerts::testing;

namespace {

StoredFinding stored_finding(std::int64_t id, bool triggered, std::string kind = "dataset_drift") {
    StoredFinding stored;
    stored.id = id;
    stored.finding.model = "elec2";
    stored.finding.kind = std::move(kind);
    stored.finding.method = "ks";
    stored.finding.statistic = 0.75;
    stored.finding.threshold = 0.5;
    stored.finding.p_value = 0.001;
    stored.finding.triggered = triggered;
    stored.finding.severity = Severity::critical;
    stored.finding.window_start_us = t0_us;
    stored.finding.window_end_us = t0_us + 3600 * second_us;
    return stored;
}

}  // namespace

TEST_CASE("fingerprint: sha256 of the length-prefixed fields, first 16 bytes in hex", "[alerts][fingerprint]") {
    // Expected values computed independently with Python's hashlib:
    // sha256(b"".join(struct.pack(">Q", len(f)) + f for f in fields)).hexdigest()[:32].
    CHECK(fingerprint("elec2", "dataset_drift", "") == "aee0596c8851c7f640a466b6f3f832c1");
    CHECK(fingerprint("elec2", "feature_drift", "nswprice") == "d340c395e9e78590d9623618f8d8fff6");
    // The length prefix keeps field boundaries apart.
    CHECK(fingerprint("ab", "c", "") != fingerprint("a", "bc", ""));
    CHECK(fingerprint("a", "b", "c") != fingerprint("a", "", "bc"));
}

TEST_CASE("route_finding: fire on the first trigger, nothing on a repeat, resolve on clear", "[alerts][rules]") {
    const auto options = two_receivers();
    const auto first = route_finding(stored_finding(1, true), std::nullopt, 0, options, t0_us);
    REQUIRE(first.alert);
    CHECK(first.state_changed);
    CHECK(first.alert->state == AlertState::firing);
    CHECK(first.alert->fingerprint == fingerprint("elec2", "dataset_drift", ""));
    CHECK(first.alert->severity == Severity::critical);  // the finding's own
    CHECK(first.alert->started_at_us == t0_us);
    CHECK_FALSE(first.alert->last_sent_at_us);

    auto told = *first.alert;
    told.last_sent_at_us = t0_us;
    const auto repeat = route_finding(stored_finding(2, true), told, 0, options, t0_us + 60 * second_us);
    REQUIRE(repeat.alert);
    CHECK_FALSE(repeat.state_changed);
    CHECK(repeat.alert->state == AlertState::firing);
    CHECK(repeat.alert->finding_id == 2);
    CHECK(repeat.alert->started_at_us == t0_us);         // the same episode
    CHECK(repeat.alert->last_sent_at_us == t0_us);       // nothing re-sent by a finding

    const auto clear = route_finding(stored_finding(3, false), *repeat.alert, 1, options, t0_us + 120 * second_us);
    REQUIRE(clear.alert);
    CHECK(clear.state_changed);
    CHECK(clear.alert->state == AlertState::resolved);
    CHECK(clear.alert->resolved_at_us == t0_us + 120 * second_us);

    // Clean again while resolved, or clean with no alert: nothing.
    CHECK_FALSE(route_finding(stored_finding(4, false), *clear.alert, 2, options, t0_us).alert);
    CHECK_FALSE(route_finding(stored_finding(5, false), std::nullopt, 1, options, t0_us).alert);

    // Triggered again after resolving: a new episode.
    const auto again = route_finding(stored_finding(6, true), *clear.alert, 0, options, t0_us + 300 * second_us);
    REQUIRE(again.alert);
    CHECK(again.state_changed);
    CHECK(again.alert->started_at_us == t0_us + 300 * second_us);
    CHECK_FALSE(again.alert->resolved_at_us);
}

TEST_CASE("route_finding: options decide kinds, severity and clean windows", "[alerts][rules]") {
    auto options = two_receivers();
    // feature_drift is summarised by dataset_drift and does not alert by default.
    CHECK_FALSE(route_finding(stored_finding(1, true, "feature_drift"), std::nullopt, 0, options, t0_us).alert);
    options.alerting_kinds.insert("feature_drift");
    CHECK(route_finding(stored_finding(1, true, "feature_drift"), std::nullopt, 0, options, t0_us).state_changed);

    options.severity_by_kind["dataset_drift"] = Severity::info;
    const auto firing = route_finding(stored_finding(2, true), std::nullopt, 0, options, t0_us);
    REQUIRE(firing.alert);
    CHECK(firing.alert->severity == Severity::info);

    options.resolve_after_clean_windows = 2;
    CHECK_FALSE(route_finding(stored_finding(3, false), *firing.alert, 1, options, t0_us).alert);
    const auto resolved = route_finding(stored_finding(4, false), *firing.alert, 2, options, t0_us);
    REQUIRE(resolved.alert);
    CHECK(resolved.alert->state == AlertState::resolved);
}

TEST_CASE("causes_annotation: a performance drop's named causes, else its summary", "[alerts][rules]") {
    const std::string named =
        R"({"n": 1000, "root_cause": {"summary": "accuracy 0.6 vs 0.8 in reference; segment a=b: ...",
            "causes": ["segment a=b: accuracy 0.5 [0.45, 0.55] vs 0.8 in reference, 90% of the drop",
                       "feature x: the shift of its distribution (total variation 0.10), 40% of the drop"]}})";
    CHECK(causes_annotation(named) ==
          "segment a=b: accuracy 0.5 [0.45, 0.55] vs 0.8 in reference, 90% of the drop\n"
          "feature x: the shift of its distribution (total variation 0.10), 40% of the drop");
    CHECK(causes_annotation(R"({"root_cause": {"summary": "no single cause: ...", "causes": []}})") ==
          "no single cause: ...");
    CHECK(causes_annotation(R"({"root_cause": {"error": "the reference has no labelled rows"}})") ==
          "the reference has no labelled rows");
    CHECK(causes_annotation(R"({"n": 1000})").empty());
    CHECK(causes_annotation("not json").empty());

    auto options = two_receivers();
    const auto record = route_finding(stored_finding(42, true), std::nullopt, 0, options, t0_us).alert.value();
    CHECK(render_alert(record, options, t0_us, "segment a=b").annotations.at("causes") == "segment a=b");
    CHECK_FALSE(render_alert(record, options, t0_us).annotations.contains("causes"));
}

TEST_CASE("render_alert: labels, annotations, generatorURL and endsAt", "[alerts][rules]") {
    auto options = two_receivers();
    options.runbook_url_template = "https://runbooks.test/{model}/{kind}";
    options.resend_interval_seconds = 300;
    auto stored = stored_finding(42, true);
    stored.finding.subject = "nswprice";
    const auto record = route_finding(stored, std::nullopt, 0, options, t0_us).alert.value();

    const Alert firing = render_alert(record, options, t0_us + 10 * second_us);
    CHECK(firing.state == AlertState::firing);
    CHECK(firing.labels.at("alertname") == "modelwatch_dataset_drift");
    CHECK(firing.labels.at("model") == "elec2");
    CHECK(firing.labels.at("subject") == "nswprice");
    CHECK(firing.labels.at("severity") == "critical");
    CHECK(firing.annotations.at("runbook_url") == "https://runbooks.test/elec2/dataset_drift");
    CHECK(firing.generator_url == "http://modelwatch.test/v1/findings/42");
    CHECK(firing.annotations.at("summary") == "Dataset drift on model elec2 (nswprice)");
    CHECK(firing.starts_at_us == t0_us);
    CHECK(firing.ends_at_us == t0_us + 10 * second_us + 4 * 300 * second_us);

    const auto description = firing.annotations.at("description");
    CHECK(description.find("ks statistic 0.75, threshold 0.5, p-value 0.001") != std::string::npos);
    CHECK(description.find("2026-01-01T00:00:00.000000Z") != std::string::npos);

    auto resolved = record;
    resolved.state = AlertState::resolved;
    resolved.resolved_at_us = t0_us + 99 * second_us;
    CHECK(render_alert(resolved, options, t0_us + 500 * second_us).ends_at_us == t0_us + 99 * second_us);

    // The outbox stores the alert as JSON and reads it back unchanged.
    const auto back = alert_from_json(to_json(firing));
    REQUIRE(back);
    CHECK(back->fingerprint == firing.fingerprint);
    CHECK(back->labels == firing.labels);
    CHECK(back->annotations == firing.annotations);
    CHECK(back->ends_at_us == firing.ends_at_us);
    CHECK_FALSE(alert_from_json(nlohmann::json{{"fingerprint", "x"}}));
}

TEST_CASE("validate: names the field at fault", "[alerts][rules]") {
    CHECK(validate(two_receivers()).empty());
    auto options = two_receivers();
    options.receivers_by_severity[Severity::critical] = {"pager"};
    options.resolve_after_clean_windows = 0;
    const auto problems = validate(options);
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].find("resolve_after_clean_windows") != std::string::npos);
    CHECK(problems[1].find("receivers_by_severity.critical names receiver 'pager'") != std::string::npos);
}

TEST_CASE("route_new_findings: a first trigger enqueues one delivery per receiver, a repeat nothing, a clear "
          "resolves",
          "[alerts][router][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;

    insert_finding(connection, {});
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE state = 'firing'") == 2);
    CHECK(count(connection, "SELECT count(DISTINCT receiver) FROM alert_deliveries") == 2);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE state = 'firing'") == 1);
    {
        pqxx::read_transaction transaction(connection);
        const auto payload = nlohmann::json::parse(
            transaction.exec1("SELECT payload::text FROM alert_deliveries ORDER BY id LIMIT 1")[0].as<std::string>());
        CHECK(payload["resend"] == false);
        CHECK(payload["alert"]["labels"]["model"] == "elec2");
        CHECK(payload["alert"]["state"] == "firing");
    }

    // The same finding again, a minute later: still firing, nothing new.
    insert_finding(connection, {});
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us + 60 * second_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries") == 2);

    // Nothing new to route: nothing happens.
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us + 61 * second_us) == 0);

    // A clean window resolves it and tells both receivers.
    insert_finding(connection, {.triggered = false});
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us + 120 * second_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE state = 'resolved'") == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE state = 'resolved'") == 2);

    // Kinds that do not alert are only marked routed.
    insert_finding(connection, {.kind = "feature_drift", .subject = "nswprice"});
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us + 180 * second_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alerts") == 1);
    CHECK(count(connection, "SELECT count(*) FROM findings WHERE NOT alert_routed") == 0);
}

TEST_CASE("route_new_findings: resolve_after_clean_windows counts consecutive clean findings", "[alerts][router][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;
    options.resolve_after_clean_windows = 2;

    insert_finding(connection, {});
    insert_finding(connection, {.triggered = false});
    insert_finding(connection, {});  // breaks the clean streak
    insert_finding(connection, {.triggered = false});
    outbox.route_new_findings(connection, options, owned, t0_us);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE state = 'firing'") == 1);

    insert_finding(connection, {.triggered = false});
    outbox.route_new_findings(connection, options, owned, t0_us + second_us);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE state = 'resolved'") == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE state = 'resolved'") == 2);
}

TEST_CASE("route_new_findings: a silence mutes firing, records why, and its end lets the alert out",
          "[alerts][router][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;

    Silence silence;
    silence.model = "elec2";
    silence.kind = "dataset_drift";
    silence.starts_at_us = t0_us;
    silence.ends_at_us = t0_us + 3600 * second_us;
    silence.created_by = "ops";
    const auto added = add_silence(connection, silence);
    REQUIRE(added.id);

    // Another model is not silenced.
    insert_finding(connection, {});
    insert_finding(connection, {.model = "other"});
    outbox.route_new_findings(connection, options, owned, t0_us + second_us);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE state = 'firing'") == 2);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries d JOIN alerts a USING (fingerprint) "
                            "WHERE a.model = 'elec2'") == 0);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries") == 2);
    CHECK(count(connection, "SELECT count(*) FROM decisions WHERE kind = 'alert_silenced' AND model = 'elec2' "
                            "AND reason LIKE '%silence " + std::to_string(*added.id) + " is in force%'") == 1);

    // While silenced, no re-send either (the other model's alert is re-sent to "am").
    CHECK(outbox.enqueue_resends(connection, options, owned, t0_us + 600 * second_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries d JOIN alerts a USING (fingerprint) "
                            "WHERE a.model = 'elec2'") == 0);

    // Once the silence has ended, the still-firing alert goes to every
    // receiver as a state change (plus the other model's next re-send).
    CHECK(outbox.enqueue_resends(connection, options, owned, t0_us + 3601 * second_us) == 3);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries d JOIN alerts a USING (fingerprint) "
                            "WHERE a.model = 'elec2' AND NOT (d.payload->>'resend')::boolean") == 2);
}

TEST_CASE("route_new_findings: a resolution receivers never saw firing is not sent", "[alerts][router][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;
    REQUIRE(add_silence(connection, {.model = "elec2", .starts_at_us = t0_us, .ends_at_us = t0_us + 3600 * second_us})
                .id);

    insert_finding(connection, {});
    insert_finding(connection, {.triggered = false});
    outbox.route_new_findings(connection, options, owned, t0_us + second_us);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE state = 'resolved'") == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries") == 0);
    CHECK(count(connection, "SELECT count(*) FROM decisions WHERE kind = 'alert_resolved_unsent'") == 1);
}

TEST_CASE("route_new_findings: a finding still being written is routed on the next call, none twice",
          "[alerts][router][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;

    insert_finding(connection, {.subject = "", .triggered = true});
    // A detector's transaction takes the next id but has not committed...
    auto writer = db.connect();
    pqxx::work in_flight(*writer);
    const auto late_id = insert_finding(in_flight, {.kind = "performance"});
    // ... while a later one commits.
    const auto early_id = insert_finding(connection, {.kind = "anomaly"});
    REQUIRE(early_id > late_id);

    // Each finding is marked routed on its own: the committed ones go now.
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 2);
    in_flight.commit();
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us + second_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alerts") == 3);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries") == 6);
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us + 2 * second_us) == 0);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries") == 6);
}

TEST_CASE("route_new_findings: an older finding of an alert committed after a later one is not applied",
          "[alerts][router][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;

    auto writer = db.connect();
    pqxx::work in_flight(*writer);
    insert_finding(in_flight, {.triggered = false});  // the older, clean one commits last
    insert_finding(connection, {});
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 1);
    in_flight.commit();
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us + second_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE state = 'firing'") == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE state = 'resolved'") == 0);
}

TEST_CASE("route_new_findings: only the models whose leases are held, each under its fence",
          "[alerts][router][pg]") {
    OutboxFixture fixture({}, 1, {"elec2"});
    auto& [db, connection, owned, outbox, options] = fixture;

    insert_finding(connection, {});
    insert_finding(connection, {.model = "other"});
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE model = 'other'") == 0);
    CHECK(count(connection, "SELECT count(*) FROM findings WHERE NOT alert_routed AND model = 'other'") == 1);
    // The alert and its deliveries carry the lease they were decided under.
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE lease_owner = 'alert-test-daemon' "
                            "AND lease_epoch = " + std::to_string(owned.epochs.at("elec2"))) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE lease_owner = 'alert-test-daemon' "
                            "AND lease_epoch = " + std::to_string(owned.epochs.at("elec2"))) == 2);

    // The lease ends (the daemon paused past it) and another daemon takes
    // the model: the old holder routes nothing more, and says so.
    store::testing::expire_leases_of(connection, test_daemon);
    const auto taken = store::heartbeat(connection, "successor", {"elec2"}, std::chrono::hours(1));
    REQUIRE(taken.owned.size() == 1);
    insert_finding(connection, {.triggered = false});
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us + second_us) == 0);
    const auto fenced = outbox.take_fenced();
    REQUIRE(fenced.size() == 1);
    CHECK(fenced[0].find("elec2") != std::string::npos);
    CHECK(outbox.enqueue_resends(connection, options, owned, t0_us + 3600 * second_us) == 0);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE state = 'firing'") == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries") == 2);

    // The successor routes it under its own lease.
    const store::HeldLeases successor{"successor", {{"elec2", taken.owned[0].epoch}}};
    CHECK(outbox.route_new_findings(connection, options, successor, t0_us + 2 * second_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alerts WHERE state = 'resolved' AND lease_owner = 'successor'") == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE state = 'resolved' "
                            "AND lease_owner = 'successor'") == 2);
}

TEST_CASE("route_new_findings: a routing transaction that fails midway leaves nothing behind",
          "[alerts][router][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;
    // A "crash" after some of the work: the third finding's delivery fails.
    {
        pqxx::work transaction(connection);
        transaction.exec0(R"sql(
            CREATE FUNCTION fail_on_anomaly() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.payload->'alert'->'labels'->>'kind' = 'anomaly' THEN
                    RAISE EXCEPTION 'simulated crash';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER fail_on_anomaly BEFORE INSERT ON alert_deliveries
                FOR EACH ROW EXECUTE FUNCTION fail_on_anomaly();
        )sql");
        transaction.commit();
    }
    insert_finding(connection, {});
    insert_finding(connection, {.kind = "performance"});
    insert_finding(connection, {.kind = "anomaly"});
    CHECK_THROWS(outbox.route_new_findings(connection, options, owned, t0_us));
    CHECK(count(connection, "SELECT count(*) FROM alerts") == 0);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries") == 0);
    CHECK(count(connection, "SELECT count(*) FROM findings WHERE alert_routed") == 0);

    {
        pqxx::work transaction(connection);
        transaction.exec0("DROP TRIGGER fail_on_anomaly ON alert_deliveries");
        transaction.commit();
    }
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us + second_us) == 3);
    CHECK(count(connection, "SELECT count(*) FROM alerts") == 3);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries") == 6);
}
