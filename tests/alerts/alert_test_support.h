// What the alerts tests share: the fixed clock and findings written straight
// into the store (tests/support/, shared with the retraining tests), routing
// options with two receivers (one that wants re-sends, one that does not),
// the database, leases and outbox the outbox, router and dispatcher tests
// start from, and alerts fired through the outbox.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/connection>
#include <pqxx/connection_base>

#include "alerts/alert_rules.h"
#include "alerts/dispatcher.h"
#include "alerts/outbox.h"
#include "store/leases.h"
#include "store/migrations.h"
#include "tests/support/finding_rows.h"
#include "tests/support/test_clock.h"
#include "tests/support/test_database.h"

namespace mw::alerts::testing {

using mw::testing::count;
using mw::testing::FindingRow;
using mw::testing::insert_finding;
using mw::testing::second_us;
using mw::testing::t0_us;

// The daemon the tests route and deliver as.
inline constexpr const char* test_daemon = "alert-test-daemon";

// Every model the alerts tests write findings for.
inline const std::vector<std::string> test_models = {"elec2", "other", "churn"};

// The leases of `models`, taken by test_daemon for an hour (store/leases.h):
// the outbox works only for the models whose leases its caller holds.
inline store::HeldLeases hold_leases(pqxx::connection_base& connection,
                                     const std::vector<std::string>& models = test_models) {
    store::HeldLeases held{test_daemon, {}};
    for (const auto& lease : store::heartbeat(connection, test_daemon, models, std::chrono::hours(1)).owned)
        held.epochs[lease.model] = lease.epoch;
    return held;
}

// A dispatcher's pre-send check that always finds the lease still held.
inline bool always_held(const std::string&, const store::Fence&) { return true; }

// "am" behaves like Alertmanager (re-sends), "pd" like PagerDuty (told once).
inline AlertRoutingOptions two_receivers() {
    AlertRoutingOptions options;
    options.receivers = {{"am", true, 0}, {"pd", false, 0}};
    options.default_receivers = {"am", "pd"};
    options.external_url = "http://modelwatch.test/";
    return options;
}

// What the outbox, router and dispatcher tests start from: a fresh migrated
// database, the leases of `models` held by test_daemon, an outbox and
// two_receivers(). A test takes it apart with a structured binding:
//   OutboxFixture fixture({.lease_ms = 30'000});
//   auto& [db, connection, owned, outbox, options] = fixture;
struct OutboxFixture {
    explicit OutboxFixture(const OutboxOptions& outbox_options = {}, std::uint64_t seed = 1,
                           const std::vector<std::string>& models = test_models)
        : outbox(outbox_options, seed) {
        store::migrate(connection);
        owned = hold_leases(connection, models);
    }

    store::testing::TestDatabase db;
    pqxx::connection& connection = db.connection();
    store::HeldLeases owned;
    AlertOutbox outbox;
    AlertRoutingOptions options = two_receivers();
};

// `alerts` firing alerts of distinct subjects, routed at t0 (one delivery
// per receiver each).
inline void fire_alerts(pqxx::connection_base& connection, AlertOutbox& outbox, const AlertRoutingOptions& options,
                        const store::HeldLeases& owned, int alerts) {
    for (int i = 0; i < alerts; ++i)
        insert_finding(connection, {.kind = "data_quality", .subject = "f" + std::to_string(i)});
    REQUIRE(outbox.route_new_findings(connection, options, owned, t0_us) == static_cast<std::size_t>(alerts));
}

}  // namespace mw::alerts::testing
