#include "daemon/metrics.h"

namespace mw::daemon {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

DaemonMetrics::DaemonMetrics(prometheus::Registry& registry)
    : records_accepted(BuildCounter()
                           .Name("modelwatch_records_accepted_total")
                           .Help("Records made durable, by model and kind (prediction, outcome).")
                           .Register(registry)),
      records_rejected(BuildCounter()
                           .Name("modelwatch_records_rejected_total")
                           .Help("Records refused at ingest, by model, kind and reason code (detectors/rejection_reasons.h).")
                           .Register(registry)),
      id_conflicts(BuildCounter()
                       .Name("modelwatch_ingest_id_conflicts_total")
                       .Help("Records refused at ingest because their id was acknowledged before with another "
                             "payload (the first is kept), by model and kind.")
                       .Register(registry)),
      requests(BuildCounter()
                   .Name("modelwatch_http_requests_total")
                   .Help("HTTP requests answered, by route and status code.")
                   .Register(registry)),
      request_duration(BuildHistogram()
                           .Name("modelwatch_http_request_duration_seconds")
                           .Help("Time from a request's body being read to its answer, by route.")
                           .Register(registry)),
      spool_bytes(BuildGauge()
                      .Name("modelwatch_spool_bytes")
                      .Help("Bytes of spool segment files on disk (counted against the budget; drained segments are deleted whole).")
                      .Register(registry)
                      .Add({})),
      spool_limit_bytes(BuildGauge()
                            .Name("modelwatch_spool_limit_bytes")
                            .Help("The spool's disk budget; ingest answers 503 past it.")
                            .Register(registry)
                            .Add({})),
      spool_segments(BuildGauge()
                         .Name("modelwatch_spool_segments")
                         .Help("Segment files in the spool.")
                         .Register(registry)
                         .Add({})),
      spool_fsyncs(BuildCounter()
                       .Name("modelwatch_spool_fsyncs_total")
                       .Help("fdatasync calls of the spool (each commits a group of batches).")
                       .Register(registry)
                       .Add({})),
      store_up(BuildGauge()
                   .Name("modelwatch_store_up")
                   .Help("1 when PostgreSQL is reachable and migrated, else 0.")
                   .Register(registry)
                   .Add({})),
      store_lag_seconds(BuildGauge()
                            .Name("modelwatch_store_lag_seconds")
                            .Help("Age of the oldest acknowledged record not yet in PostgreSQL (0 when none).")
                            .Register(registry)
                            .Add({})),
      store_rows_written_predictions(BuildCounter()
                                         .Name("modelwatch_store_rows_written_total")
                                         .Help("Rows inserted into PostgreSQL, by kind.")
                                         .Register(registry)
                                         .Add({{"kind", "prediction"}})),
      store_rows_written_outcomes(BuildCounter()
                                      .Name("modelwatch_store_rows_written_total")
                                      .Help("Rows inserted into PostgreSQL, by kind.")
                                      .Register(registry)
                                      .Add({{"kind", "outcome"}})),
      store_duplicates_ignored(BuildCounter()
                                   .Name("modelwatch_store_duplicates_ignored_total")
                                   .Help("Rows not inserted because their (model, id) was already stored.")
                                   .Register(registry)
                                   .Add({})),
      store_batches_quarantined(BuildCounter()
                                    .Name("modelwatch_store_batches_quarantined_total")
                                    .Help("Spooled batches PostgreSQL refused for their content, kept in "
                                          "quarantine files.")
                                    .Register(registry)
                                    .Add({})),
      store_write_errors(BuildCounter()
                             .Name("modelwatch_store_write_errors_total")
                             .Help("Failed connection or write attempts to PostgreSQL.")
                             .Register(registry)
                             .Add({})),
      config_reloads_ok(BuildCounter()
                            .Name("modelwatch_config_reloads_total")
                            .Help("Configuration reloads (SIGHUP), by result.")
                            .Register(registry)
                            .Add({{"result", "success"}})),
      config_reloads_failed(BuildCounter()
                                .Name("modelwatch_config_reloads_total")
                                .Help("Configuration reloads (SIGHUP), by result.")
                                .Register(registry)
                                .Add({{"result", "failure"}})),
      open_connections(BuildGauge()
                           .Name("modelwatch_http_open_connections")
                           .Help("Open HTTP connections.")
                           .Register(registry)
                           .Add({})),
      http_connections_refused(BuildCounter()
                                   .Name("modelwatch_http_connections_refused_total")
                                   .Help("HTTP connections answered and closed as soon as accepted, by reason "
                                         "(enum Refused in daemon/http_server.cpp).")
                                   .Register(registry)),
      http_connections_closed(BuildCounter()
                                  .Name("modelwatch_http_connections_closed_total")
                                  .Help("HTTP connections closed, by reason (every reason is exported from the "
                                        "start; their meanings: enum Closed in daemon/http_server.cpp).")
                                  .Register(registry)),
      http_body_bytes_in_flight(BuildGauge()
                                    .Name("modelwatch_http_body_bytes_in_flight")
                                    .Help("Memory held by request bodies being received or handled, counted "
                                          "against server.max_inflight_bytes.")
                                    .Register(registry)
                                    .Add({})),
      file_tail_lines(BuildCounter()
                          .Name("modelwatch_file_tail_lines_total")
                          .Help("Lines read by the file tails, by file and result (delivered, rejected, too_long).")
                          .Register(registry)),
      file_tail_events(BuildCounter()
                           .Name("modelwatch_file_tail_events_total")
                           .Help("File tail events, by file and event (rotation, truncation, error).")
                           .Register(registry)),
      feature_drift_score(BuildGauge()
                              .Name("modelwatch_feature_drift_score")
                              .Help("Effect size of the latest window against the reference: normalised Wasserstein "
                                    "(numeric) or Jensen-Shannon distance in nats (categorical), by model and feature.")
                              .Register(registry)),
      feature_drifted(BuildGauge()
                          .Name("modelwatch_feature_drifted")
                          .Help("1 when the latest window's verdict for the feature is drift, else 0.")
                          .Register(registry)),
      dataset_drift(BuildGauge()
                        .Name("modelwatch_dataset_drift")
                        .Help("1 when the share of drifted features in the latest window reached drift_share.")
                        .Register(registry)),
      drift_share(BuildGauge()
                      .Name("modelwatch_drift_share")
                      .Help("Share of the features drifted in the latest window.")
                      .Register(registry)),
      windows_closed(BuildCounter()
                         .Name("modelwatch_windows_closed_total")
                         .Help("Windows closed and evaluated, by model.")
                         .Register(registry)),
      findings(BuildCounter()
                   .Name("modelwatch_findings_total")
                   .Help("Findings stored, by model, kind and whether they triggered.")
                   .Register(registry)),
      window_metric(BuildGauge()
                        .Name("modelwatch_window_metric")
                        .Help("A metric of the latest judged window (performance, label coverage, data quality, "
                              "operational series), by model, metric and whether it is estimated.")
                        .Register(registry)),
      anomaly_score(BuildGauge()
                        .Name("modelwatch_anomaly_score")
                        .Help("Anomaly score in [0, 1] of the latest point of an operational series.")
                        .Register(registry)),
      reference_rows(BuildGauge()
                         .Name("modelwatch_reference_rows")
                         .Help("Rows in the model's active reference sample (0 while one is being collected).")
                         .Register(registry)),
      alert_deliveries(BuildCounter()
                           .Name("modelwatch_alert_deliveries_total")
                           .Help("Alert deliveries attempted, by result (delivered, failed, abandoned).")
                           .Register(registry)),
      retrain_transitions(BuildCounter()
                              .Name("modelwatch_retrain_transitions_total")
                              .Help("Retraining job state changes, by model and new state.")
                              .Register(registry)),
      audits(BuildCounter()
                 .Name("modelwatch_audits_total")
                 .Help("Fairness audits finished, by model, audit and state (passed, failed, error).")
                 .Register(registry)) {
    BuildGauge()
        .Name("modelwatch_build_info")
        .Help("Always 1; the labels say which build is running.")
        .Register(registry)
        .Add({{"version", MODELWATCH_VERSION}})
        .Set(1);
}

}  // namespace mw::daemon
