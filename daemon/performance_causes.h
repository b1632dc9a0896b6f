// Why a window's performance dropped: each triggered whole-window
// `performance` finding (realised, or estimated by CBPE) gets the root-cause
// ranking of detectors/root_cause.h in its evidence under "root_cause",
// computed from the window's rows (its labelled rows, for a realised metric)
// and the reference's labelled rows, with the window's drift verdicts and the
// recent windows' as second opinions. The alert router turns its "causes"
// into the alert's `causes` annotation (alerts/alert_rules.h).
//
// The ranking runs off the monitor pass, which only marks the finding
// ("root_cause": {"pending": true, ...}) and, once the window is stored,
// asks the root-cause worker (daemon/monitoring.h, its own thread and
// connection) to rank the model's pending findings. A ranking may take its
// whole time budget (2 s per finding); on the monitor's thread that delayed
// every other model's windows. The pending mark is in PostgreSQL, so a
// ranking asked for and not done (a restart, a lease that moved) is found
// again: the model's monitor asks once more when it resumes. The alert
// router holds a pending finding back for at most
// alerts::root_cause_wait_ms (alerts/outbox.h) so that its alert carries
// the causes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "config/config.h"
#include "core/finding.h"
#include "daemon/periodic_worker.h"
#include "daemon/reference_fit.h"
#include "detectors/root_cause.h"

namespace mw::daemon {

// Recent windows read for the correlation and alert-count rankings.
inline constexpr std::size_t root_cause_history_windows = 20;
// Findings the worker ranks for one model before it turns to the next.
inline constexpr std::size_t root_cause_findings_per_turn = 4;
// Turns of a model in a row that may fail on a store error with the
// connection still open (a statement that failed: a timeout, a lock, a
// full disk) before its request is dropped; each failed turn is retried at
// the worker's next pass. Bounded, so that a statement that fails for good
// is not retried for ever; a dropped request's findings stay pending in
// PostgreSQL, asked for again at the model's next drop or lease move.
inline constexpr int root_cause_store_attempts = 5;

// What a ranking reads besides the window, fixed for one fitted reference
// and configuration: a copy, shared read-only with the root-cause worker
// (the monitor keeps using and changing its own ReferenceFit).
struct RankingBasis {
    std::int64_t reference_id = 0;
    config::ModelOptions options;
    ModelSchema judged;
    std::optional<rootcause::RankingRows> reference;  // the reference's labelled rows
    std::optional<performance::CbpeReference> cbpe;
    // The ranking's clock for its time budget (rootcause::RankingOptions::clock); tests inject it.
    std::function<std::chrono::steady_clock::time_point()> clock;
};
std::shared_ptr<const RankingBasis> ranking_basis(const ReferenceFit& fitted, const config::ModelOptions& options);

// Marks the triggered whole-window performance findings among `findings` as
// waiting for their ranking (or, when the reference cannot rank them, says
// why in their evidence). True when any is waiting.
bool mark_performance_drops(const ReferenceFit& fitted, std::vector<Finding>& findings);

// The models whose pending rankings the worker should compute, each with
// the basis to rank them on (the newest request of a model wins). Bounded
// by the number of models: a request is a model's name, not a finding, and
// its pending findings wait in PostgreSQL, however many there are.
class RankingRequests {
public:
    // `notify` is called after each request (the worker's wake-up); set it
    // before any request can be made.
    void on_request(std::function<void()> notify);
    void request(const std::string& model, std::shared_ptr<const RankingBasis> basis);
    // Every request so far, and none left.
    std::map<std::string, std::shared_ptr<const RankingBasis>> take();
    // Only a model's own requests are taken back when its turn was cut short.
    void give_back(const std::string& model, std::shared_ptr<const RankingBasis> basis);
    // A model's turn failed on the store with the connection still open:
    // its request is handed back (a newer one wins, as above) unless this is
    // its root_cause_store_attempts-th such turn in a row, when it is
    // dropped. Returns the failed turns in a row, this one included. A new
    // request of the model, or a turn that succeeds, starts the count again.
    int give_back_failed(const std::string& model, std::shared_ptr<const RankingBasis> basis);
    void turn_succeeded(const std::string& model);

private:
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<const RankingBasis>> requests_;
    std::map<std::string, int> failed_turns_;  // by model: bounded as requests_ is
    std::function<void()> notify_;
};

struct RankingTurn {
    std::size_t ranked = 0;
    bool more = false;  // pending findings beyond the turn's limit remain
};

// Ranks up to `limit` of the model's pending findings, oldest first, and
// attaches each ranking to its finding; a finding whose window was judged
// against another reference than `basis` (its monitor refitted meanwhile),
// or whose ranking failed on its data, gets an error instead. A failure of
// the store is thrown and leaves the finding pending. Calls
// control.checkpoint() between findings.
RankingTurn rank_pending_drops(pqxx::connection_base& connection, const RankingBasis& basis, PassControl& control,
                               std::size_t limit = root_cause_findings_per_turn);

// One pass of the root-cause worker (daemon/monitoring.cpp): a turn of
// rank_pending_drops for each model asked for whose lease `owned` says this
// daemon holds (a new owner's monitor asks again when it resumes). A model
// with pending findings past its turn is handed back, and so is one whose
// turn failed on the store: for the worker's next connection when the
// connection is gone (PostgreSQL stopping can say so with an SQL error,
// 57P01, not only broken_connection), rethrown; within
// root_cause_store_attempts when a statement failed, logged. A pass cut
// short (stopping) hands back every request it did not serve. True when a
// model has more to rank at once.
bool rank_requested_drops(pqxx::connection_base& connection, RankingRequests& requests, PassControl& control,
                          const std::function<bool(const std::string&)>& owned);

}  // namespace mw::daemon
