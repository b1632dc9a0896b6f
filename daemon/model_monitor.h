// What the daemon does for one model, one pass at a time: make sure a
// reference exists (collect it, or refit the stored one), close every window
// that can close and run the detectors on it (feature, prediction and
// multivariate drift, data quality, CBPE estimates, operational anomalies), and judge the performance of
// closed windows once their labels arrived (realised metrics, concept drift
// on the error stream). Everything it concludes goes to PostgreSQL as
// findings and window metrics in one transaction per window, and to the
// metrics; the alert router and the retrain policy read the findings from
// there. A pass that fails (PostgreSQL gone) is simply repeated: the store's
// windows are the cursor, so nothing is evaluated twice or skipped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/connection_base>

#include "config/config.h"
#include "daemon/metrics.h"
#include "daemon/periodic_worker.h"
#include "detectors/anomaly_detector.h"
#include "detectors/concept_detector.h"
#include "detectors/dataset_drift.h"
#include "detectors/performance_metrics.h"
#include "detectors/performance_thresholds.h"
#include "store/monitor_store.h"

namespace mw::daemon {

class ModelMonitor {
public:
    ModelMonitor(config::ModelOptions options, DaemonMetrics& metrics);
    ~ModelMonitor();
    ModelMonitor(const ModelMonitor&) = delete;
    ModelMonitor& operator=(const ModelMonitor&) = delete;

    // A new configuration for the same model: refits on the next pass.
    void reconfigure(config::ModelOptions options);
    // One pass; throws pqxx errors when the store fails (the caller reconnects).
    // Calls control.checkpoint() between windows and between the stages of
    // one window, always before its transaction, so an interrupted pass
    // leaves nothing half-written.
    void step(pqxx::connection_base& connection, std::int64_t now_us, PassControl& control);

    const std::string& model() const { return options_.schema.name; }
    const config::ModelOptions& options() const { return options_; }

private:
    struct Fitted;

    bool ensure_reference(pqxx::connection_base& connection, std::int64_t now_us, PassControl& control);
    void fit(const store::StoredReference& reference);
    // The next window's rows, or none when it cannot close yet.
    std::optional<std::vector<store::WindowRow>> next_window_rows(pqxx::connection_base& connection,
                                                                  const std::optional<store::StoredWindow>& previous,
                                                                  std::int64_t now_us);
    // What the detectors concluded about one window, stored in one transaction.
    struct Verdicts {
        std::vector<Finding> findings;
        std::vector<store::WindowMetric> metrics;
    };
    struct WindowSpan {
        std::int64_t start_us = 0;  // the first and last prediction's ts
        std::int64_t end_us = 0;
    };
    void evaluate_window(pqxx::connection_base& connection, std::vector<store::WindowRow> rows,
                         const std::optional<store::StoredWindow>& previous, PassControl& control);
    // Feature, segment, multivariate and prediction drift.
    drift::DriftVerdict detect_drift(const drift::DriftTable& table, const WindowSpan& span, Verdicts& verdicts);
    void check_quality(const std::vector<store::WindowRow>& rows, const std::vector<nlohmann::json>& feature_objects,
                       const WindowSpan& span, Verdicts& verdicts);
    // CBPE, for binary models whose reference had scores and labels.
    void estimate_performance(const std::vector<store::WindowRow>& rows, const WindowSpan& span, Verdicts& verdicts);
    // The operational series, one point per window: rows per minute,
    // rejected share (and rejections per reason), outcomes per minute and
    // label rate, ingest latency, score mean and spread, missing rate.
    void measure_operations(pqxx::connection_base& connection, const std::vector<store::WindowRow>& rows,
                            const drift::DriftTable& table, Verdicts& verdicts);
    void score_anomalies(const WindowSpan& span, Verdicts& verdicts);
    void judge_performance(pqxx::connection_base& connection, std::int64_t now_us, PassControl& control);
    // Realised performance of a closed window from its labelled rows, the
    // thresholds' verdicts, and the concept detector fed with its errors.
    Verdicts judge_window_performance(const std::vector<store::WindowRow>& rows, const store::StoredWindow& window,
                                      double coverage);
    void count_findings(const std::vector<Finding>& findings);
    performance::PerformanceSpec performance_spec(const std::string& segment) const;
    void fit_performance_reference(const drift::DriftTable& sample);
    std::vector<performance::MetricThreshold> metric_thresholds() const;

    config::ModelOptions options_;
    DaemonMetrics& metrics_;
    std::unique_ptr<Fitted> fitted_;
    std::unique_ptr<concept_drift::ConceptDetector> concept_;
    std::map<std::string, std::unique_ptr<anomaly::AnomalyDetector>> anomaly_;
    std::string waiting_for_;  // what the last pass waited for, logged once
};

// Stores an uploaded reference (CSV or NDJSON parsed by the API) and makes it
// the model's active one; the model's monitor refits from it at its next
// pass. Returns its id.
std::int64_t store_uploaded_reference(pqxx::connection_base& connection, const std::string& model,
                                      const drift::DriftTable& table, const std::string& description);

}  // namespace mw::daemon
