// The dispatcher against a real PostgreSQL with sinks defined here: it
// delivers what is due, records failures for the outbox's backoff, gives up
// on refusals, survives a throwing sink, and respects rate limits.
#include <array>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "alerts/dispatcher.h"
#include "tests/alerts/alert_test_support.h"

using namespace mw;
using namespace mw::alerts;
using namespace mw::alerts::testing;

namespace {

// Records what it is given and answers with `result` (or throws).
class ScriptedSink : public AlertSink {
public:
    explicit ScriptedSink(std::string name) : name_(std::move(name)) { result.delivered = true; }
    const std::string& name() const override { return name_; }
    DeliveryResult deliver(const Alert& alert) override {
        received.push_back(alert);
        if (throws) throw std::runtime_error("socket exploded");
        return result;
    }

    DeliveryResult result;
    bool throws = false;
    std::vector<Alert> received;

private:
    std::string name_;
};

// The sinks of two_receivers() and a dispatcher to them from the fixture's
// outbox, rate-limited as the fixture's options say when it is made.
struct TwoSinksDispatch {
    explicit TwoSinksDispatch(OutboxFixture& fixture) : dispatcher(fixture.outbox, fixture.options.receivers) {}
    TwoSinksDispatch(const TwoSinksDispatch&) = delete;  // `sinks` points at its own members
    TwoSinksDispatch& operator=(const TwoSinksDispatch&) = delete;

    ScriptedSink am{"am"};
    ScriptedSink pd{"pd"};
    std::array<AlertSink*, 2> sinks{&am, &pd};
    Dispatcher dispatcher;
};

std::int64_t undelivered(pqxx::connection_base& connection, const std::string& receiver) {
    return count(connection, "SELECT count(*) FROM alert_deliveries WHERE delivered_at IS NULL AND "
                             "abandoned_at IS NULL AND receiver = '" + receiver + "'");
}

}  // namespace

TEST_CASE("Dispatcher: delivers due alerts to their sinks and records it", "[alerts][dispatcher][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;
    fire_alerts(connection, outbox, options, owned, 3);

    TwoSinksDispatch dispatch(fixture);
    auto& [am, pd, sinks, dispatcher] = dispatch;
    const auto counts = dispatcher.run_once(connection, sinks, owned, always_held, t0_us);
    CHECK(counts.delivered == 6);
    CHECK(counts.failed == 0);
    REQUIRE(am.received.size() == 3);
    CHECK(am.received[0].labels.at("subject") == "f0");
    CHECK(am.received[2].labels.at("subject") == "f2");
    CHECK(am.received[0].state == AlertState::firing);
    CHECK(pd.received.size() == 3);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE delivered_at IS NOT NULL") == 6);
    // Nothing left to deliver.
    CHECK(dispatcher.run_once(connection, sinks, owned, always_held, t0_us + second_us).delivered == 0);
    CHECK(am.received.size() == 3);
}

TEST_CASE("Dispatcher: failures are retried after backoff, refusals abandoned, a throwing sink is a failure",
          "[alerts][dispatcher][pg]") {
    OutboxFixture fixture({.backoff_base_ms = 1'000, .backoff_cap_ms = 1'000});
    auto& [db, connection, owned, outbox, options] = fixture;
    fire_alerts(connection, outbox, options, owned, 2);

    TwoSinksDispatch dispatch(fixture);
    auto& [am, pd, sinks, dispatcher] = dispatch;
    am.result = {false, true, "503 Service Unavailable", std::chrono::seconds(30)};
    pd.result = {false, false, "400 invalid routing key", {}};

    auto counts = dispatcher.run_once(connection, sinks, owned, always_held, t0_us);
    CHECK(counts.delivered == 0);
    CHECK(counts.failed == 2);
    CHECK(counts.abandoned == 2);
    CHECK(undelivered(connection, "am") == 2);
    CHECK(undelivered(connection, "pd") == 0);
    CHECK(count(connection, "SELECT count(*) FROM decisions WHERE kind = 'alert_delivery_abandoned'") == 2);

    // Retry-After 30 s: nothing before, both after.
    CHECK(dispatcher.run_once(connection, sinks, owned, always_held, t0_us + 29 * second_us).failed == 0);
    CHECK(am.received.size() == 2);
    am.throws = true;
    counts = dispatcher.run_once(connection, sinks, owned, always_held, t0_us + 30 * second_us);
    CHECK(counts.failed == 2);
    CHECK(am.received.size() == 4);
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE last_error = "
                            "'sink threw: socket exploded'") == 2);

    am.throws = false;
    am.result = DeliveryResult{true, true, "", {}};
    CHECK(dispatcher.run_once(connection, sinks, owned, always_held, t0_us + 40 * second_us).delivered == 2);
    CHECK(undelivered(connection, "am") == 0);
}

TEST_CASE("Dispatcher: a receiver gets at most max_per_minute, refilled over time", "[alerts][dispatcher][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;
    options.receivers = {{"am", true, 3}, {"pd", false, 0}};
    fire_alerts(connection, outbox, options, owned, 10);

    TwoSinksDispatch dispatch(fixture);
    auto& [am, pd, sinks, dispatcher] = dispatch;

    // A full bucket: three at once for "am"; "pd" is not limited.
    CHECK(dispatcher.run_once(connection, sinks, owned, always_held, t0_us).delivered == 3 + 10);
    CHECK(am.received.size() == 3);
    CHECK(dispatcher.run_once(connection, sinks, owned, always_held, t0_us + 19 * second_us).delivered == 0);
    // 3 per minute refills one token every 20 s.
    CHECK(dispatcher.run_once(connection, sinks, owned, always_held, t0_us + 20 * second_us).delivered == 1);
    // An hour later the bucket is full again, not fuller.
    CHECK(dispatcher.run_once(connection, sinks, owned, always_held, t0_us + 3600 * second_us).delivered == 3);
    CHECK(am.received.size() == 7);
    CHECK(undelivered(connection, "am") == 3);
}

TEST_CASE("Dispatcher: a claim whose lease is lost before the send is given back unsent",
          "[alerts][dispatcher][pg]") {
    OutboxFixture fixture;
    auto& [db, connection, owned, outbox, options] = fixture;
    fire_alerts(connection, outbox, options, owned, 2);

    TwoSinksDispatch dispatch(fixture);
    auto& [am, pd, sinks, dispatcher] = dispatch;
    // The daemon's own clock says the lease ran out between claim and send
    // (a pause, or heartbeats that failed).
    const auto lost = [](const std::string&, const store::Fence&) { return false; };
    const auto counts = dispatcher.run_once(connection, sinks, owned, lost, t0_us);
    CHECK(counts.withheld == 4);
    CHECK(counts.delivered == 0);
    CHECK(am.received.empty());
    CHECK(pd.received.empty());
    CHECK(count(connection, "SELECT count(*) FROM alert_deliveries WHERE claimed_by IS NULL "
                            "AND delivered_at IS NULL AND abandoned_at IS NULL") == 4);

    // Whoever holds the lease next sends each once.
    CHECK(dispatcher.run_once(connection, sinks, owned, always_held, t0_us + second_us).delivered == 4);
    CHECK(am.received.size() == 2);
    CHECK(pd.received.size() == 2);
}
