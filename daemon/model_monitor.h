// What the daemon does for one model, one pass at a time: make sure a
// reference exists (collect it, daemon/reference_capture.h, or refit the
// stored one, daemon/reference_fit.h), close every window that can close
// (daemon/window_selection.h) and run the detectors on it
// (daemon/window_detectors.h, daemon/operational_series.h), and judge the
// performance of closed windows once their labels arrived
// (daemon/performance_judgement.h). Everything it concludes goes to
// PostgreSQL as findings and window metrics in one transaction per window,
// and to the metrics; the alert router and the retrain policy read the
// findings from there. A pass that fails (PostgreSQL gone) is simply
// repeated: the store's windows are the cursor, so nothing is evaluated twice
// or skipped.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "config/config.h"
#include "daemon/metrics.h"
#include "daemon/operational_series.h"
#include "daemon/periodic_worker.h"
#include "detectors/concept_detector.h"
#include "store/monitor_store.h"

namespace mw::daemon {

struct ReferenceFit;
struct RankingBasis;
class RankingRequests;

class ModelMonitor {
public:
    // `rankings`: where the monitor asks for its performance drops' root
    // causes once their window is stored (daemon/performance_causes.h).
    // `daemon_started_us`: since when the model's records are under this
    // daemon's privacy policy, when the monitor records it first
    // (store::record_privacy_fingerprint).
    ModelMonitor(config::ModelOptions options, DaemonMetrics& metrics, RankingRequests& rankings,
                 std::int64_t daemon_started_us);
    ~ModelMonitor();
    ModelMonitor(const ModelMonitor&) = delete;
    ModelMonitor& operator=(const ModelMonitor&) = delete;

    // A new configuration for the same model: refits on the next pass.
    void reconfigure(config::ModelOptions options);
    // One pass under the model's lease `fence` (store/leases.h); throws pqxx
    // errors when the store fails (the caller reconnects) and
    // store::LeaseLost when the lease went while the pass decided.
    // Calls control.checkpoint() between windows and between the stages of
    // one window, always before its transaction, so an interrupted pass
    // leaves nothing half-written. The first pass under a lease, and the
    // first after a pass that failed, resume the detectors from the model's
    // stored checkpoint (daemon/monitor_checkpoint.h): what is in memory
    // may be behind the store (another daemon owned the model) or ahead of
    // it (a write that did not commit). `stored_before_us`: the writers'
    // watermark (store/watermarks.h); the reference and the windows are
    // taken only from rows received before it (none: every row is stored,
    // as for tools and tests that write rows themselves).
    void step(pqxx::connection_base& connection, std::int64_t now_us, std::optional<std::int64_t> stored_before_us,
              PassControl& control, const store::Fence& fence);
    // The lease is gone: the state in memory is no longer the model's.
    void disown();

    const std::string& model() const { return options_.schema.name; }
    const config::ModelOptions& options() const { return options_; }

private:
    bool ensure_reference(pqxx::connection_base& connection, std::int64_t now_us,
                          std::optional<std::int64_t> stored_before_us, PassControl& control);
    void fit(pqxx::connection_base& connection, const store::StoredReference& reference);
    void evaluate_window(pqxx::connection_base& connection, std::vector<store::WindowRow> rows,
                         const std::optional<store::StoredWindow>& previous, PassControl& control);
    void judge_performance(pqxx::connection_base& connection, std::int64_t now_us, PassControl& control);
    void count_findings(const std::vector<Finding>& findings);
    // The configured concept-drift detector as a new reference starts it (null: none).
    std::unique_ptr<concept_drift::ConceptDetector> fresh_concept_detector() const;
    // The detectors from the model's checkpoint (the concept detector only
    // when saved against the fitted reference); fresh without one.
    void resume(pqxx::connection_base& connection);
    // What every write of this monitor carries: the lease and the state now.
    store::MonitorWrite write_under_lease() const;

    config::ModelOptions options_;
    // What the detectors reading stored rows see: options_ but, for a
    // profile-only model, without the features its rows do not hold.
    config::ModelOptions rows_options_;
    DaemonMetrics& metrics_;
    RankingRequests& rankings_;
    std::int64_t daemon_started_us_;
    std::unique_ptr<ReferenceFit> fitted_;
    // What the root-cause worker ranks on, made once per fit.
    std::shared_ptr<const RankingBasis> ranking_basis_;
    std::unique_ptr<concept_drift::ConceptDetector> concept_;
    AnomalyDetectors anomaly_;
    std::string waiting_for_;  // what the last pass waited for, logged once
    // The privacy policy's fingerprint as recorded at this monitor's first
    // pass: references under another one are not used.
    std::optional<store::PrivacyEpoch> privacy_;
    std::optional<store::Fence> fence_;  // the lease of the current pass
    bool resume_needed_ = true;
};

}  // namespace mw::daemon
