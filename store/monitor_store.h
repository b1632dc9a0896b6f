// The store's side of monitoring: a model's reference sample, the windows
// the monitor closed, the rows a window holds (with their outcomes, when
// they arrived), and what detectors concluded about them. Times cross this
// interface as microseconds since the Unix epoch (UTC).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/connection_base>
#include <pqxx/transaction_base>

#include "core/finding.h"
#include "store/leases.h"

namespace mw::store {

// One stored prediction with its outcome, as the detectors read it. JSON
// columns stay JSON text: parsing is the reader's business.
struct WindowRow {
    std::string id;
    std::int64_t ts_us = 0;
    std::string model_version;
    std::string features_json;
    std::optional<std::string> prediction_label;
    std::optional<double> prediction_value;
    std::optional<double> score;
    std::string attributes_json;
    std::int64_t received_at_us = 0;
    std::optional<std::string> label;     // outcome, when it arrived
    std::optional<double> value;
    std::optional<double> label_delay_s;  // outcome received - prediction ts
};

// A position in a model's (ts, id) order.
struct RowKey {
    std::int64_t ts_us = 0;
    std::string id;
};

// The reference value of one metric as a rejected retraining job measured
// it for the served model (retrain.rebase_on_rejection,
// daemon/reference_fit.h): the base its max_drop thresholds drop from
// instead of the value on the reference's own rows.
struct ReferenceRebase {
    std::string metric;
    double value = 0;
    std::int64_t job_id = 0;  // the job whose gate measured it
};

struct StoredReference {
    std::int64_t id = 0;
    std::string source;
    std::string model_version;
    std::int64_t rows = 0;  // 0: pending (see request_reference_reset)
    std::string sample_json;
    std::int64_t created_at_us = 0;
    std::optional<RowKey> data_end;  // windows start after this row
    // The privacy policy's fingerprint its rows were accepted under
    // (collectors/privacy.h); none when recorded before fingerprints were.
    std::optional<std::string> privacy_fingerprint;
    std::optional<ReferenceRebase> rebase;  // the latest, when a rejection re-based it

    bool pending() const { return rows == 0; }
};

struct NewReference {
    std::string model;
    std::string source;  // upload, first_n, time_range, promotion
    std::string model_version;
    std::int64_t rows = 0;
    std::string sample_json;
    std::optional<std::int64_t> data_start_us;
    std::optional<RowKey> data_end;
    std::string description;
    std::string privacy_fingerprint;
    // A profile-only model's reference: the merge of its chunks
    // (stats::ProfileSet::serialize(), store/profile_store.h), stored with it.
    std::optional<std::string> profiles;
};

// The privacy fingerprint a model runs under and since when (microseconds)
// its records are received under it; `previous` the one recorded before,
// when it differed.
struct PrivacyEpoch {
    std::string fingerprint;
    std::int64_t since_us = 0;
    std::optional<std::string> previous;
};

// Records that `model` runs under `fingerprint` from now on: `since` stays
// when it is the one recorded, and is daemon_started_us otherwise (none
// recorded, or another one; never before the `since` recorded). That is the
// rule of the daemon's own first record (store/privacy_keys.h,
// claim_privacy_keys, at start or at the drain's first connection), which
// this one meets when the monitor's first pass comes first: rows received
// since the daemon started are under its policy (a reload cannot change
// it), rows received before (a database from before fingerprints were
// recorded, rows spooled by an older version or under the previous policy)
// are not, and they are never taken into a reference.
PrivacyEpoch record_privacy_fingerprint(pqxx::connection_base& connection, const std::string& model,
                                        const std::string& fingerprint, std::int64_t daemon_started_us);

struct StoredWindow {
    std::int64_t id = 0;
    std::int64_t sequence = 0;
    RowKey first;
    RowKey last;
    std::int64_t rows = 0;
    std::int64_t closed_at_us = 0;
    std::optional<std::int64_t> reference_id;
};

struct WindowMetric {
    std::string name;
    std::string segment;
    double value = 0;
    bool estimated = false;
};

std::optional<StoredReference> active_reference(pqxx::connection_base& connection, const std::string& model);
// Stores a reference and retires the model's previous one, in one transaction.
std::int64_t insert_reference(pqxx::connection_base& connection, const NewReference& reference);
// Retires the active reference and leaves a pending one: the first predictions
// of `model_version` become the next reference (after a promotion).
std::int64_t request_reference_reset(pqxx::transaction_base& transaction, const std::string& model,
                                     const std::string& model_version, const std::string& description);
// Retires the reference `reference_id` (when still active); the model then
// has none until a new one is captured or uploaded.
void retire_reference(pqxx::connection_base& connection, std::int64_t reference_id);
// Re-bases the model's active reference to `rebase` after the gate of job
// rebase.job_id rejected its challenger, in the caller's transaction: the
// figure is the champion's as the job measured it, so nothing changes when
// the reference is pending or when another job of the model was promoted or
// rolled back since this one started (the figure is then of a model no
// longer served). Returns the reference's id and the value it replaced (its
// previous re-base; none: the value fitted on its rows) when it re-based.
struct RebasedReference {
    std::int64_t reference_id = 0;
    std::optional<double> previous_value;
};
std::optional<RebasedReference> rebase_reference(pqxx::transaction_base& transaction, const std::string& model,
                                                 const ReferenceRebase& rebase);
// Fills a pending reference.
void complete_reference(pqxx::connection_base& connection, std::int64_t reference_id, const NewReference& reference);

// Which predictions a read takes by received_at: at or after `since_us`
// (the privacy policy's epoch) and before `before_us` (the writers'
// watermark, store/watermarks.h: the rows received before it are all
// stored, so what the read returns does not depend on which transactions
// happened to commit first); no bound where absent.
struct ReceivedRange {
    std::optional<std::int64_t> since_us;
    std::optional<std::int64_t> before_us;
};

// Up to `limit` predictions of `model` after `after` (from the start when
// absent), in (ts, id) order, with their outcomes; only of `model_version`
// when it is not empty, only received in `received`.
std::vector<WindowRow> read_predictions_after(pqxx::connection_base& connection, const std::string& model,
                                              const std::optional<RowKey>& after, std::size_t limit,
                                              const std::string& model_version = {},
                                              const ReceivedRange& received = {});
// How many predictions of `model` follow `after` (from the start when
// absent) in (ts, id) order, counted up to `limit`. Every stored copy of a
// record counts, so this is at least what read_predictions_after returns:
// fewer than a count window's rows here means the window is not full. It
// reads the (model, ts, id) index and the rows' visibility, not their
// columns, so it costs a fraction of reading the rows with their outcomes.
std::size_t count_predictions_after(pqxx::connection_base& connection, const std::string& model,
                                    const std::optional<RowKey>& after, std::size_t limit);
// Predictions with start_us <= ts < end_us, oldest first, at most `limit`;
// only received in `received`.
std::vector<WindowRow> read_predictions_between(pqxx::connection_base& connection, const std::string& model,
                                                std::int64_t start_us, std::int64_t end_us, std::size_t limit,
                                                const ReceivedRange& received = {});
// The predictions of a closed window (first <= (ts, id) <= last).
std::vector<WindowRow> read_window_rows(pqxx::connection_base& connection, const std::string& model,
                                        const StoredWindow& window);
// The newest prediction's (ts, id), or none.
std::optional<RowKey> latest_prediction(pqxx::connection_base& connection, const std::string& model);

std::optional<StoredWindow> last_window(pqxx::connection_base& connection, const std::string& model);
// Closed windows whose performance is not judged yet, oldest first.
std::vector<StoredWindow> windows_awaiting_performance(pqxx::connection_base& connection, const std::string& model);
// The windows closed after `after_window_id`, oldest first, at most `limit`.
std::vector<StoredWindow> windows_after(pqxx::connection_base& connection, const std::string& model,
                                        std::int64_t after_window_id, std::size_t limit);

// The detectors' state of a model after a write, against the reference they
// were fitted on (JSON: daemon/monitor_checkpoint.h).
struct MonitorCheckpoint {
    std::int64_t reference_id = 0;
    std::string state_json;
};

// What a monitor's write carries besides its verdicts: the lease it was
// decided under (checked first, store/leases.h; none: written
// unconditionally, for tools and tests) and the state to resume from.
struct MonitorWrite {
    std::optional<Fence> fence;
    std::optional<MonitorCheckpoint> checkpoint;
};

// Records a closed window with its findings, metrics and checkpoint in one
// transaction; returns the window's id. Throws LeaseLost when the fence
// does not hold (nothing is written).
std::int64_t record_window(pqxx::connection_base& connection, const std::string& model,
                           std::optional<std::int64_t> reference_id, const StoredWindow& window,
                           const std::vector<Finding>& findings, const std::vector<WindowMetric>& metrics,
                           const MonitorWrite& write = {});
// Records a window's performance verdicts (or an estimate, `final` false:
// the window is judged again when more labels arrive), like record_window.
void record_window_performance(pqxx::connection_base& connection, const std::string& model, std::int64_t window_id,
                               double label_coverage, bool final, const std::vector<Finding>& findings,
                               const std::vector<WindowMetric>& metrics, const MonitorWrite& write = {});
// The model's last checkpoint, if any.
std::optional<MonitorCheckpoint> load_checkpoint(pqxx::connection_base& connection, const std::string& model);

// Findings in a transaction the caller owns (audits, the retrain policy).
void insert_findings(pqxx::transaction_base& transaction, const std::vector<Finding>& findings,
                     std::optional<std::int64_t> window_id);

// A metric's value in the model's most recent windows, newest first
// (realised values only), for reference bands and probation.
std::vector<double> recent_metric_values(pqxx::connection_base& connection, const std::string& model,
                                         const std::string& metric, std::size_t limit);

// A realised metric over the windows judged against one reference, oldest
// first: the new model's record since its promotion.
std::vector<double> metric_values_for_reference(pqxx::connection_base& connection, const std::string& model,
                                                std::int64_t reference_id, const std::string& metric);

// One window's whole-window feature-drift verdicts (findings of kind
// feature_drift) and a metric's value in it of one kind (realised or
// estimated: a correlation over a series mixing the two would follow when
// labels arrived as much as the metric), for the root-cause ranking's second
// opinions.
struct WindowDriftVerdicts {
    std::int64_t sequence = 0;
    std::optional<double> metric;
    std::vector<Finding> drift;  // model, kind, subject, method, statistic, p_value, triggered
};
// The model's last `limit` windows up to sequence `through_sequence`, oldest first.
// `estimated`: CBPE's estimates of the metric, else its realised values (a
// window without one of that kind has no metric).
std::vector<WindowDriftVerdicts> recent_drift_verdicts(pqxx::connection_base& connection, const std::string& model,
                                                       const std::string& metric, bool estimated,
                                                       std::int64_t through_sequence, std::size_t limit);

// The condition on a row of `findings` whose root-cause ranking is pending
// ("root_cause": {"pending": true, ...}, daemon/performance_causes.h). Every
// query below that looks for pending rankings uses it, and it is the
// predicate of migration 12's partial index findings_root_cause_pending, so
// the planner can use the index for them; a migration is frozen text, so
// root_cause_store_test.cpp checks that PostgreSQL parses the two alike.
inline constexpr std::string_view pending_root_cause_condition = "evidence->'root_cause' ? 'pending'";

// A whole-window performance finding whose evidence waits for its root-cause
// ranking ("root_cause": {"pending": true}, daemon/performance_causes.h).
struct PendingRootCause {
    std::int64_t finding_id = 0;
    std::string metric;  // the finding's subject
    std::string method;  // "realised" or "cbpe"
    StoredWindow window;
    // Retention removed the window (findings.window_id is then NULL): there
    // is nothing to rank from, and the finding must still stop waiting.
    bool window_gone = false;
};
// The model's pending rankings, oldest first, at most `limit`, those whose
// window is gone included.
std::vector<PendingRootCause> pending_root_causes(pqxx::connection_base& connection, const std::string& model,
                                                  std::size_t limit);
// Puts `ranking_json` (an object) in place of the finding's pending ranking;
// false when it is no longer pending (ranked already, or gone).
bool attach_root_cause(pqxx::connection_base& connection, std::int64_t finding_id, const std::string& ranking_json);
// Puts `ranking_json` in place of every pending ranking of a model that no
// live daemon configures (none names it in the models its heartbeat records,
// store/leases.h, and none holds its lease): removed from the configuration
// by a reload, or while the daemons were stopped, no monitor will ever ask
// for those rankings. A live daemon that recorded no models (a build before
// migration 16) may configure any model: while one is live, nothing is
// answered. Nor while the model's lease ended less than
// removed_model_grace_leases leases ago and its last owner is not live (it
// stopped or was killed, and may be restarting with the model); a live last
// owner that names the model no more removed it. Returns how many were
// answered, by model.
inline constexpr std::int64_t removed_model_grace_leases = 60;
std::map<std::string, std::int64_t> answer_unconfigured_root_causes(pqxx::connection_base& connection,
                                                                    std::chrono::milliseconds lease_duration,
                                                                    const std::string& ranking_json);

// Records rejected at ingest, counted per second: the operational series'
// rejected share is taken over the seconds a window's rows were received in.
struct RejectionCount {
    std::string model;
    std::string kind;            // "prediction" or "outcome"
    std::string reason;          // quality::RejectionReason's name
    std::int64_t second_us = 0;  // the start of the second it was rejected in
    std::int64_t count = 0;
};
// Adds to the stored counts, in one transaction.
void add_rejection_counts(pqxx::connection_base& connection, const std::vector<RejectionCount>& counts);
// The records of `model` rejected in the seconds from_us..to_us (both
// included), per kind and reason; `model` and `second_us` are left empty.
std::vector<RejectionCount> rejections_between(pqxx::connection_base& connection, const std::string& model,
                                               std::int64_t from_us, std::int64_t to_us);
// Outcomes of `model` received with from_us <= received_at <= to_us.
std::int64_t outcomes_received_between(pqxx::connection_base& connection, const std::string& model,
                                       std::int64_t from_us, std::int64_t to_us);

}  // namespace mw::store
