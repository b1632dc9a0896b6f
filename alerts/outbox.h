// The durable alert outbox (PostgreSQL): findings become alert state changes
// and deliveries in the same transaction that marks them routed, so a crash
// loses nothing and routes nothing twice; deliveries are claimed by workers
// with FOR UPDATE SKIP LOCKED and a short lease, retried with backoff.
//
// Alerts are their model's owner's work (store/leases.h, docs/scaling.md):
// every write here is for the models whose leases the caller holds
// (store::HeldLeases), under each lease's fence. Routing and re-sends check
// the model's lease in their transaction (store::check_fence), alert states
// and deliveries record it, and a delivery is claimed only while its
// model's lease is held, in the claim's transaction. A claim is sent under
// that lease only: a delivery claimed under a lease that has since ended
// (its claimer killed or paused mid-delivery) is never sent again by
// another lease; it is given up as in doubt (it may have reached the
// receiver), with a decision row. So each state change goes to a receiver
// at most once across failovers, and once unless its sender died between
// the claim and the outcome.
//
// Tables (store/migrations.cpp, migrations 2 and 8): findings (alert_routed),
// alerts, alert_deliveries, silences, decisions. All times are microseconds
// since the Unix epoch, passed in by the caller so that tests control the
// clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <pqxx/connection_base>

#include "alerts/alert_rules.h"
#include "alerts/alert_sink.h"
#include "store/leases.h"

namespace mw::alerts {

// The outbox's own options (routing is AlertRoutingOptions).
struct OutboxOptions {
    // Full-jitter exponential backoff after a failed delivery: the n-th
    // failure (n = 1, 2, ...) waits a uniform random time in
    // [0, min(backoff_cap_ms, backoff_base_ms * 2^(n-1))].
    std::int64_t backoff_base_ms = 1'000;
    std::int64_t backoff_cap_ms = 300'000;
    // A claimed delivery is hidden from other workers this long while its
    // sink runs; if the worker's outcome never comes (its connection to
    // PostgreSQL broke after the send), the same lease may claim it again
    // after this. Must exceed the sinks' own timeouts.
    std::int64_t lease_ms = 60'000;
    // Findings routed per model and call, which bounds a routing transaction.
    int findings_per_call = 1'000;
    // How long a finding whose root-cause ranking is pending
    // (daemon/performance_causes.h) is held back, with the model's later
    // findings, so that its alert's first notification carries the causes:
    // the ranking's time budget (2 s a finding) for a window's few drop
    // findings and the worker's next pass, with room for a loaded host.
    // Past it the finding is routed with "the causes are being ranked", and
    // the alert's re-sends carry the causes once ranked (enqueue reads them).
    std::int64_t root_cause_wait_ms = 15'000;
    // The wait is measured twice, and the shorter wins: from the finding's
    // created_at by the database's clock (so a restart does not start it
    // over) and from the first time this outbox held it, by this clock. A
    // wall clock stepped back (NTP, a VM resumed) leaves created_at in the
    // future, and the database's measure alone would hold the model's every
    // alert until the clock caught up. Tests inject it.
    std::function<std::chrono::steady_clock::time_point()> steady_clock = [] {
        return std::chrono::steady_clock::now();
    };
};

// A delivery handed to a worker by claim_due.
struct ClaimedDelivery {
    std::int64_t id = 0;
    std::string receiver;
    std::string model;
    store::Fence claimed_under;  // the model's lease when it was claimed
    int attempts = 0;     // failed attempts before this one
    bool resend = false;  // a time-driven re-send rather than a state change
    Alert alert;
};

// What mark_failed did.
struct FailureOutcome {
    bool found = false;      // false: the delivery was already delivered or abandoned, or does not exist
    bool abandoned = false;  // non-retryable: given up for good
    int attempts = 0;        // failed attempts so far
    std::int64_t next_attempt_at_us = 0;  // when it is due again (when not abandoned)
};

// The upper bound of the backoff after `previous_failures` earlier failures
// (0 for the first failure): min(cap, base * 2^previous_failures), in ms.
std::int64_t backoff_bound_ms(int previous_failures, const OutboxOptions& options);

// Not thread-safe (the jitter generator is its state): one per thread.
// Any number of outboxes, in one process or many, may share the tables.
class AlertOutbox {
public:
    // `seed` seeds the backoff jitter, so that tests are reproducible.
    AlertOutbox(OutboxOptions options, std::uint64_t seed);

    // For each model of `leases` with findings not yet routed, in one
    // transaction per model that first checks the model's lease
    // (store::check_fence): reads them in id order, applies the rules to
    // each one's alert, enqueues one delivery per receiver for each state
    // change (unless silenced: then the alert still changes state, nothing
    // is enqueued, and a `decisions` row says which silence), and marks them
    // routed. Returns the number of findings routed; a model whose lease is
    // gone is left to its new owner (take_fenced). A silence mutes firing
    // notifications; a resolution goes out only when receivers were told the
    // alert fired (whether or not a silence is active now), so no incident
    // stays open on their side and none is closed that they never saw.
    // A model's findings wait, in order, behind one whose root-cause ranking
    // is pending, for at most root_cause_wait_ms (OutboxOptions says by which clocks).
    std::size_t route_new_findings(pqxx::connection_base& connection, const AlertRoutingOptions& routing,
                                   const store::HeldLeases& leases, std::int64_t now_us);

    // For firing, unsilenced alerts of the models of `leases` last sent
    // resend_interval or longer ago, under each model's fence: enqueues a
    // re-send to the receivers that want re-sends; an alert whose current
    // episode receivers were never told about (it fired while silenced, and
    // the silence has ended) is instead sent to all its receivers as a state
    // change. Returns the number of deliveries enqueued.
    std::size_t enqueue_resends(pqxx::connection_base& connection, const AlertRoutingOptions& routing,
                                const store::HeldLeases& leases, std::int64_t now_us);

    // Claims up to `limit` due deliveries of `receiver` for the models whose
    // leases the caller holds, oldest first, and leases them (next_attempt_at
    // = now + lease_ms, claimed_by and claim_epoch = the model's lease) in a
    // transaction of its own that holds those model leases FOR SHARE, so no
    // takeover commits between the check and the claim; committed before
    // returning: concurrent workers never get the same delivery. First, in
    // the same transaction, gives up as in doubt the deliveries of those
    // models still claimed under an earlier lease (their claimer lost the
    // lease before recording an outcome: it may have sent them). Deliveries
    // of one alert to one receiver go out in id order (a delivery waits
    // while an earlier one of the same alert is pending), so a firing is
    // never delivered after a later resolved; a due re-send superseded by a
    // later delivery of the same alert is abandoned instead.
    std::vector<ClaimedDelivery> claim_due(pqxx::connection_base& connection, const std::string& receiver,
                                           const store::HeldLeases& leases, int limit, std::int64_t now_us);

    // A claim given back unsent (its lease was lost before the send): due
    // now for the model's next owner. False when it is no longer this
    // claim's (delivered, abandoned, or claimed again).
    bool release_claim(pqxx::connection_base& connection, const ClaimedDelivery& delivery, std::int64_t now_us);

    // The lease refusals (store::LeaseLost messages, one per model) since the last call.
    std::vector<std::string> take_fenced();

    // Records a delivery as delivered; false when it already was (a lease
    // expired and another worker delivered it too) or does not exist.
    bool mark_delivered(pqxx::connection_base& connection, std::int64_t delivery_id, std::int64_t now_us);

    // Records a failed attempt. Retryable: due again after the full-jitter
    // backoff, or after retry_after when the receiver asked for longer, for
    // whichever lease holds the model then (the claim ends: the sender
    // knows the outcome).
    // Not retryable: abandoned with the error, and a `decisions` row.
    FailureOutcome mark_failed(pqxx::connection_base& connection, std::int64_t delivery_id, const std::string& error,
                               bool retryable, std::chrono::milliseconds retry_after, std::int64_t now_us);

private:
    OutboxOptions options_;
    std::mt19937_64 random_;
    std::vector<std::string> fenced_;
    // Per model, the finding holding its findings back and when this outbox
    // first held it (options_.steady_clock): one entry per held model.
    std::map<std::string, std::pair<std::int64_t, std::chrono::steady_clock::time_point>> held_since_;
};

// A silence: alerts matching it (an unset field matches anything) are not
// delivered while starts_at <= now < ends_at.
struct Silence {
    std::int64_t id = 0;  // assigned by add_silence
    std::optional<std::string> model;
    std::optional<std::string> kind;
    std::optional<std::string> subject;
    std::int64_t starts_at_us = 0;
    std::int64_t ends_at_us = 0;
    std::string created_by;
    std::string comment;
};

// add_silence's result: the new id, or what was wrong with the request.
struct SilenceResult {
    std::optional<std::int64_t> id;
    std::string error;
};

SilenceResult add_silence(pqxx::connection_base& connection, const Silence& silence);
// Ends a silence now; false when there is none with that id still in force or pending.
bool expire_silence(pqxx::connection_base& connection, std::int64_t silence_id, std::int64_t now_us);
// Silences in force or pending at now (and, with include_expired, ended ones too), by id.
std::vector<Silence> list_silences(pqxx::connection_base& connection, std::int64_t now_us, bool include_expired);
// Alerts, of one model or of all, firing first, then the most recently updated.
std::vector<AlertRecord> list_alerts(pqxx::connection_base& connection, const std::optional<std::string>& model);

nlohmann::json to_json(const Silence& silence);

}  // namespace mw::alerts
