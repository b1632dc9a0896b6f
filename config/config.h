// The daemon's configuration as plain, validated structs. The YAML loader
// (config/loader.h) is the only place that fills them; every default lives in
// the option tables (config/sections.cpp), and config/modelwatch.yaml documents
// each key. The member initializers below repeat the table defaults only so
// that code building options by hand (tests) starts from the same values; a
// test (tests/config/reference_test.cpp) keeps the two equal. Components receive
// the part they need and nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.h"
#include "core/record.h"

namespace mw::config {

enum class LogLevel { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// A bearer token, stored as the lowercase hex SHA-256 of the secret so the
// config file never holds a usable credential.
struct TokenHash {
    std::string sha256_hex;

    bool operator==(const TokenHash&) const = default;
};

struct ServerOptions {
    std::string listen_address = "127.0.0.1";
    std::uint16_t listen_port = 8470;
    std::uint64_t max_body_bytes = 32ull << 20;
    std::uint64_t max_inflight_bytes = 256ull << 20;  // request bodies held at once, all connections
    std::uint32_t max_records_per_request = 100000;
    std::uint32_t max_connections = 512;
    std::uint32_t max_connections_per_client = 64;  // per address (IPv6: per /64)
    std::uint32_t max_bodies_per_client = 16;       // request bodies being read or handled at once, per address
    std::uint32_t header_timeout_ms = 10000;
    std::uint32_t body_timeout_ms = 60000;
    std::uint32_t idle_timeout_ms = 60000;
    std::uint64_t min_receive_bytes_per_second = 1024;  // 0: no minimum rate
    std::uint32_t receive_rate_grace_ms = 5000;
    std::uint32_t receive_rate_window_ms = 5000;
    std::uint32_t max_json_depth = 32;
    std::vector<TokenHash> tokens;  // global tokens: valid for every model

    bool operator==(const ServerOptions&) const = default;
};

struct StoreOptions {
    std::string dsn;  // libpq connection string, e.g. "host=/run/postgresql dbname=modelwatch"
    std::string dsn_env;  // when set, the environment variable `dsn` was read from (for logs; never log `dsn`)
    std::uint32_t connect_timeout_ms = 5000;
    std::uint32_t retry_initial_ms = 200;
    std::uint32_t retry_max_ms = 10000;
    std::uint32_t batch_max_records = 50000;  // records per COPY transaction
    std::uint32_t drain_connections = 2;      // PostgreSQL connections writing spool ranges at once
    std::uint32_t partition_days = 1;         // only 1 accepted: partitions are one UTC day (store_writer.h)
    std::uint32_t probe_interval_ms = 500;    // how often readiness asks PostgreSQL, idle or busy
    std::uint32_t probe_timeout_ms = 1000;    // how long one probe may take before the store counts as down

    bool operator==(const StoreOptions&) const = default;
};

// The spool's directory when spool.dir is not given.
inline std::string default_spool_dir(const std::string& state_dir) {
    return state_dir + (state_dir.ends_with('/') ? "spool" : "/spool");
}

struct SpoolOptions {
    std::string dir;                           // default: default_spool_dir(state_dir)
    std::uint64_t max_bytes = 1ull << 30;      // disk budget; past it ingest answers 503
    std::uint64_t segment_bytes = 64ull << 20; // a segment is rolled at this size
    std::uint32_t group_commit_max_wait_us = 0;  // extra wait to gather more writers before fdatasync
    std::uint32_t stop_drain_timeout_ms = 30000;  // on SIGTERM, how long to keep draining into PostgreSQL
    std::uint32_t max_backlog_seconds = 20;       // admission control: backlog in seconds of drain; 0 = off

    bool operator==(const SpoolOptions&) const = default;
};

struct LogOptions {
    LogLevel level = LogLevel::info;

    bool operator==(const LogOptions&) const = default;
};

struct FileTailOptions {
    std::string path;   // an NDJSON file; rotation (rename + new file) and truncation are followed
    std::string model;
    RecordKind kind = RecordKind::prediction;
    std::uint32_t poll_interval_ms = 500;

    bool operator==(const FileTailOptions&) const = default;
};

// The JetStream collector (collectors/nats_collector.h). The stream is the
// operator's (retention, replicas and limits are capacity decisions); the
// durable pull consumers "<consumer>-predictions" and "<consumer>-outcomes"
// are created when missing and shared by every daemon naming them.
struct NatsOptions {
    std::vector<std::string> servers;  // nats://host:port or tls://host:port
    std::string stream;
    std::string consumer = "modelwatch";
    // Records of model M are published on "<subject>.M".
    std::string predictions_subject = "modelwatch.predictions";
    std::string outcomes_subject = "modelwatch.outcomes";
    std::uint32_t fetch_batch = 256;         // messages per pull request
    std::uint32_t fetch_timeout_ms = 1000;   // how long one pull waits for messages
    std::uint32_t ack_wait_ms = 30000;       // a created consumer's AckWait: redelivery after this without an ack
    std::uint32_t retry_delay_ms = 5000;     // a message the spool could not take is redelivered after this
    std::string user;
    std::string password_env;   // environment variable holding the password of `user`
    std::string password;       // filled from password_env by the loader; never logged
    std::string creds_file;     // a .creds file (JWT and nkey seed)
    std::string nkey;           // an nkey public key ("U..."), with nkey_seed_file
    std::string nkey_seed_file;
    std::string tls_ca_file;    // trusted CAs; setting it (or a tls:// URL) turns TLS on
    std::string tls_cert_file;  // client certificate and key, for servers that verify clients
    std::string tls_key_file;

    bool operator==(const NatsOptions&) const = default;
};

// Where a model's reference (what "normal" means to its detectors) comes from.
enum class ReferenceSource { first_rows, upload, time_range };

struct ReferenceOptions {
    ReferenceSource source = ReferenceSource::first_rows;
    std::uint32_t rows = 1000;    // first_rows: how many; every source: the cap of the stored sample
    std::string model_version;    // first_rows: only predictions of this version; empty: any
    bool wait_for_labels = false; // first_rows: stored once its rows' labels arrived (performance.*)
    std::string start;            // time_range: RFC 3339
    std::string end;

    bool operator==(const ReferenceOptions&) const = default;
};

// The current window: `rows` predictions in (ts, id) order, advancing by
// `step_rows` (0: by `rows`, tumbling); or, when duration_ms > 0, tumbling
// time windows closed `lateness_ms` after their end.
struct WindowOptions {
    std::uint32_t rows = 1000;
    std::uint32_t step_rows = 0;
    std::uint32_t duration_ms = 0;
    std::uint32_t lateness_ms = 60000;

    bool operator==(const WindowOptions&) const = default;
};

struct FeatureDriftOverride {
    std::string name;
    std::string method = "auto";
    std::optional<double> threshold;

    bool operator==(const FeatureDriftOverride&) const = default;
};


struct DriftConfig {
    std::string mode = "robust";  // a name from the drift modes registry (detectors/feature_drift.cpp)
    std::string method = "auto";
    std::optional<double> threshold;
    std::string correction = "benjamini_hochberg";  // a name from the corrections registry (detectors/feature_drift.cpp)
    double effect_floor = 0.1;
    std::uint32_t noise_resamples = 50;
    double drift_share = 0.5;
    bool multivariate = true;
    std::vector<std::string> segments;  // attributes whose values get their own verdict
    // A profile-only model profiles at most this many values of each segment
    // attribute; past it the attribute's segment checks are not computed
    // (stats::SegmentProfiles, docs/privacy.md).
    std::uint32_t max_segment_values = 32;
    std::vector<FeatureDriftOverride> features;

    bool operator==(const DriftConfig&) const = default;
};

struct PerformanceThreshold {
    std::string metric;            // accuracy, f1, roc_auc, log_loss, mae, ...
    std::optional<double> min;     // absolute bounds
    std::optional<double> max;
    std::optional<double> max_drop;  // below the reference value by more than this
    double band_sd = 3;              // and outside reference mean +- band_sd sd over reference chunks

    bool operator==(const PerformanceThreshold&) const = default;
};

struct PerformanceConfig {
    std::string positive_class;        // empty: the first declared class
    double min_label_coverage = 0.8;   // judge a window once this share of it is labelled...
    std::uint32_t label_wait_ms = 3600000;  // ...or this long after it closed, whatever its coverage
    bool estimate = true;              // CBPE until labels arrive (binary models with scores)
    // Rows a segment (and the rest beside it) needs to be shown by segment
    // gaps and root-cause rankings; smaller groups are counted, never shown.
    std::uint32_t min_segment_rows = 100;
    std::vector<PerformanceThreshold> thresholds;

    bool operator==(const PerformanceConfig&) const = default;
};

struct ConceptConfig {
    std::string detector = "adwin";          // on the per-record error stream; "" disables
    std::vector<std::string> params;         // "name=value", as `modelwatch detect --param`

    bool operator==(const ConceptConfig&) const = default;
};

struct AnomalyConfig {
    std::string detector = "ensemble";  // on each operational series; "" disables
    std::vector<std::string> params;  // "name=value", as `modelwatch anomaly --param`
    double threshold = 0.99;          // anomaly score at or above which a point is a finding

    bool operator==(const AnomalyConfig&) const = default;
};

struct RetrainTriggerConfig {
    std::string kind;              // dataset_drift, concept_drift, performance, fairness, anomaly, ...
    std::uint32_t hold_ms = 0;     // the condition must hold this long (YAML key `for`)
    std::uint32_t min_findings = 1;

    bool operator==(const RetrainTriggerConfig&) const = default;
};

struct RetrainConfig {
    // The job runner (retrain/runner_registry.cpp); empty: retraining is off.
    std::string runner;
    Settings runner_options;  // the runner's own keys, checked against its option table
    Settings hook_options;    // the hooks' keys (e.g. promote_command), each declared by its hook
    std::vector<RetrainTriggerConfig> triggers;
    std::string schedule;                 // 5-field cron: retrain on a schedule too; empty: no schedule
    std::string schedule_time_zone = "UTC";
    std::string dedup_key = "{model}:{trigger}";
    std::uint32_t cooldown_ms = 3600000;
    std::uint32_t cooldown_windows = 0;
    std::uint32_t daily_budget = 3;
    std::uint32_t breaker_failures = 3;
    std::uint32_t timeout_ms = 1800000;
    std::uint32_t data_rows = 20000;
    std::string gate_metric = "accuracy";
    bool gate_higher_is_better = true;
    double gate_min_improvement = 0.01;
    std::uint32_t probation_windows = 3;
    double probation_max_drop = 0.02;
    // A rejected challenger re-bases the served model's reference value of
    // gate_metric (the base of performance.thresholds[].max_drop) to the
    // champion's figure the job measured (docs/retraining.md).
    bool rebase_on_rejection = false;

    bool enabled() const { return !runner.empty(); }
    bool operator==(const RetrainConfig&) const = default;
};

struct AuditConfig {
    std::string name;
    std::string schedule;             // 5-field cron
    std::string time_zone = "UTC";
    std::uint32_t window_s = 7 * 86400;  // the joined records of the last window_s seconds
    std::vector<std::string> sensitive;
    std::vector<std::string> reference_groups;  // "attribute=value"
    std::uint32_t min_group_size = 30;
    std::string positive_label;       // empty: the first declared class
    std::vector<std::string> formats = {"html", "json", "md"};
    bool run_on_start = false;

    bool operator==(const AuditConfig&) const = default;
};

struct ModelOptions {
    ModelSchema schema;
    std::vector<TokenHash> tokens;  // tokens valid for this model only
    ReferenceOptions reference;
    WindowOptions window;
    DriftConfig drift;
    PerformanceConfig performance;
    ConceptConfig concept_drift;
    AnomalyConfig anomaly;
    RetrainConfig retrain;
    std::vector<AuditConfig> audits;
    // false: a profile-only model (docs/privacy.md, "Profile-only models"):
    // its feature values are never stored, only their profiles.
    bool store_raw = true;
};

// Equal in every option: a reload keeps a model's fitted reference only then.
bool operator==(const ModelOptions& a, const ModelOptions& b);

struct ReceiverConfig {
    std::string name;
    std::string type = "alertmanager";  // an alert sink's name (alerts/sink_registry.cpp)
    Settings options;  // the sink's own keys, checked against its option table (alerts/<sink>.cpp)
    // The values of the environment variables the sink's environment options
    // name, by option key, read when the configuration is loaded.
    std::map<std::string, std::string> environment;
    std::uint32_t timeout_ms = 10000;
    std::uint32_t max_per_minute = 60;

    bool operator==(const ReceiverConfig&) const = default;
};

struct AlertingConfig {
    std::string external_url;               // how people reach this daemon, for links in alerts
    std::uint32_t resend_interval_ms = 300000;
    std::string runbook_url;                // "{model}" and "{kind}" are replaced
    std::vector<std::string> kinds;         // finding kinds that alert; empty: the default set
    std::vector<ReceiverConfig> receivers;

    bool operator==(const AlertingConfig&) const = default;
};

struct MonitorOptions {
    std::uint32_t interval_ms = 1000;       // how often windows, alerts, jobs and audits are looked at
    std::uint32_t max_concurrent_jobs = 1;  // retraining jobs at once, over all models
    std::uint32_t progress_timeout_ms = 300000;  // a pass without a checkpoint this long is stuck
    std::string jobs_dir;                   // default: <state_dir>/jobs
    std::string reports_dir;                // default: <state_dir>/reports

    bool operator==(const MonitorOptions&) const = default;
};

// Several daemons sharing one database (store/leases.h, docs/scaling.md).
// Failover after a kill -9 of an owner has two parts (docs/scaling.md): its
// models are owned again within lease + heartbeat (plus the heartbeat's own
// transaction), and their windows are judged by the new owner's next pass.
struct ClusterOptions {
    std::string daemon_id;           // empty: <hostname>-<pid>, a new identity per process
    std::uint32_t lease_ms = 5000;   // a model's lease lasts this long past its last renewal
    std::uint32_t heartbeat_ms = 1000;  // how often leases are renewed, released and claimed

    bool operator==(const ClusterOptions&) const = default;
};

// How long what the daemon stores is kept (store/retention.h, docs/retention.md);
// 0 keeps it forever. The defaults bound a busy host's disk (bench/RESULTS.md).
struct RetentionOptions {
    std::uint32_t interval_ms = 3'600'000;       // how often the retention pass runs
    std::uint64_t predictions_s = 14 * 86400;     // raw predictions (whole partitions), their outcomes, rejection counts
    std::uint64_t findings_s = 90 * 86400;        // findings and decisions
    std::uint64_t windows_s = 90 * 86400;         // closed windows and their metrics
    std::uint64_t alert_deliveries_s = 30 * 86400;  // delivered or abandoned alert deliveries
    std::uint64_t jobs_s = 30 * 86400;            // finished retraining jobs and their directories
    std::uint64_t audits_s = 365 * 86400;         // finished audits and their report files

    bool operator==(const RetentionOptions&) const = default;
};

struct Config {
    std::string state_dir = "/var/lib/modelwatch";
    ServerOptions server;
    StoreOptions store;
    SpoolOptions spool;
    LogOptions log;
    std::vector<ModelOptions> models;
    std::vector<FileTailOptions> file_tails;
    std::optional<NatsOptions> nats;  // absent: no NATS collector
    MonitorOptions monitor;
    AlertingConfig alerting;
    RetentionOptions retention;
    ClusterOptions cluster;

    const ModelOptions* find_model(std::string_view name) const;
};

}  // namespace mw::config
