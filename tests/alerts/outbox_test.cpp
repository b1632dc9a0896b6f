// The outbox's delivery side against a real PostgreSQL: re-sends, claiming
// (SKIP LOCKED, leases, per-alert order, stale re-sends), backoff and
// abandonment, silences and the admin listings.
#include <algorithm>
#include <set>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/nontransaction>

#include "alerts/outbox.h"
#include "tests/alerts/alert_test_support.h"

using namespace mw;
using namespace mw::alerts;
using namespace mw::alerts::testing;

namespace {

std::vector<std::int64_t> ids(const std::vector<ClaimedDelivery>& claimed) {
    std::vector<std::int64_t> result;
    for (const auto& delivery : claimed) result.push_back(delivery.id);
    return result;
}

void deliver_all(pqxx::connection_base& connection, AlertOutbox& outbox, const store::HeldLeases& owned,
                 const std::string& receiver, std::int64_t now_us) {
    for (const auto& delivery : outbox.claim_due(connection, receiver, owned, 1000, now_us))
        REQUIRE(outbox.mark_delivered(connection, delivery.id, now_us));
}

}  // namespace

TEST_CASE("enqueue_resends: after the interval, only to receivers that want re-sends", "[alerts][outbox][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;  // options: resend interval 300 s
    insert_finding(connection, {});
    outbox.route_new_findings(connection, options, owned, t0_us);
    deliver_all(connection, outbox, owned, "am", t0_us);
    deliver_all(connection, outbox, owned, "pd", t0_us);

    CHECK(outbox.enqueue_resends(connection, options, owned, t0_us + 299 * second_us) == 0);
    CHECK(outbox.enqueue_resends(connection, options, owned, t0_us + 300 * second_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE receiver = 'am' "
                            "AND (payload->>'resend')::boolean AND delivered_at IS NULL") == 1);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE receiver = 'pd'") == 1);
    // Alertmanager keeps it active for four intervals after this re-send.
    CHECK(count(connection, "SELECT (payload->'alert'->>'ends_at_us')::bigint FROM alert_deliveries "
                            "WHERE (payload->>'resend')::boolean") == t0_us + 300 * second_us + 1200 * second_us);
    // Not again until another interval has passed.
    CHECK(outbox.enqueue_resends(connection, options, owned, t0_us + 400 * second_us) == 0);
    CHECK(outbox.enqueue_resends(connection, options, owned, t0_us + 600 * second_us) == 1);

    // Resolved alerts are not re-sent.
    insert_finding(connection, {.triggered = false});
    outbox.route_new_findings(connection, options, owned, t0_us + 700 * second_us);
    CHECK(outbox.enqueue_resends(connection, options, owned, t0_us + 2000 * second_us) == 0);
}

TEST_CASE("mark_failed: full-jitter backoff within its bounds, retry_after, abandonment", "[alerts][outbox][pg]") {
    const OutboxOptions outbox_options{.backoff_base_ms = 1'000, .backoff_cap_ms = 8'000};
    OutboxFixture fixture(outbox_options, 7);
    auto& [db, connection, owned, outbox, options] = fixture;
    fire_alerts(connection, outbox, options, owned, 1);

    CHECK(backoff_bound_ms(0, outbox_options) == 1'000);
    CHECK(backoff_bound_ms(2, outbox_options) == 4'000);
    CHECK(backoff_bound_ms(3, outbox_options) == 8'000);
    CHECK(backoff_bound_ms(200, outbox_options) == 8'000);

    std::int64_t now_us = t0_us;
    std::int64_t delivery_id = 0;
    std::set<std::int64_t> delays_ms;
    for (int failure = 1; failure <= 6; ++failure) {
        const auto claimed = outbox.claim_due(connection, "am", owned, 10, now_us);
        REQUIRE(claimed.size() == 1);
        delivery_id = claimed[0].id;
        CHECK(claimed[0].attempts == failure - 1);
        const auto outcome = outbox.mark_failed(connection, delivery_id, "connection refused", true, {}, now_us);
        REQUIRE(outcome.found);
        CHECK_FALSE(outcome.abandoned);
        CHECK(outcome.attempts == failure);
        const auto delay_us = outcome.next_attempt_at_us - now_us;
        CHECK(delay_us >= 0);
        CHECK(delay_us <= backoff_bound_ms(failure - 1, outbox_options) * 1'000);
        delays_ms.insert(delay_us / 1'000);
        CHECK(count(connection, "SELECT (extract(epoch FROM next_attempt_at) * 1000000)::bigint FROM "
                                "alert_deliveries WHERE id = " + std::to_string(delivery_id)) ==
              outcome.next_attempt_at_us);
        // Not due a microsecond before its time.
        if (delay_us > 0) CHECK(outbox.claim_due(connection, "am", owned, 10, outcome.next_attempt_at_us - 1).empty());
        now_us = outcome.next_attempt_at_us;
    }
    CHECK(delays_ms.size() > 1);  // jittered, not a constant
    CHECK(count(connection, "SELECT attempts FROM alert_deliveries WHERE id = " + std::to_string(delivery_id)) == 6);

    // The receiver asked for more time than the backoff would give.
    auto claimed = outbox.claim_due(connection, "am", owned, 10, now_us);
    REQUIRE(claimed.size() == 1);
    const auto waited = outbox.mark_failed(connection, claimed[0].id, "429", true, std::chrono::minutes(10), now_us);
    CHECK(waited.next_attempt_at_us == now_us + 600 * second_us);
    now_us = waited.next_attempt_at_us;

    // Refused for good: abandoned, with the error and a decision.
    claimed = outbox.claim_due(connection, "am", owned, 10, now_us);
    REQUIRE(claimed.size() == 1);
    const auto refused = outbox.mark_failed(connection, claimed[0].id, "HTTP 400: bad labels", false, {}, now_us);
    CHECK(refused.abandoned);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE abandoned_at IS NOT NULL "
                            "AND last_error = 'HTTP 400: bad labels'") == 1);
    CHECK(count(connection, "SELECT count(*) FROM decisions WHERE kind = 'alert_delivery_abandoned' "
                            "AND reason LIKE '%HTTP 400: bad labels%' AND finding_id IS NOT NULL") == 1);
    CHECK(outbox.claim_due(connection, "am", owned, 10, now_us + 3600 * second_us).empty());
    CHECK_FALSE(outbox.mark_failed(connection, claimed[0].id, "again", true, {}, now_us).found);
}

TEST_CASE("claim_due: concurrent claimers never get the same delivery", "[alerts][outbox][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, setup, options] = fixture;
    fire_alerts(connection, setup, options, owned, 40);

    SECTION("a claim in flight is skipped, not waited for") {
        auto other = db.connect();
        pqxx::work holding(*other);
        // Another worker's claiming transaction holds the five oldest rows.
        const auto held = holding.exec(
            "SELECT id FROM alert_deliveries WHERE receiver = 'am' ORDER BY id LIMIT 5 FOR UPDATE");
        REQUIRE(held.size() == 5);
        // Waiting for the held rows instead of skipping them fails here rather than hanging.
        {
            pqxx::nontransaction session(connection);
            session.exec0("SET statement_timeout = '5s'");
        }
        const auto claimed = setup.claim_due(connection, "am", owned, 100, t0_us);
        CHECK(claimed.size() == 35);
        for (const auto& row : held)
            CHECK(std::none_of(claimed.begin(), claimed.end(), [&](const ClaimedDelivery& delivery) {
                return delivery.id == row[0].as<std::int64_t>();
            }));
    }

    SECTION("two workers claiming at once share the deliveries exactly") {
        std::vector<std::int64_t> claimed_by[2];
        std::thread workers[2];
        for (int w = 0; w < 2; ++w)
            workers[w] = std::thread([&, w] {
                auto own = db.connect();
                AlertOutbox outbox({}, static_cast<std::uint64_t>(w));
                for (;;) {
                    const auto batch = outbox.claim_due(*own, "am", owned, 3, t0_us);
                    if (batch.empty()) break;
                    for (const auto id : ids(batch)) claimed_by[w].push_back(id);
                }
            });
        for (auto& worker : workers) worker.join();
        std::vector<std::int64_t> all = claimed_by[0];
        all.insert(all.end(), claimed_by[1].begin(), claimed_by[1].end());
        std::set<std::int64_t> distinct(all.begin(), all.end());
        CHECK(all.size() == 40);
        CHECK(distinct.size() == 40);
    }
}

TEST_CASE("claim_due: an expired lease makes an undelivered claim due again", "[alerts][outbox][pg]") {
    OutboxFixture fixture({.lease_ms = 30'000});
    auto& [db, connection, owned, outbox, options] = fixture;
    fire_alerts(connection, outbox, options, owned, 1);

    const auto first = outbox.claim_due(connection, "pd", owned, 10, t0_us);
    REQUIRE(first.size() == 1);
    CHECK(first[0].alert.state == AlertState::firing);
    CHECK(first[0].alert.labels.at("subject") == "f0");
    CHECK_FALSE(first[0].resend);
    // The worker "crashed" before marking it: hidden during the lease ...
    CHECK(outbox.claim_due(connection, "pd", owned, 10, t0_us + 29 * second_us).empty());
    // ... and handed out again after it.
    const auto again = outbox.claim_due(connection, "pd", owned, 10, t0_us + 30 * second_us);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == first[0].id);
    CHECK(outbox.mark_delivered(connection, again[0].id, t0_us + 31 * second_us));
    // Marking twice (a slow first worker finishing late) changes nothing.
    CHECK_FALSE(outbox.mark_delivered(connection, first[0].id, t0_us + 32 * second_us));
    CHECK(outbox.claim_due(connection, "pd", owned, 10, t0_us + 3600 * second_us).empty());
}

TEST_CASE("claim_due: only under the model's lease; a claim of an ended lease is never sent again",
          "[alerts][outbox][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;
    insert_finding(connection, {});
    insert_finding(connection, {.model = "other"});
    REQUIRE(outbox.route_new_findings(connection, options, owned, t0_us) == 2);

    // "pd" of elec2 is claimed (and, say, sent) but its outcome never
    // recorded: its daemon was killed or paused past its lease.
    const store::HeldLeases elec2_only{owned.owner, {{"elec2", owned.epochs.at("elec2")}}};
    const auto claimed = outbox.claim_due(connection, "pd", elec2_only, 10, t0_us);
    REQUIRE(claimed.size() == 1);
    CHECK(claimed[0].model == "elec2");
    CHECK(claimed[0].claimed_under.owner == test_daemon);
    CHECK(claimed[0].claimed_under.epoch == owned.epochs.at("elec2"));

    store::testing::expire_leases_of(connection, test_daemon);
    const auto taken = store::heartbeat(connection, "successor", {"elec2", "other", "churn"}, std::chrono::hours(1));
    REQUIRE(taken.owned.size() == 3);
    store::HeldLeases successor{"successor", {}};
    for (const auto& lease : taken.owned) successor.epochs[lease.model] = lease.epoch;

    // The old holder claims nothing any more, however due.
    CHECK(outbox.claim_due(connection, "am", owned, 10, t0_us + 3600 * second_us).empty());
    CHECK(outbox.claim_due(connection, "pd", owned, 10, t0_us + 3600 * second_us).empty());

    // The successor gives the claim of the ended lease up as in doubt, even
    // long after the claim's own lease, and sends the rest once.
    const auto pd = outbox.claim_due(connection, "pd", successor, 10, t0_us + 3600 * second_us);
    REQUIRE(pd.size() == 1);
    CHECK(pd[0].model == "other");
    CHECK(pd[0].claimed_under.owner == "successor");
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE id = " + std::to_string(claimed[0].id) +
                            " AND abandoned_at IS NOT NULL AND last_error LIKE 'in doubt: claimed under lease epoch %'")
          == 1);
    CHECK(count(connection, "SELECT count(*) FROM decisions WHERE kind = 'alert_delivery_in_doubt' "
                            "AND model = 'elec2'") == 1);
    const auto am = outbox.claim_due(connection, "am", successor, 10, t0_us + 3600 * second_us);
    CHECK(am.size() == 2);
    for (const auto& delivery : am) CHECK(outbox.mark_delivered(connection, delivery.id, t0_us + 3600 * second_us));

    // The alert's next state change is not held up behind the one in doubt.
    insert_finding(connection, {.triggered = false});
    REQUIRE(outbox.route_new_findings(connection, options, successor, t0_us + 3601 * second_us) == 1);
    const auto resolved = outbox.claim_due(connection, "pd", successor, 10, t0_us + 3601 * second_us);
    REQUIRE(resolved.size() == 1);
    CHECK(resolved[0].alert.state == AlertState::resolved);

    // A claim given back unsent is the next lease's to send.
    const auto late = outbox.claim_due(connection, "am", successor, 10, t0_us + 3601 * second_us);
    REQUIRE(late.size() == 1);
    CHECK(outbox.release_claim(connection, late[0], t0_us + 3602 * second_us));
    CHECK_FALSE(outbox.release_claim(connection, late[0], t0_us + 3602 * second_us));
    const auto again = outbox.claim_due(connection, "am", successor, 10, t0_us + 3602 * second_us);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == late[0].id);
}

TEST_CASE("claim_due: one alert's deliveries go out in order; a superseded re-send is dropped",
          "[alerts][outbox][pg]") {
    OutboxFixture fixture({.backoff_base_ms = 60'000, .backoff_cap_ms = 60'000}, 3);
    auto& [db, connection, owned, outbox, options] = fixture;

    SECTION("a pending firing holds back the later resolved") {
        insert_finding(connection, {});
        outbox.route_new_findings(connection, options, owned, t0_us);
        const auto firing = outbox.claim_due(connection, "pd", owned, 10, t0_us);
        REQUIRE(firing.size() == 1);
        const auto failed = outbox.mark_failed(connection, firing[0].id, "timeout", true,
                                               std::chrono::milliseconds(5'000), t0_us);
        insert_finding(connection, {.triggered = false});
        outbox.route_new_findings(connection, options, owned, t0_us + second_us);

        // The resolved is due, but the firing before it is still pending.
        CHECK(outbox.claim_due(connection, "pd", owned, 10, t0_us + second_us).empty());
        const auto retried = outbox.claim_due(connection, "pd", owned, 10, failed.next_attempt_at_us);
        REQUIRE(retried.size() == 1);
        CHECK(retried[0].id == firing[0].id);
        CHECK(retried[0].alert.state == AlertState::firing);
        REQUIRE(outbox.mark_delivered(connection, retried[0].id, failed.next_attempt_at_us));
        const auto resolved = outbox.claim_due(connection, "pd", owned, 10, failed.next_attempt_at_us);
        REQUIRE(resolved.size() == 1);
        CHECK(resolved[0].alert.state == AlertState::resolved);
        CHECK(resolved[0].id > firing[0].id);
    }

    SECTION("a due re-send followed by a state change is abandoned, not delivered") {
        insert_finding(connection, {});
        outbox.route_new_findings(connection, options, owned, t0_us);
        deliver_all(connection, outbox, owned, "am", t0_us);
        REQUIRE(outbox.enqueue_resends(connection, options, owned, t0_us + 300 * second_us) == 1);
        const auto resend = outbox.claim_due(connection, "am", owned, 10, t0_us + 300 * second_us);
        REQUIRE(resend.size() == 1);
        CHECK(resend[0].resend);
        outbox.mark_failed(connection, resend[0].id, "timeout", true, {}, t0_us + 300 * second_us);

        insert_finding(connection, {.triggered = false});
        outbox.route_new_findings(connection, options, owned, t0_us + 301 * second_us);
        const auto next = outbox.claim_due(connection, "am", owned, 10, t0_us + 400 * second_us);
        REQUIRE(next.size() == 1);
        CHECK(next[0].alert.state == AlertState::resolved);
        CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE id = " + std::to_string(resend[0].id) +
                                    " AND abandoned_at IS NOT NULL AND last_error LIKE 'stale re-send%'") == 1);
    }
}

TEST_CASE("route_new_findings: a pending root-cause ranking holds its model's findings back, for a bounded wait",
          "[alerts][outbox][pg]") {
    store::testing::TestDatabase db;
    store::migrate(db.connection());
    const auto owned = hold_leases(db.connection());
    auto& connection = db.connection();
    AlertOutbox outbox({.root_cause_wait_ms = 15'000}, 5);
    const auto options = two_receivers();
    const std::string pending = R"({"root_cause": {"pending": true, "summary": "the causes are being ranked"}})";
    const auto causes_of = [&](const std::string& kind) {
        for (const auto& delivery : outbox.claim_due(connection, "pd", owned, 100, t0_us))
            if (delivery.alert.labels.at("kind") == kind) {
                const auto causes = delivery.alert.annotations.find("causes");
                return causes == delivery.alert.annotations.end() ? std::string("(none)") : causes->second;
            }
        FAIL("no delivery of a " << kind << " alert");
        return std::string();
    };

    const auto drop = insert_finding(connection, {.kind = "performance", .subject = "accuracy", .method = "realised",
                                                  .evidence = pending});
    insert_finding(connection, {.kind = "data_quality", .subject = "x"});  // later, the same model: waits with it
    insert_finding(connection, {.model = "other", .kind = "data_quality", .subject = "y"});  // another model's: not held
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 1);
    CHECK(count(connection, "SELECT count(*) FROM findings WHERE NOT alert_routed") == 2);

    // Ranked: the drop's alert goes out with its causes, and the finding after it follows.
    {
        pqxx::work transaction(connection);
        transaction.exec_params0(
            R"(UPDATE findings SET evidence = '{"root_cause": {"causes": ["segment a=b: accuracy 0.1"]}}' WHERE id = $1)",
            drop);
        transaction.commit();
    }
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 2);
    CHECK(causes_of("performance") == "segment a=b: accuracy 0.1");

    // A ranking that has not come within the wait (its worker was busy or
    // the daemon restarted): the alert goes out saying so, not held for ever.
    insert_finding(connection, {.kind = "performance", .subject = "f1", .method = "realised", .age_seconds = 16,
                                .evidence = pending});
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 1);
    CHECK(causes_of("performance") == "the causes are being ranked");
}

TEST_CASE("route_new_findings: the root-cause wait ends by the steady clock when the wall clock went back",
          "[alerts][outbox][pg]") {
    store::testing::TestDatabase db;
    store::migrate(db.connection());
    const auto owned = hold_leases(db.connection());
    auto& connection = db.connection();
    std::chrono::steady_clock::time_point steady{};
    AlertOutbox outbox({.root_cause_wait_ms = 15'000, .steady_clock = [&steady] { return steady; }}, 6);
    const auto options = two_receivers();
    const std::string pending = R"({"root_cause": {"pending": true, "summary": "the causes are being ranked"}})";

    // Stored, then the wall clock stepped back an hour: by the database's
    // clock the drop was written an hour from now, and its wait would last
    // an hour, holding every later alert of the model with it.
    insert_finding(connection, {.kind = "performance", .subject = "accuracy", .method = "realised",
                                .age_seconds = -3600, .evidence = pending});
    insert_finding(connection, {.kind = "data_quality", .subject = "x"});
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 0);
    steady += std::chrono::milliseconds(14'900);
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 0);
    steady += std::chrono::milliseconds(100);  // 15 s held by this process's clock
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 2);
    bool drop_sent = false;
    for (const auto& delivery : outbox.claim_due(connection, "pd", owned, 100, t0_us))
        if (delivery.alert.labels.at("kind") == "performance") {
            drop_sent = true;
            CHECK(delivery.alert.annotations.at("causes") == "the causes are being ranked");
        }
    CHECK(drop_sent);

    // A new pending drop is held for its own whole wait, not the one before's.
    insert_finding(connection, {.kind = "performance", .subject = "f1", .method = "realised", .evidence = pending});
    steady += std::chrono::milliseconds(60'000);
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 0);
    steady += std::chrono::milliseconds(10'000);
    CHECK(outbox.route_new_findings(connection, options, owned, t0_us) == 0);
}

TEST_CASE("silences and alerts for the admin API", "[alerts][outbox][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;

    const auto bad = add_silence(connection, {.starts_at_us = t0_us, .ends_at_us = t0_us});
    CHECK_FALSE(bad.id);
    CHECK(bad.error.find("ends_at") != std::string::npos);
    CHECK_FALSE(add_silence(connection, {.model = "", .starts_at_us = t0_us, .ends_at_us = t0_us + 1}).id);

    const auto now = add_silence(connection, {.kind = "anomaly",
                                              .starts_at_us = t0_us,
                                              .ends_at_us = t0_us + 600 * second_us,
                                              .created_by = "ops",
                                              .comment = "deploy"});
    const auto later = add_silence(connection, {.model = "elec2", .starts_at_us = t0_us + 3600 * second_us,
                                                .ends_at_us = t0_us + 7200 * second_us});
    REQUIRE(now.id);
    REQUIRE(later.id);
    auto listed = list_silences(connection, t0_us, false);
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].kind == "anomaly");
    CHECK_FALSE(listed[0].model);
    CHECK(listed[0].comment == "deploy");
    const auto json = to_json(listed[0]);
    CHECK(json["model"].is_null());
    CHECK(json["ends_at"] == "2026-01-01T00:10:00.000000Z");

    // Expiring ends it at now; a pending one is ended before it began.
    CHECK(expire_silence(connection, *now.id, t0_us + 60 * second_us));
    CHECK(expire_silence(connection, *later.id, t0_us + 60 * second_us));
    CHECK_FALSE(expire_silence(connection, *now.id, t0_us + 120 * second_us));
    CHECK(list_silences(connection, t0_us + 60 * second_us, false).empty());
    listed = list_silences(connection, t0_us + 60 * second_us, true);
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].ends_at_us == t0_us + 60 * second_us);

    // The expired silence no longer mutes.
    insert_finding(connection, {.kind = "anomaly"});
    insert_finding(connection, {.model = "churn"});
    outbox.route_new_findings(connection, options, owned, t0_us + 120 * second_us);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries") == 4);

    const auto all = list_alerts(connection, std::nullopt);
    CHECK(all.size() == 2);
    const auto churn = list_alerts(connection, std::string("churn"));
    REQUIRE(churn.size() == 1);
    CHECK(churn[0].kind == "dataset_drift");
    CHECK(churn[0].state == AlertState::firing);
    CHECK(churn[0].started_at_us == t0_us + 120 * second_us);
    CHECK(churn[0].last_sent_at_us == t0_us + 120 * second_us);
    const auto alert_json = to_json(churn[0]);
    CHECK(alert_json["state"] == "firing");
    CHECK(alert_json["resolved_at"].is_null());
    CHECK(list_alerts(connection, std::string("nope")).empty());
}
