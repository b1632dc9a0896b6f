// The operational series of a model, one point per window: rows per minute,
// rejected share (and rejections per reason), outcomes per minute and label
// rate, ingest latency, score mean and spread, missing rate; and the anomaly
// detector that scores each series' new point.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "config/config.h"
#include "daemon/metrics.h"
#include "daemon/window_verdicts.h"
#include "detectors/anomaly_detector.h"
#include "detectors/dataset_drift.h"
#include "store/monitor_store.h"

namespace mw::daemon {

// Adds the window's operational metrics to verdicts.metrics; reads the
// rejections and outcomes received while its rows were.
void measure_operations(pqxx::connection_base& connection, const config::ModelOptions& options,
                        const std::vector<store::WindowRow>& rows, const drift::DriftTable& table,
                        WindowVerdicts& verdicts);

// One anomaly detector per series, by metric name, made on its first point.
using AnomalyDetectors = std::map<std::string, std::unique_ptr<anomaly::AnomalyDetector>>;

// Scores every operational metric in verdicts.metrics with its series'
// detector (options.anomaly.detector) and adds an "anomaly" finding each.
void score_anomalies(AnomalyDetectors& detectors, const config::ModelOptions& options, const WindowSpan& span,
                     DaemonMetrics& metrics, WindowVerdicts& verdicts);

}  // namespace mw::daemon
