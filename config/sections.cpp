#include "config/sections.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <unistd.h>

#include <fmt/format.h>

#include "config/component.h"
#include "config/privacy_section.h"
#include "core/cron_schedule.h"
#include "core/time.h"
#include "core/time_zone.h"

namespace mw::config {

namespace {

constexpr std::uint64_t mib = 1024 * 1024;
constexpr std::uint64_t max_name_length_model = 64;     // names appear in URLs and metric labels
constexpr std::uint64_t max_name_length_feature = 128;

// ---- tokens (server.tokens[], models[].tokens[]) ----------------------------

const Option<TokenHash> token_options[] = {
    {.key = "sha256", .kind = ValueKind::sha256_hex, .required = true,
     .help = "hex SHA-256 of the bearer token (sha256sum of the secret); the secret never appears here",
     .field = "TokenHash::sha256_hex", .assign = assign_field<&TokenHash::sha256_hex>},
};

void read_tokens(Reader& reader, const YAML::Node& node, const std::string& path, int line,
                 std::vector<TokenHash>& out) {
    read_mapping_list<TokenHash>(reader, node, path, line, token_options, out);
}

void describe_tokens(const std::string& prefix, std::vector<OptionDoc>& out) {
    describe_table<TokenHash>(prefix, token_options, out);
}

// ---- server ------------------------------------------------------------------

const Option<ServerOptions> server_options[] = {
    {.key = "listen", .kind = ValueKind::listen, .default_text = "127.0.0.1:8470",
     .help = "address:port of the HTTP ingest and admin API, an IP address (IPv6 as \"[::1]:8470\"), not a "
             "name: the daemon binds it without resolving; port 0 picks a free port (tests)",
     .field = "ServerOptions::listen_address, ServerOptions::listen_port",
     .assign = [](ServerOptions& server, const ParsedValue& value) {
         const auto& endpoint = std::get<ListenEndpoint>(value);
         server.listen_address = endpoint.host;
         server.listen_port = endpoint.port;
     }},
    {.key = "max_body_bytes", .kind = ValueKind::size_bytes, .default_text = "32MiB", .min = 1024,
     .max = 1024 * mib, .help = "largest request body accepted; larger bodies get 413",
     .field = "ServerOptions::max_body_bytes", .assign = assign_field<&ServerOptions::max_body_bytes>},
    {.key = "max_inflight_bytes", .kind = ValueKind::size_bytes, .default_text = "256MiB", .min = 1024 * 1024,
     .max = 64 * 1024 * mib,
     .help = "request bodies held in memory at once over all connections, counted as their bytes arrive; past "
             "it requests get 503",
     .field = "ServerOptions::max_inflight_bytes",
     .assign = assign_field<&ServerOptions::max_inflight_bytes>},
    {.key = "max_records_per_request", .kind = ValueKind::integer, .default_text = "100000", .min = 1,
     .max = 10'000'000, .help = "most records one request may carry; more get 400",
     .field = "ServerOptions::max_records_per_request",
     .assign = assign_field<&ServerOptions::max_records_per_request>},
    {.key = "max_connections", .kind = ValueKind::integer, .default_text = "512", .min = 1, .max = 65535,
     .help = "concurrent connections; further ones are answered 503 and closed",
     .field = "ServerOptions::max_connections", .assign = assign_field<&ServerOptions::max_connections>},
    {.key = "max_connections_per_client", .kind = ValueKind::integer, .default_text = "64", .min = 1,
     .max = 65535,
     .help = "concurrent connections from one client address (IPv6: one /64); further ones are answered 429 "
             "and closed. Behind a load balancer every client is the balancer: raise it to max_connections",
     .field = "ServerOptions::max_connections_per_client",
     .assign = assign_field<&ServerOptions::max_connections_per_client>},
    {.key = "max_bodies_per_client", .kind = ValueKind::integer, .default_text = "16", .min = 1, .max = 65535,
     .help = "request bodies being received or handled at once from one client address; further requests "
             "with a body are answered 429",
     .field = "ServerOptions::max_bodies_per_client", .assign = assign_field<&ServerOptions::max_bodies_per_client>},
    {.key = "header_timeout", .kind = ValueKind::duration, .default_text = "10s", .min = 100,
     .max = 600'000, .unit = "ms", .help = "time allowed to receive the request headers; later ones get 408",
     .field = "ServerOptions::header_timeout_ms", .assign = assign_field<&ServerOptions::header_timeout_ms>},
    {.key = "body_timeout", .kind = ValueKind::duration, .default_text = "60s", .min = 100,
     .max = 3'600'000, .unit = "ms", .help = "time allowed to receive the request body; later ones get 408",
     .field = "ServerOptions::body_timeout_ms", .assign = assign_field<&ServerOptions::body_timeout_ms>},
    {.key = "min_receive_bytes_per_second", .kind = ValueKind::size_bytes, .default_text = "1KiB", .min = 0,
     .max = 1024 * mib,
     .help = "slowest rate at which request headers and bodies may arrive once receive_rate_grace has passed, "
             "measured over each receive_rate_window; slower requests get 408; 0 turns the check off",
     .field = "ServerOptions::min_receive_bytes_per_second",
     .assign = assign_field<&ServerOptions::min_receive_bytes_per_second>},
    {.key = "receive_rate_grace", .kind = ValueKind::duration, .default_text = "5s", .min = 0, .max = 600'000,
     .unit = "ms", .help = "time a request's headers, and then its body, may take before the minimum rate applies",
     .field = "ServerOptions::receive_rate_grace_ms", .assign = assign_field<&ServerOptions::receive_rate_grace_ms>},
    {.key = "receive_rate_window", .kind = ValueKind::duration, .default_text = "5s", .min = 100, .max = 600'000,
     .unit = "ms", .help = "the span over which the receive rate is measured, window after window",
     .field = "ServerOptions::receive_rate_window_ms",
     .assign = assign_field<&ServerOptions::receive_rate_window_ms>},
    {.key = "idle_timeout", .kind = ValueKind::duration, .default_text = "60s", .min = 100,
     .max = 3'600'000, .unit = "ms", .help = "a keep-alive connection idle this long is closed",
     .field = "ServerOptions::idle_timeout_ms", .assign = assign_field<&ServerOptions::idle_timeout_ms>},
    {.key = "max_json_depth", .kind = ValueKind::integer, .default_text = "32", .min = 1, .max = 1000,
     .help = "deepest JSON nesting accepted in a request body",
     .field = "ServerOptions::max_json_depth", .assign = assign_field<&ServerOptions::max_json_depth>},
    {.key = "tokens", .kind = ValueKind::mapping_list,
     .help = "bearer tokens valid for every model",
     .field = "ServerOptions::tokens",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ServerOptions& server) { read_tokens(reader, node, path, line, server.tokens); },
     .describe_nested = describe_tokens},
};

// ---- store -------------------------------------------------------------------

const Option<StoreOptions> store_options[] = {
    {.key = "dsn", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "libpq connection string; give this or dsn_env, not both",
     .field = "StoreOptions::dsn", .assign = assign_field<&StoreOptions::dsn>},
    {.key = "dsn_env", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "name of the environment variable holding the connection string (keeps secrets out of this file)",
     .field = "StoreOptions::dsn_env, StoreOptions::dsn", .assign = assign_field<&StoreOptions::dsn_env>},
    {.key = "connect_timeout", .kind = ValueKind::duration, .default_text = "5s", .min = 100,
     .max = 600'000, .unit = "ms", .help = "time allowed to connect to PostgreSQL",
     .field = "StoreOptions::connect_timeout_ms", .assign = assign_field<&StoreOptions::connect_timeout_ms>},
    {.key = "retry_initial", .kind = ValueKind::duration, .default_text = "200ms", .min = 1, .max = 60'000,
     .unit = "ms", .help = "first wait before reconnecting; doubles up to retry_max",
     .field = "StoreOptions::retry_initial_ms", .assign = assign_field<&StoreOptions::retry_initial_ms>},
    {.key = "retry_max", .kind = ValueKind::duration, .default_text = "10s", .min = 1, .max = 3'600'000,
     .unit = "ms", .help = "longest wait between reconnection attempts (at least retry_initial)",
     .field = "StoreOptions::retry_max_ms", .assign = assign_field<&StoreOptions::retry_max_ms>},
    {.key = "batch_max_records", .kind = ValueKind::integer, .default_text = "50000", .min = 1,
     .max = 1'000'000, .help = "records per COPY transaction when draining the spool",
     .field = "StoreOptions::batch_max_records", .assign = assign_field<&StoreOptions::batch_max_records>},
    {.key = "drain_connections", .kind = ValueKind::integer, .default_text = "2", .min = 1, .max = 16,
     .help = "PostgreSQL connections draining the spool at once, each writing its own range",
     .field = "StoreOptions::drain_connections", .assign = assign_field<&StoreOptions::drain_connections>},
    {.key = "partition_days", .kind = ValueKind::integer, .default_text = "1", .min = 1, .max = 1,
     .help = "fixed at 1: predictions, outcomes and their boundary keys are partitioned by the UTC day they were "
             "received, which is also the horizon of exactly-once by id (docs/retention.md); every daemon on one "
             "database and the upgrade must agree, so another width is refused",
     .field = "StoreOptions::partition_days", .assign = assign_field<&StoreOptions::partition_days>},
    {.key = "probe_interval", .kind = ValueKind::duration, .default_text = "500ms", .min = 100, .max = 60'000,
     .unit = "ms", .help = "how often /readyz's probe asks PostgreSQL (SELECT 1), whether or not there is work",
     .field = "StoreOptions::probe_interval_ms", .assign = assign_field<&StoreOptions::probe_interval_ms>},
    {.key = "probe_timeout", .kind = ValueKind::duration, .default_text = "1s", .min = 100, .max = 60'000,
     .unit = "ms",
     .help = "time one probe may take; with no answer for probe_interval + probe_timeout the store counts as down",
     .field = "StoreOptions::probe_timeout_ms", .assign = assign_field<&StoreOptions::probe_timeout_ms>},
};

void check_store(Reader& reader, const Environment& environment, StoreOptions& store) {
    if (store.retry_max_ms < store.retry_initial_ms)
        reader.error("store.retry_max", reader.line_of("store.retry_max"),
                     fmt::format("must be at least retry_initial ({}ms), got {}ms", store.retry_initial_ms,
                                 store.retry_max_ms));
    const int env_line = reader.line_of("store.dsn_env");
    if (store.dsn_env.empty()) {
        if (store.dsn.empty() && !reader.has_error_within("store"))
            reader.error("store", reader.line_of("store"),
                         "one of dsn or dsn_env is required (the PostgreSQL connection string)");
        return;
    }
    if (!store.dsn.empty()) {
        reader.error("store.dsn_env", env_line, "give either dsn or dsn_env, not both");
        return;
    }
    if (!is_environment_name(store.dsn_env)) {
        reader.error("store.dsn_env", env_line,
                     fmt::format("expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), got \"{}\"",
                                 store.dsn_env));
        return;
    }
    const auto value = environment ? environment(store.dsn_env) : std::nullopt;
    if (!value || value->empty()) {
        reader.error("store.dsn_env", env_line,
                     fmt::format("environment variable {} is not set or is empty", store.dsn_env));
        return;
    }
    store.dsn = *value;
}

// ---- spool -------------------------------------------------------------------

const Option<SpoolOptions> spool_options[] = {
    {.key = "dir", .kind = ValueKind::path, .default_text = "", .allow_empty = true,
     .help = "directory of the spool segments; empty means <state_dir>/spool",
     .field = "SpoolOptions::dir", .assign = assign_field<&SpoolOptions::dir>},
    {.key = "max_bytes", .kind = ValueKind::size_bytes, .default_text = "1GiB", .min = mib,
     .max = 16 * 1024 * 1024 * mib, .help = "disk budget of the spool; past it ingest answers 503",
     .field = "SpoolOptions::max_bytes", .assign = assign_field<&SpoolOptions::max_bytes>},
    {.key = "segment_bytes", .kind = ValueKind::size_bytes, .default_text = "64MiB", .min = 64 * 1024,
     .max = 4 * 1024 * mib, .help = "a segment file is rolled at this size (at most max_bytes)",
     .field = "SpoolOptions::segment_bytes", .assign = assign_field<&SpoolOptions::segment_bytes>},
    {.key = "group_commit_max_wait", .kind = ValueKind::duration, .default_text = "0", .min = 0,
     .max = 1'000'000, .unit = "us", .help = "extra wait to gather more writers before one fdatasync; 0 = none",
     .field = "SpoolOptions::group_commit_max_wait_us",
     .assign = assign_field<&SpoolOptions::group_commit_max_wait_us>},
    {.key = "stop_drain_timeout", .kind = ValueKind::duration, .default_text = "30s", .min = 0, .max = 3'600'000,
     .unit = "ms",
     .help = "on SIGTERM, how long to keep moving the spool into PostgreSQL; what is left is logged and stored "
             "at the next start. Keep it 30s under the unit's TimeoutStopSec",
     .field = "SpoolOptions::stop_drain_timeout_ms", .assign = assign_field<&SpoolOptions::stop_drain_timeout_ms>},
    // The default: under overload the acknowledged records then reach
    // PostgreSQL within about 20 s, and a stop under load drains them within
    // stop_drain_timeout's 30 s (bench/RESULTS.md, "Admission control").
    {.key = "max_backlog", .kind = ValueKind::duration, .default_text = "20s", .min = 0, .max = 86'400,
     .unit = "s",
     .help = "admission control: while more than this much drain time (backlog / measured drain rate) is "
             "waiting, ingest answers 503 with Retry-After and NATS stops pulling; not while PostgreSQL is down "
             "(then max_bytes alone); 0 = off",
     .field = "SpoolOptions::max_backlog_seconds", .assign = assign_field<&SpoolOptions::max_backlog_seconds>},
};

void check_server(Reader& reader, const ServerOptions& server) {
    if (server.max_inflight_bytes < server.max_body_bytes)
        reader.error("server.max_inflight_bytes", reader.line_of("server.max_inflight_bytes"),
                     fmt::format("must be at least max_body_bytes ({}), got {}",
                                 format_size_bytes(server.max_body_bytes),
                                 format_size_bytes(server.max_inflight_bytes)));
}

void check_spool(Reader& reader, const std::string& state_dir, SpoolOptions& spool) {
    if (spool.segment_bytes > spool.max_bytes)
        reader.error("spool.segment_bytes", reader.line_of("spool.segment_bytes"),
                     fmt::format("must be at most max_bytes ({}), got {}", format_size_bytes(spool.max_bytes),
                                 format_size_bytes(spool.segment_bytes)));
    if (spool.dir.empty()) spool.dir = default_spool_dir(state_dir);
}

// ---- log ---------------------------------------------------------------------

constexpr Choice log_levels[] = {
    {"error", static_cast<int>(LogLevel::error)},   {"warning", static_cast<int>(LogLevel::warning)},
    {"notice", static_cast<int>(LogLevel::notice)}, {"info", static_cast<int>(LogLevel::info)},
    {"debug", static_cast<int>(LogLevel::debug)},
};

const Option<LogOptions> log_options[] = {
    {.key = "level", .kind = ValueKind::choice, .default_text = "info", .choices = log_levels,
     .help = "least severe level written to stderr (journald)",
     .field = "LogOptions::level", .assign = assign_field<&LogOptions::level>},
};

// ---- models ------------------------------------------------------------------

constexpr Choice feature_types[] = {
    {"numeric", static_cast<int>(FeatureType::numeric)},
    {"categorical", static_cast<int>(FeatureType::categorical)},
    {"boolean", static_cast<int>(FeatureType::boolean)},
};

const Option<FeatureSpec> feature_options[] = {
    {.key = "name", .kind = ValueKind::name, .required = true, .max = max_name_length_feature,
     .help = "feature name as it appears in the records' features object",
     .field = "FeatureSpec::name", .assign = assign_field<&FeatureSpec::name>},
    {.key = "type", .kind = ValueKind::choice, .required = true, .choices = feature_types,
     .help = "numeric, categorical or boolean; decides which drift tests apply",
     .field = "FeatureSpec::type", .assign = assign_field<&FeatureSpec::type>},
};

constexpr Choice prediction_types[] = {
    {"binary", static_cast<int>(PredictionType::binary)},
    {"multiclass", static_cast<int>(PredictionType::multiclass)},
    {"regression", static_cast<int>(PredictionType::regression)},
    {"score", static_cast<int>(PredictionType::score)},
};

const Option<ModelSchema> prediction_options[] = {
    {.key = "type", .kind = ValueKind::choice, .required = true, .choices = prediction_types,
     .help = "binary, multiclass, regression or score",
     .field = "ModelSchema::prediction_type", .assign = assign_field<&ModelSchema::prediction_type>},
    {.key = "classes", .kind = ValueKind::text_list,
     .help = "class labels, optional (binary: exactly 2, the positive class first; multiclass: at least 2)",
     .field = "ModelSchema::classes", .assign = assign_field<&ModelSchema::classes>},
};

// ---- models[].reference, window, drift, performance, concept_drift, anomaly --


constexpr Choice reference_sources[] = {
    {"first_rows", static_cast<int>(ReferenceSource::first_rows)},
    {"upload", static_cast<int>(ReferenceSource::upload)},
    {"time_range", static_cast<int>(ReferenceSource::time_range)},
};

const Option<ReferenceOptions> reference_options[] = {
    {.key = "source", .kind = ValueKind::choice, .default_text = "first_rows", .choices = reference_sources,
     .help = "first_rows: the first `rows` predictions (of model_version); upload: POST /v1/models/<m>/reference; "
             "time_range: the predictions from start to end",
     .field = "ReferenceOptions::source", .assign = assign_field<&ReferenceOptions::source>},
    {.key = "rows", .kind = ValueKind::integer, .default_text = "1000", .min = 10, .max = 1'000'000,
     .help = "first_rows: how many predictions; every source: the most rows kept in the stored sample",
     .field = "ReferenceOptions::rows", .assign = assign_field<&ReferenceOptions::rows>},
    {.key = "model_version", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "first_rows: only predictions of this model version; empty: any version",
     .field = "ReferenceOptions::model_version", .assign = assign_field<&ReferenceOptions::model_version>},
    {.key = "wait_for_labels", .kind = ValueKind::choice, .default_text = "false", .choices = boolean_choices,
     .help = "first_rows: store the reference once performance.min_label_coverage of its rows are labelled (or "
             "performance.label_wait after its last row arrived), so the performance estimate (CBPE) and bands "
             "are fitted on its labels rather than on the few that came with it",
     .field = "ReferenceOptions::wait_for_labels", .assign = assign_field<&ReferenceOptions::wait_for_labels>},
    {.key = "start", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "time_range: first timestamp (RFC 3339)", .field = "ReferenceOptions::start",
     .assign = assign_field<&ReferenceOptions::start>},
    {.key = "end", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "time_range: end timestamp, exclusive (RFC 3339)", .field = "ReferenceOptions::end",
     .assign = assign_field<&ReferenceOptions::end>},
};

const Option<WindowOptions> window_options[] = {
    {.key = "rows", .kind = ValueKind::integer, .default_text = "1000", .min = 10, .max = 1'000'000,
     .help = "predictions per window (count windows)", .field = "WindowOptions::rows",
     .assign = assign_field<&WindowOptions::rows>},
    {.key = "step", .kind = ValueKind::integer, .default_text = "0", .min = 0, .max = 1'000'000,
     .help = "predictions a sliding window advances by; 0 = rows (tumbling)", .field = "WindowOptions::step_rows",
     .assign = assign_field<&WindowOptions::step_rows>},
    {.key = "duration", .kind = ValueKind::duration, .default_text = "0", .min = 0, .max = 31u * 86'400'000u,
     .unit = "ms", .help = "when set, tumbling time windows of this length instead of count windows",
     .field = "WindowOptions::duration_ms", .assign = assign_field<&WindowOptions::duration_ms>},
    {.key = "lateness", .kind = ValueKind::duration, .default_text = "1m", .min = 0, .max = 86'400'000,
     .unit = "ms", .help = "time windows close this long after their end, for predictions still in flight",
     .field = "WindowOptions::lateness_ms", .assign = assign_field<&WindowOptions::lateness_ms>},
};

const Option<FeatureDriftOverride> feature_drift_options[] = {
    {.key = "name", .kind = ValueKind::name, .required = true, .max = max_name_length_feature,
     .help = "the feature (or \"score\", \"prediction\")", .field = "FeatureDriftOverride::name",
     .assign = assign_field<&FeatureDriftOverride::name>},
    {.key = "method", .kind = ValueKind::text, .default_text = "auto", .help = "the drift method of this feature",
     .field = "FeatureDriftOverride::method", .registry = "drift_methods",
     .assign = assign_field<&FeatureDriftOverride::method>},
    {.key = "threshold", .kind = ValueKind::number, .max_number = 1e9,
     .help = "p-value below which a test drifts, or distance at or above which; unset: the method's default",
     .field = "FeatureDriftOverride::threshold", .assign = assign_field<&FeatureDriftOverride::threshold>},
};


const Option<DriftConfig> drift_options[] = {
    {.key = "mode", .kind = ValueKind::name, .default_text = "robust", .max = 64,
     .help = "robust: corrected test AND effect size above a floor and the noise of the reference; "
             "legacy: Evidently's per-test verdict",
     .field = "DriftConfig::mode", .registry = "drift_modes", .assign = assign_field<&DriftConfig::mode>},
    {.key = "method", .kind = ValueKind::text, .default_text = "auto",
     .help = "method of every feature not listed under features",
     .field = "DriftConfig::method", .registry = "drift_methods", .assign = assign_field<&DriftConfig::method>},
    {.key = "threshold", .kind = ValueKind::number, .max_number = 1e9,
     .help = "threshold of that method; unset: the method's default (0.05 for tests, 0.1 for distances)",
     .field = "DriftConfig::threshold", .assign = assign_field<&DriftConfig::threshold>},
    {.key = "correction", .kind = ValueKind::name, .default_text = "benjamini_hochberg", .max = 64,
     .help = "multiple-testing correction of p-values across features (robust mode)",
     .field = "DriftConfig::correction", .registry = "corrections", .assign = assign_field<&DriftConfig::correction>},
    {.key = "effect_floor", .kind = ValueKind::number, .default_text = "0.1", .max_number = 100,
     .help = "robust mode: smallest effect size (normalised Wasserstein or Jensen-Shannon) that can drift",
     .field = "DriftConfig::effect_floor", .assign = assign_field<&DriftConfig::effect_floor>},
    {.key = "noise_resamples", .kind = ValueKind::integer, .default_text = "50", .min = 0, .max = 10000,
     .help = "robust mode: reference resamples that measure the effect size's noise; 0 disables that gate",
     .field = "DriftConfig::noise_resamples", .assign = assign_field<&DriftConfig::noise_resamples>},
    {.key = "drift_share", .kind = ValueKind::number, .default_text = "0.5", .min_number = 0.0001,
     .max_number = 1, .help = "dataset drift when at least this share of the features drifted",
     .field = "DriftConfig::drift_share", .assign = assign_field<&DriftConfig::drift_share>},
    {.key = "multivariate", .kind = ValueKind::choice, .default_text = "true", .choices = boolean_choices,
     .help = "also check PCA reconstruction error against the reference",
     .field = "DriftConfig::multivariate", .assign = assign_field<&DriftConfig::multivariate>},
    {.key = "segments", .kind = ValueKind::name_list, .max = max_name_length_feature,
     .help = "attributes whose values each get their own drift verdict", .field = "DriftConfig::segments",
     .assign = assign_field<&DriftConfig::segments>},
    {.key = "max_segment_values", .kind = ValueKind::integer, .default_text = "32", .min = 1, .max = 1000,
     .help = "store_raw: false: values of each segments attribute profiled at most; past it that attribute's "
             "segment checks are not computed (logged)",
     .field = "DriftConfig::max_segment_values", .assign = assign_field<&DriftConfig::max_segment_values>},
    {.key = "features", .kind = ValueKind::mapping_list, .help = "per-feature method and threshold",
     .field = "DriftConfig::features",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, DriftConfig& drift) {
         read_mapping_list<FeatureDriftOverride>(reader, node, path, line, feature_drift_options, drift.features);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<FeatureDriftOverride>(prefix, feature_drift_options, out);
     }},
};

const Option<PerformanceThreshold> performance_threshold_options[] = {
    {.key = "metric", .kind = ValueKind::name, .required = true, .max = 64,
     .help = "the performance metric bounded", .field = "PerformanceThreshold::metric",
     .registry = "performance_metrics", .assign = assign_field<&PerformanceThreshold::metric>},
    {.key = "min", .kind = ValueKind::number, .min_number = -1e12, .max_number = 1e12,
     .help = "a finding when the window's value is below this", .field = "PerformanceThreshold::min",
     .assign = assign_field<&PerformanceThreshold::min>},
    {.key = "max", .kind = ValueKind::number, .min_number = -1e12, .max_number = 1e12,
     .help = "a finding when the window's value is above this", .field = "PerformanceThreshold::max",
     .assign = assign_field<&PerformanceThreshold::max>},
    {.key = "max_drop", .kind = ValueKind::number, .max_number = 1e12,
     .help = "a finding when the value is worse than on the reference's labelled rows by more than this share "
             "of it (0.1: 10% lower, or higher for a loss), with or without the band",
     .field = "PerformanceThreshold::max_drop", .assign = assign_field<&PerformanceThreshold::max_drop>},
    {.key = "band_sd", .kind = ValueKind::number, .default_text = "3", .max_number = 100,
     .help = "and outside the reference chunks' mean +- band_sd sd; 0 disables the band",
     .field = "PerformanceThreshold::band_sd", .assign = assign_field<&PerformanceThreshold::band_sd>},
};

const Option<PerformanceConfig> performance_options[] = {
    {.key = "positive_class", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "binary models: the positive class; empty: the first of prediction.classes",
     .field = "PerformanceConfig::positive_class", .assign = assign_field<&PerformanceConfig::positive_class>},
    {.key = "min_label_coverage", .kind = ValueKind::number, .default_text = "0.8", .min_number = 0.01,
     .max_number = 1, .help = "a window is judged once this share of its predictions has an outcome",
     .field = "PerformanceConfig::min_label_coverage",
     .assign = assign_field<&PerformanceConfig::min_label_coverage>},
    {.key = "label_wait", .kind = ValueKind::duration, .default_text = "1h", .min = 0, .max = 31u * 86'400'000u,
     .unit = "ms", .help = "...or this long after it closed, with whatever labels arrived",
     .field = "PerformanceConfig::label_wait_ms", .assign = assign_field<&PerformanceConfig::label_wait_ms>},
    {.key = "estimate", .kind = ValueKind::choice, .default_text = "true", .choices = boolean_choices,
     .help = "binary models with scores: estimate performance (CBPE) until labels arrive",
     .field = "PerformanceConfig::estimate", .assign = assign_field<&PerformanceConfig::estimate>},
    {.key = "min_segment_rows", .kind = ValueKind::integer, .default_text = "100", .min = 1, .max = 1'000'000,
     .help = "segments with fewer rows, or whose rest has fewer, are counted but never shown (segment gaps, root causes)",
     .field = "PerformanceConfig::min_segment_rows", .assign = assign_field<&PerformanceConfig::min_segment_rows>},
    {.key = "thresholds", .kind = ValueKind::mapping_list, .help = "bounds per metric, each a finding when crossed",
     .field = "PerformanceConfig::thresholds",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       PerformanceConfig& performance) {
         read_mapping_list<PerformanceThreshold>(reader, node, path, line, performance_threshold_options,
                                                 performance.thresholds);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<PerformanceThreshold>(prefix, performance_threshold_options, out);
     }},
};

const Option<ConceptConfig> concept_options[] = {
    {.key = "detector", .kind = ValueKind::text, .default_text = "adwin", .allow_empty = true,
     .help = "concept-drift detector on the error stream; empty disables",
     .field = "ConceptConfig::detector", .registry = "concept_detectors",
     .assign = assign_field<&ConceptConfig::detector>},
    {.key = "params", .kind = ValueKind::text_list,
     .help = "\"name=value\" options of the detector (modelwatch detect --help lists them with their ranges)",
     .field = "ConceptConfig::params", .assign = assign_field<&ConceptConfig::params>},
};

const Option<AnomalyConfig> anomaly_options[] = {
    {.key = "detector", .kind = ValueKind::text, .default_text = "ensemble", .allow_empty = true,
     .help = "detector of the operational series; empty disables",
     .field = "AnomalyConfig::detector", .registry = "anomaly_detectors",
     .assign = assign_field<&AnomalyConfig::detector>},
    {.key = "params", .kind = ValueKind::text_list,
     .help = "\"name=value\" options of the detector (modelwatch anomaly --help lists them with their ranges)",
     .field = "AnomalyConfig::params", .assign = assign_field<&AnomalyConfig::params>},
    {.key = "threshold", .kind = ValueKind::number, .default_text = "0.99", .min_number = 0, .max_number = 1,
     .help = "anomaly score at or above which a point is a finding",
     .field = "AnomalyConfig::threshold", .assign = assign_field<&AnomalyConfig::threshold>},
};

// ---- models[].retrain --------------------------------------------------------

const Option<RetrainTriggerConfig> retrain_trigger_options[] = {
    {.key = "kind", .kind = ValueKind::name, .required = true, .max = 64,
     .help = "a finding kind whose triggered findings start a job, or manual", .field = "RetrainTriggerConfig::kind",
     .registry = "trigger_kinds", .assign = assign_field<&RetrainTriggerConfig::kind>},
    {.key = "for", .kind = ValueKind::duration, .default_text = "0", .min = 0, .max = 31u * 86'400'000u,
     .unit = "ms", .help = "the condition must hold this long before a job is queued",
     .field = "RetrainTriggerConfig::hold_ms", .assign = assign_field<&RetrainTriggerConfig::hold_ms>},
    {.key = "min_findings", .kind = ValueKind::integer, .default_text = "1", .min = 1, .max = 1000,
     .help = "triggered findings needed within that time",
     .field = "RetrainTriggerConfig::min_findings", .assign = assign_field<&RetrainTriggerConfig::min_findings>},
};

// ---- components chosen by a key of their section ------------------------------

// The keys of the component `name_node` names in `registry`, as "a <name> <noun>".
ComponentKeys chosen_component(const Reader& reader, std::string_view registry, const YAML::Node& name_node,
                               std::string_view noun, Settings& out) {
    ComponentKeys keys;
    keys.out = &out;
    const ComponentInfo* info = nullptr;
    if (reader.catalog() != nullptr && name_node.IsDefined() && name_node.IsScalar())
        info = reader.catalog()->find(registry, name_node.Scalar());
    if (info == nullptr) {
        keys.unchecked = true;  // no catalog, or a name the checks will report
        return keys;
    }
    const bool vowel = std::string_view("aeiou").find(info->name.front()) != std::string_view::npos;
    keys.owner = fmt::format("{} {} {}", vowel ? "an" : "a", info->name, noun);
    if (info->options != nullptr) keys.rows = info->options();
    return keys;
}

// A retrain section's runner: `runner:` when given, else the one rule of
// inference (documented on the runner row): the registered runner one of
// whose required keys is given. The inferred name is stored after reading.
struct ChosenRunner {
    ComponentKeys keys;
    std::string inferred;
};

ChosenRunner chosen_runner(Reader& reader, const YAML::Node& node, const std::string& path, RetrainConfig& retrain) {
    ChosenRunner chosen;
    chosen.keys.out = &retrain.runner_options;
    chosen.keys.unchecked = true;
    const Catalog* catalog = reader.catalog();
    if (catalog == nullptr || !node.IsMap()) return chosen;
    if (const YAML::Node given = node["runner"]; given.IsDefined()) {
        chosen.keys = chosen_component(reader, "retrain_runners", given, "runner", retrain.runner_options);
        return chosen;
    }
    std::vector<std::pair<const ComponentInfo*, std::string_view>> candidates;  // runner, its key given
    for (const auto& runner : catalog->retrain_runners) {
        if (runner.options == nullptr) continue;
        for (const auto& row : runner.options())
            if (row.required && node[std::string(row.key)].IsDefined()) {
                candidates.emplace_back(&runner, row.key);
                break;
            }
    }
    if (candidates.empty()) {  // retraining is off; a runner's optional key alone is unknown
        chosen.keys.unchecked = false;
        return chosen;
    }
    if (candidates.size() > 1) {
        std::string given;
        for (const auto& [runner, key] : candidates)
            given += fmt::format("{}{} ({})", given.empty() ? "" : ", ", key, runner->name);
        const std::string at = child_path(path, candidates[1].second);
        reader.error(at, line_of(node[std::string(candidates[1].second)]),
                     fmt::format("keys of more than one job runner given: {}; keep one, or choose with runner:",
                                 given));
        return chosen;
    }
    chosen.inferred = std::string(candidates[0].first->name);
    chosen.keys = chosen_component(reader, "retrain_runners", YAML::Node(chosen.inferred), "runner",
                                   retrain.runner_options);
    return chosen;
}

// A retrain section's hook keys: every registered hook's table (each hook
// declares its own keys, e.g. promote_command), read into hook_options.
// `rows` holds them for the read.
ComponentKeys hook_keys(const Reader& reader, RetrainConfig& retrain, std::vector<SettingRow>& rows) {
    ComponentKeys keys;
    keys.out = &retrain.hook_options;
    keys.unchecked = reader.catalog() == nullptr;
    if (keys.unchecked) return keys;
    for (const auto& hook : reader.catalog()->retrain_hooks)
        if (hook.options != nullptr)
            for (const auto& row : hook.options()) rows.push_back(row);
    keys.rows = rows;
    return keys;
}

const Option<RetrainConfig> retrain_options[] = {
    {.key = "runner", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "the job runner; its own keys (docs/monitoring.md, \"Retraining job runners\") go beside these. "
             "Default: the runner whose required key is given (command: exec, http_url: http_trigger); none "
             "given: retraining is off",
     .field = "RetrainConfig::runner", .registry = "retrain_runners", .assign = assign_field<&RetrainConfig::runner>},
    {.key = "triggers", .kind = ValueKind::mapping_list, .help = "which findings start a job",
     .field = "RetrainConfig::triggers",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       RetrainConfig& retrain) {
         read_mapping_list<RetrainTriggerConfig>(reader, node, path, line, retrain_trigger_options,
                                                 retrain.triggers);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<RetrainTriggerConfig>(prefix, retrain_trigger_options, out);
     }},
    {.key = "schedule", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "5-field cron expression: also retrain on this schedule (policy limits apply); empty: none",
     .field = "RetrainConfig::schedule", .assign = assign_field<&RetrainConfig::schedule>},
    {.key = "schedule_time_zone", .kind = ValueKind::text, .default_text = "UTC",
     .help = "IANA time zone the schedule is read in", .field = "RetrainConfig::schedule_time_zone",
     .assign = assign_field<&RetrainConfig::schedule_time_zone>},
    {.key = "dedup_key", .kind = ValueKind::text, .default_text = "{model}:{trigger}",
     .help = "jobs with the same key are not queued twice; {model} and {trigger} are replaced",
     .field = "RetrainConfig::dedup_key", .assign = assign_field<&RetrainConfig::dedup_key>},
    {.key = "cooldown", .kind = ValueKind::duration, .default_text = "1h", .min = 0, .max = 31u * 86'400'000u,
     .unit = "ms", .help = "after a job ends, no other starts for this model for this long",
     .field = "RetrainConfig::cooldown_ms", .assign = assign_field<&RetrainConfig::cooldown_ms>},
    {.key = "cooldown_windows", .kind = ValueKind::integer, .default_text = "0", .min = 0, .max = 1'000'000,
     .help = "and a finding starts one only when its window is this many windows past the last that closed "
             "before a job ended: a cooldown on the data's clock, the same however fast data and jobs go",
     .field = "RetrainConfig::cooldown_windows", .assign = assign_field<&RetrainConfig::cooldown_windows>},
    {.key = "daily_budget", .kind = ValueKind::integer, .default_text = "3", .min = 1, .max = 1000,
     .help = "most jobs started in any 24 hours", .field = "RetrainConfig::daily_budget",
     .assign = assign_field<&RetrainConfig::daily_budget>},
    {.key = "breaker_failures", .kind = ValueKind::integer, .default_text = "3", .min = 1, .max = 100,
     .help = "consecutive failed, timed out or rejected jobs that stop retraining and page a human",
     .field = "RetrainConfig::breaker_failures", .assign = assign_field<&RetrainConfig::breaker_failures>},
    {.key = "timeout", .kind = ValueKind::duration, .default_text = "30m", .min = 1000, .max = 7u * 86'400'000u,
     .unit = "ms", .help = "a job still running after this is killed (its whole process group)",
     .field = "RetrainConfig::timeout_ms", .assign = assign_field<&RetrainConfig::timeout_ms>},
    {.key = "data_rows", .kind = ValueKind::integer, .default_text = "20000", .min = 10, .max = 100'000'000,
     .help = "recent labelled predictions exported to the job (data.csv)", .field = "RetrainConfig::data_rows",
     .assign = assign_field<&RetrainConfig::data_rows>},
    {.key = "gate_metric", .kind = ValueKind::name, .default_text = "accuracy", .max = 64,
     .help = "the metric of the job's report that decides promotion", .field = "RetrainConfig::gate_metric",
     .assign = assign_field<&RetrainConfig::gate_metric>},
    {.key = "gate_higher_is_better", .kind = ValueKind::choice, .default_text = "true", .choices = boolean_choices,
     .help = "false for losses (log_loss, mae, ...)", .field = "RetrainConfig::gate_higher_is_better",
     .assign = assign_field<&RetrainConfig::gate_higher_is_better>},
    {.key = "gate_min_improvement", .kind = ValueKind::number, .default_text = "0.01", .max_number = 1e9,
     .help = "the challenger must beat the champion by at least this", .field = "RetrainConfig::gate_min_improvement",
     .assign = assign_field<&RetrainConfig::gate_min_improvement>},
    {.key = "probation_windows", .kind = ValueKind::integer, .default_text = "3", .min = 0, .max = 1000,
     .help = "windows after a promotion in which underperformance rolls back; 0 disables",
     .field = "RetrainConfig::probation_windows", .assign = assign_field<&RetrainConfig::probation_windows>},
    {.key = "probation_max_drop", .kind = ValueKind::number, .default_text = "0.02", .max_number = 1e9,
     .help = "roll back when the new model's realised gate metric is this much worse than validated",
     .field = "RetrainConfig::probation_max_drop", .assign = assign_field<&RetrainConfig::probation_max_drop>},
    {.key = "rebase_on_rejection", .kind = ValueKind::choice, .default_text = "false", .choices = boolean_choices,
     .help = "when the gate rejects a challenger, the served model's reference value of gate_metric (the base of "
             "performance.thresholds[].max_drop) becomes the champion's figure the job just measured on the newest "
             "labelled rows, until its next reference: a hard stretch no newer model beats stops starting jobs",
     .field = "RetrainConfig::rebase_on_rejection", .assign = assign_field<&RetrainConfig::rebase_on_rejection>},
};

// ---- models[].audits ---------------------------------------------------------

const Option<AuditConfig> audit_options[] = {
    {.key = "name", .kind = ValueKind::name, .required = true, .max = 64,
     .help = "the audit's name, unique within the model", .field = "AuditConfig::name",
     .assign = assign_field<&AuditConfig::name>},
    {.key = "schedule", .kind = ValueKind::text, .required = true,
     .help = "5-field cron expression (minute hour day-of-month month day-of-week)",
     .field = "AuditConfig::schedule", .assign = assign_field<&AuditConfig::schedule>},
    {.key = "time_zone", .kind = ValueKind::text, .default_text = "UTC",
     .help = "IANA time zone the schedule is read in", .field = "AuditConfig::time_zone",
     .assign = assign_field<&AuditConfig::time_zone>},
    {.key = "window", .kind = ValueKind::duration, .default_text = "168h", .min = 60, .max = 366u * 86400u,
     .unit = "s", .help = "the audit reads the joined records of this long before it runs",
     .field = "AuditConfig::window_s", .assign = assign_field<&AuditConfig::window_s>},
    {.key = "sensitive", .kind = ValueKind::name_list, .max = max_name_length_feature,
     .help = "sensitive attributes (from the predictions' attributes); their intersection is audited too",
     .field = "AuditConfig::sensitive", .assign = assign_field<&AuditConfig::sensitive>},
    {.key = "reference_groups", .kind = ValueKind::text_list,
     .help = "\"attribute=value\" per attribute; default: the largest group",
     .field = "AuditConfig::reference_groups", .assign = assign_field<&AuditConfig::reference_groups>},
    {.key = "min_group_size", .kind = ValueKind::integer, .default_text = "30", .min = 1, .max = 1'000'000,
     .help = "smaller groups are reported as too small", .field = "AuditConfig::min_group_size",
     .assign = assign_field<&AuditConfig::min_group_size>},
    {.key = "positive_label", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "the favourable outcome; empty: the first of prediction.classes",
     .field = "AuditConfig::positive_label", .assign = assign_field<&AuditConfig::positive_label>},
    {.key = "formats", .kind = ValueKind::name_list, .max = 8, .help = "report formats; default: every format",
     .field = "AuditConfig::formats", .registry = "report_formats", .assign = assign_field<&AuditConfig::formats>},
    {.key = "run_on_start", .kind = ValueKind::choice, .default_text = "false", .choices = boolean_choices,
     .help = "run once at the first start instead of waiting for the next slot",
     .field = "AuditConfig::run_on_start", .assign = assign_field<&AuditConfig::run_on_start>},
};

const Option<ModelOptions> model_options[] = {
    {.key = "name", .kind = ValueKind::name, .required = true, .max = max_name_length_model,
     .help = "model name, unique; used in URLs (/v1/models/<name>/...) and metric labels",
     .field = "ModelSchema::name",
     .assign = [](ModelOptions& model, const ParsedValue& value) {
         model.schema.name = std::get<std::string>(value);
     }},
    {.key = "prediction", .kind = ValueKind::mapping, .required = true,
     .help = "what the model predicts", .field = "ModelSchema::prediction_type, ModelSchema::classes",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         if (!node.IsMap()) {
             // Without a mapping there is no prediction type; say so rather than apply none.
             reader.error(path, line, node.IsSequence() ? "expected a mapping, got a sequence"
                                                        : "expected a mapping with a type");
             return;
         }
         read_mapping<ModelSchema>(reader, node, path, line, prediction_options, model.schema);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<ModelSchema>(prefix, prediction_options, out);
     }},
    {.key = "features", .kind = ValueKind::mapping_list,
     .help = "declared features; records may carry others (counted as schema drift)",
     .field = "ModelSchema::features",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         read_mapping_list<FeatureSpec>(reader, node, path, line, feature_options, model.schema.features);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<FeatureSpec>(prefix, feature_options, out);
     }},
    {.key = "attributes", .kind = ValueKind::name_list, .max = max_name_length_feature,
     .help = "segment and sensitive attributes (e.g. sex, region) for bias and fairness audits",
     .field = "ModelSchema::attributes",
     .assign = [](ModelOptions& model, const ParsedValue& value) {
         model.schema.attributes = std::get<std::vector<std::string>>(value);
     }},
    {.key = "tokens", .kind = ValueKind::mapping_list, .help = "bearer tokens valid for this model only",
     .field = "ModelOptions::tokens",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) { read_tokens(reader, node, path, line, model.tokens); },
     .describe_nested = describe_tokens},
    {.key = "reference", .kind = ValueKind::mapping, .help = "what normal means: the sample the detectors compare windows with", .field = "ModelOptions::reference",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         read_mapping<ReferenceOptions>(reader, node, path, line, reference_options, model.reference);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<ReferenceOptions>(prefix, reference_options, out);
     }},
    {.key = "window", .kind = ValueKind::mapping, .help = "the current window", .field = "ModelOptions::window",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         read_mapping<WindowOptions>(reader, node, path, line, window_options, model.window);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<WindowOptions>(prefix, window_options, out);
     }},
    {.key = "drift", .kind = ValueKind::mapping, .help = "data, prediction and multivariate drift", .field = "ModelOptions::drift",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         read_mapping<DriftConfig>(reader, node, path, line, drift_options, model.drift);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<DriftConfig>(prefix, drift_options, out);
     }},
    {.key = "performance", .kind = ValueKind::mapping, .help = "performance once outcomes arrive, estimated before", .field = "ModelOptions::performance",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         read_mapping<PerformanceConfig>(reader, node, path, line, performance_options, model.performance);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<PerformanceConfig>(prefix, performance_options, out);
     }},
    {.key = "concept_drift", .kind = ValueKind::mapping, .help = "streaming concept-drift detector on the per-record error", .field = "ModelOptions::concept_drift",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         read_mapping<ConceptConfig>(reader, node, path, line, concept_options, model.concept_drift);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<ConceptConfig>(prefix, concept_options, out);
     }},
    {.key = "anomaly", .kind = ValueKind::mapping, .help = "anomaly detection on the operational series", .field = "ModelOptions::anomaly",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         read_mapping<AnomalyConfig>(reader, node, path, line, anomaly_options, model.anomaly);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<AnomalyConfig>(prefix, anomaly_options, out);
     }},
    {.key = "retrain", .kind = ValueKind::mapping, .help = "self-healing retraining; off unless a job runner is chosen", .field = "ModelOptions::retrain",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         auto runner = chosen_runner(reader, node, path, model.retrain);
         std::vector<SettingRow> hook_rows;
         ComponentKeys components[] = {hook_keys(reader, model.retrain, hook_rows), std::move(runner.keys)};
         read_mapping<RetrainConfig>(reader, node, path, line, retrain_options, model.retrain, components);
         if (model.retrain.runner.empty()) model.retrain.runner = runner.inferred;
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<RetrainConfig>(prefix, retrain_options, out);
     }},
    {.key = "privacy", .kind = ValueKind::mapping,
     .help = "what is kept of each field before anything is stored: keep, drop, hash or generalise (docs/privacy.md)",
     .field = "ModelSchema::privacy", .read_nested = read_privacy, .describe_nested = describe_privacy},
    {.key = "store_raw", .kind = ValueKind::choice, .default_text = "true", .choices = boolean_choices,
     .help = "false: a profile-only model; its feature values are never stored, windows and the reference are "
             "judged from feature profiles (sketches); needs time windows (docs/privacy.md)",
     .field = "ModelOptions::store_raw", .assign = assign_field<&ModelOptions::store_raw>},
    {.key = "audits", .kind = ValueKind::mapping_list, .help = "scheduled fairness audits",
     .field = "ModelOptions::audits",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       ModelOptions& model) {
         read_mapping_list<AuditConfig>(reader, node, path, line, audit_options, model.audits);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<AuditConfig>(prefix, audit_options, out);
     }},
};

void check_models(Reader& reader, const std::vector<ModelOptions>& models) {
    if (models.empty() && !reader.has_error_within("models")) reader.error("models", reader.line_of("models"), "at least one model is required");
    for (std::size_t i = 0; i < models.size(); ++i) {
        const ModelSchema& schema = models[i].schema;
        const std::string path = fmt::format("models[{}]", i);
        for (std::size_t j = 0; j < i; ++j) {
            if (!schema.name.empty() && models[j].schema.name == schema.name) {
                reader.error(path + ".name", reader.line_of(path + ".name"),
                             fmt::format("duplicate model name \"{}\" (also models[{}], line {})", schema.name, j,
                                         reader.line_of(fmt::format("models[{}].name", j))));
                break;
            }
        }
        for (std::size_t f = 0; f < schema.features.size(); ++f) {
            for (std::size_t g = 0; g < f; ++g) {
                const std::string& name = schema.features[f].name;
                if (name.empty() || schema.features[g].name != name) continue;
                const std::string feature_path = fmt::format("{}.features[{}].name", path, f);
                reader.error(feature_path, reader.line_of(feature_path),
                             fmt::format("duplicate feature name \"{}\" (also features[{}], line {})", name, g,
                                         reader.line_of(fmt::format("{}.features[{}].name", path, g))));
                break;
            }
        }
        const std::string classes_path = path + ".prediction.classes";
        const std::size_t classes = schema.classes.size();
        if (classes == 0) continue;
        const auto type = schema.prediction_type;
        if (type == PredictionType::regression || type == PredictionType::score)
            reader.error(classes_path, reader.line_of(classes_path),
                         fmt::format("a {} model has no classes; remove the key", to_string(type)));
        else if (type == PredictionType::binary && classes != 2)
            reader.error(classes_path, reader.line_of(classes_path),
                         fmt::format("a binary model has exactly 2 classes, got {}", classes));
        else if (type == PredictionType::multiclass && classes < 2)
            reader.error(classes_path, reader.line_of(classes_path),
                         fmt::format("a multiclass model has at least 2 classes, got {}", classes));
    }
}

// ---- file_tails --------------------------------------------------------------

constexpr Choice record_kinds[] = {
    {"predictions", static_cast<int>(RecordKind::prediction)},
    {"outcomes", static_cast<int>(RecordKind::outcome)},
};

const Option<FileTailOptions> file_tail_options[] = {
    {.key = "path", .kind = ValueKind::path, .required = true,
     .help = "NDJSON file to follow; rotation (rename + new file) and truncation are followed",
     .field = "FileTailOptions::path", .assign = assign_field<&FileTailOptions::path>},
    {.key = "model", .kind = ValueKind::name, .required = true, .max = max_name_length_model,
     .help = "the declared model the records belong to",
     .field = "FileTailOptions::model", .assign = assign_field<&FileTailOptions::model>},
    {.key = "kind", .kind = ValueKind::choice, .default_text = "predictions", .choices = record_kinds,
     .help = "predictions or outcomes", .field = "FileTailOptions::kind",
     .assign = assign_field<&FileTailOptions::kind>},
    {.key = "poll_interval", .kind = ValueKind::duration, .default_text = "500ms", .min = 10,
     .max = 3'600'000, .unit = "ms", .help = "how often the file is checked for new lines and rotation",
     .field = "FileTailOptions::poll_interval_ms", .assign = assign_field<&FileTailOptions::poll_interval_ms>},
};

void check_file_tails(Reader& reader, const Config& config) {
    for (std::size_t i = 0; i < config.file_tails.size(); ++i) {
        const FileTailOptions& tail = config.file_tails[i];
        const std::string path = fmt::format("file_tails[{}]", i);
        if (!tail.model.empty() && config.find_model(tail.model) == nullptr)
            reader.error(path + ".model", reader.line_of(path + ".model"),
                         fmt::format("no model named \"{}\" is declared under models", tail.model));
        for (std::size_t j = 0; j < i; ++j) {
            if (tail.path.empty() || config.file_tails[j].path != tail.path) continue;
            // Two tails of one file would keep two checkpoints and read every line twice.
            reader.error(path + ".path", reader.line_of(path + ".path"),
                         fmt::format("duplicate path \"{}\" (also file_tails[{}])", tail.path, j));
            break;
        }
    }
}

// ---- nats ----------------------------------------------------------------------

const Option<NatsOptions> nats_options[] = {
    {.key = "servers", .kind = ValueKind::text_list, .required = true,
     .help = "URLs of the NATS servers (nats://host:port, or tls://host:port for TLS); the client reconnects to "
             "any of them",
     .field = "NatsOptions::servers", .assign = assign_field<&NatsOptions::servers>},
    {.key = "stream", .kind = ValueKind::name, .required = true, .max = 255,
     .help = "the JetStream stream holding the subjects below; the operator creates it (retention, storage and "
             "replicas are capacity decisions), the daemon does not",
     .field = "NatsOptions::stream", .assign = assign_field<&NatsOptions::stream>},
    {.key = "consumer", .kind = ValueKind::name, .default_text = "modelwatch", .max = 200,
     .help = "durable consumer name prefix: the daemon pulls from \"<consumer>-predictions\" and "
             "\"<consumer>-outcomes\" (created when missing); daemons naming the same consumer share the work",
     .field = "NatsOptions::consumer", .assign = assign_field<&NatsOptions::consumer>},
    {.key = "predictions_subject", .kind = ValueKind::text, .default_text = "modelwatch.predictions",
     .help = "predictions of model M are published on <predictions_subject>.M, a message's body as an HTTP "
             "ingest body (a JSON array or NDJSON)",
     .field = "NatsOptions::predictions_subject", .assign = assign_field<&NatsOptions::predictions_subject>},
    {.key = "outcomes_subject", .kind = ValueKind::text, .default_text = "modelwatch.outcomes",
     .help = "outcomes of model M are published on <outcomes_subject>.M",
     .field = "NatsOptions::outcomes_subject", .assign = assign_field<&NatsOptions::outcomes_subject>},
    {.key = "fetch_batch", .kind = ValueKind::integer, .default_text = "256", .min = 1, .max = 10000,
     .help = "most messages one pull request asks for; they are spooled together with one fdatasync",
     .field = "NatsOptions::fetch_batch", .assign = assign_field<&NatsOptions::fetch_batch>},
    {.key = "fetch_timeout", .kind = ValueKind::duration, .default_text = "1s", .min = 10, .max = 60'000,
     .unit = "ms", .help = "how long one pull request waits for messages",
     .field = "NatsOptions::fetch_timeout_ms", .assign = assign_field<&NatsOptions::fetch_timeout_ms>},
    {.key = "ack_wait", .kind = ValueKind::duration, .default_text = "30s", .min = 1000, .max = 3'600'000,
     .unit = "ms",
     .help = "AckWait of a consumer the daemon creates: a message not acknowledged this long after delivery is "
             "delivered again (to any daemon)",
     .field = "NatsOptions::ack_wait_ms", .assign = assign_field<&NatsOptions::ack_wait_ms>},
    {.key = "retry_delay", .kind = ValueKind::duration, .default_text = "5s", .min = 100, .max = 600'000,
     .unit = "ms",
     .help = "a message the spool could not take (full or failing) is handed back for redelivery after this",
     .field = "NatsOptions::retry_delay_ms", .assign = assign_field<&NatsOptions::retry_delay_ms>},
    {.key = "user", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "user name, with password_env; give at most one of user, creds_file and nkey",
     .field = "NatsOptions::user", .assign = assign_field<&NatsOptions::user>},
    {.key = "password_env", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "name of the environment variable holding the user's password (keeps secrets out of this file)",
     .field = "NatsOptions::password_env, NatsOptions::password",
     .assign = assign_field<&NatsOptions::password_env>},
    {.key = "creds_file", .kind = ValueKind::path, .default_text = "", .allow_empty = true,
     .help = "a NATS credentials file (user JWT and nkey seed), readable by the daemon",
     .field = "NatsOptions::creds_file", .assign = assign_field<&NatsOptions::creds_file>},
    {.key = "nkey", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "an nkey user's public key (U...), with nkey_seed_file",
     .field = "NatsOptions::nkey", .assign = assign_field<&NatsOptions::nkey>},
    {.key = "nkey_seed_file", .kind = ValueKind::path, .default_text = "", .allow_empty = true,
     .help = "the file holding the nkey user's seed (SU...), readable by the daemon",
     .field = "NatsOptions::nkey_seed_file", .assign = assign_field<&NatsOptions::nkey_seed_file>},
    {.key = "tls_ca_file", .kind = ValueKind::path, .default_text = "", .allow_empty = true,
     .help = "PEM file of the CAs trusted for the servers' certificates; setting it turns TLS on",
     .field = "NatsOptions::tls_ca_file", .assign = assign_field<&NatsOptions::tls_ca_file>},
    {.key = "tls_cert_file", .kind = ValueKind::path, .default_text = "", .allow_empty = true,
     .help = "PEM client certificate, with tls_key_file, for servers that verify clients",
     .field = "NatsOptions::tls_cert_file", .assign = assign_field<&NatsOptions::tls_cert_file>},
    {.key = "tls_key_file", .kind = ValueKind::path, .default_text = "", .allow_empty = true,
     .help = "PEM private key of tls_cert_file",
     .field = "NatsOptions::tls_key_file", .assign = assign_field<&NatsOptions::tls_key_file>},
};

// Why `subject` cannot be a subject prefix ("" when it can): dot-separated
// tokens of printable characters, no wildcards (the model is the one token after it).
std::string nats_subject_problem(std::string_view subject) {
    if (subject.empty()) return "must not be empty";
    std::size_t token_start = 0;
    for (std::size_t i = 0; i <= subject.size(); ++i) {
        if (i == subject.size() || subject[i] == '.') {
            if (i == token_start) return fmt::format("\"{}\" has an empty token", subject);
            token_start = i + 1;
            continue;
        }
        const char c = subject[i];
        if (c == '*' || c == '>')
            return fmt::format("\"{}\" must not hold wildcards (the model is the token after it)", subject);
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            return fmt::format("\"{}\" must not hold spaces or control characters", subject);
    }
    return {};
}

void check_nats(Reader& reader, const Environment& environment, std::optional<NatsOptions>& nats) {
    if (!nats || reader.has_error_within("nats")) return;
    const auto fail = [&](const std::string& key, std::string message) {
        reader.error("nats." + key, reader.line_of("nats." + key), std::move(message));
    };
    if (nats->servers.empty()) fail("servers", "at least one server URL is required");
    for (const auto& url : nats->servers) {
        const bool known_scheme = url.starts_with("nats://") || url.starts_with("tls://");
        if (!known_scheme || url.find("://") + 3 == url.size())
            fail("servers", fmt::format("expected nats://host:port or tls://host:port, got \"{}\"", url));
    }
    // JetStream names become subject tokens: no '.' in them.
    if (nats->stream.find('.') != std::string::npos)
        fail("stream", fmt::format("a stream name cannot hold '.', got \"{}\"", nats->stream));
    if (nats->consumer.find('.') != std::string::npos)
        fail("consumer", fmt::format("a consumer name cannot hold '.', got \"{}\"", nats->consumer));
    for (const auto& [key, subject] : {std::pair<std::string, const std::string&>{"predictions_subject",
                                                                                   nats->predictions_subject},
                                       {"outcomes_subject", nats->outcomes_subject}})
        if (auto problem = nats_subject_problem(subject); !problem.empty()) fail(key, std::move(problem));
    if (nats->predictions_subject == nats->outcomes_subject)
        fail("outcomes_subject", "must differ from predictions_subject");

    const int methods = !nats->user.empty() + !nats->creds_file.empty() + !nats->nkey.empty();
    if (methods > 1) fail("user", "give at most one of user, creds_file and nkey");
    if (nats->user.empty() != nats->password_env.empty())
        fail(nats->user.empty() ? "password_env" : "user", "user and password_env go together");
    if (nats->nkey.empty() != nats->nkey_seed_file.empty())
        fail(nats->nkey.empty() ? "nkey_seed_file" : "nkey", "nkey and nkey_seed_file go together");
    if (!nats->nkey.empty() && (nats->nkey.size() != 56 || nats->nkey.front() != 'U'))
        fail("nkey", "expected a user's public nkey (56 characters starting with U)");
    if (nats->tls_cert_file.empty() != nats->tls_key_file.empty())
        fail(nats->tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file",
             "tls_cert_file and tls_key_file go together");
    for (const auto& [key, file] : {std::pair<std::string, const std::string&>{"creds_file", nats->creds_file},
                                    {"nkey_seed_file", nats->nkey_seed_file},
                                    {"tls_ca_file", nats->tls_ca_file},
                                    {"tls_cert_file", nats->tls_cert_file},
                                    {"tls_key_file", nats->tls_key_file}})
        if (!file.empty() && ::access(file.c_str(), R_OK) != 0)
            fail(key, fmt::format("\"{}\" is not a readable file here: {}", file, std::strerror(errno)));
    if (!nats->password_env.empty()) {
        if (!is_environment_name(nats->password_env)) {
            fail("password_env", fmt::format("expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), "
                                             "got \"{}\"",
                                             nats->password_env));
            return;
        }
        const auto value = environment ? environment(nats->password_env) : std::nullopt;
        if (!value || value->empty())
            fail("password_env", fmt::format("environment variable {} is not set or is empty", nats->password_env));
        else
            nats->password = *value;
    }
}

// ---- alerting, monitor -------------------------------------------------------


const Option<ReceiverConfig> receiver_options[] = {
    {.key = "name", .kind = ValueKind::name, .required = true, .max = 64, .help = "the receiver's name, unique",
     .field = "ReceiverConfig::name", .assign = assign_field<&ReceiverConfig::name>},
    {.key = "type", .kind = ValueKind::name, .required = true, .max = 64,
     .help = "the alert sink that delivers to this receiver; its own keys (docs/monitoring.md, \"Alert sinks\") "
             "go beside these",
     .field = "ReceiverConfig::type",
     .registry = "alert_sinks", .assign = assign_field<&ReceiverConfig::type>},
    {.key = "timeout", .kind = ValueKind::duration, .default_text = "10s", .min = 100, .max = 600'000, .unit = "ms",
     .help = "time allowed for one delivery", .field = "ReceiverConfig::timeout_ms",
     .assign = assign_field<&ReceiverConfig::timeout_ms>},
    {.key = "max_per_minute", .kind = ValueKind::integer, .default_text = "60", .min = 1, .max = 100000,
     .help = "deliveries per minute at most; the rest wait", .field = "ReceiverConfig::max_per_minute",
     .assign = assign_field<&ReceiverConfig::max_per_minute>},
};

const Option<AlertingConfig> alerting_options[] = {
    {.key = "external_url", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "how people reach this daemon (e.g. https://modelwatch.example:8470), for links in alerts",
     .field = "AlertingConfig::external_url", .assign = assign_field<&AlertingConfig::external_url>},
    {.key = "resend_interval", .kind = ValueKind::duration, .default_text = "5m", .min = 1000,
     .max = 86'400'000, .unit = "ms", .help = "a firing alert is re-sent to Alertmanager this often",
     .field = "AlertingConfig::resend_interval_ms", .assign = assign_field<&AlertingConfig::resend_interval_ms>},
    {.key = "runbook_url", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "runbook link in every alert; {model} and {kind} are replaced",
     .field = "AlertingConfig::runbook_url", .assign = assign_field<&AlertingConfig::runbook_url>},
    {.key = "kinds", .kind = ValueKind::name_list, .max = 64,
     .help = "finding kinds that alert; default: those marked \"alerts by default\" in docs/monitoring.md",
     .field = "AlertingConfig::kinds", .registry = "finding_kinds", .assign = assign_field<&AlertingConfig::kinds>},
    {.key = "receivers", .kind = ValueKind::mapping_list, .help = "where alerts go",
     .field = "AlertingConfig::receivers",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       AlertingConfig& alerting) {
         read_mapping_list<ReceiverConfig>(reader, node, path, line, receiver_options, alerting.receivers,
                                           [](Reader& element_reader, const YAML::Node& element,
                                              ReceiverConfig& receiver) {
                                               return chosen_component(element_reader, "alert_sinks",
                                                                       element["type"], "receiver", receiver.options);
                                           });
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<ReceiverConfig>(prefix, receiver_options, out);
     }},
};

const Option<MonitorOptions> monitor_options[] = {
    {.key = "interval", .kind = ValueKind::duration, .default_text = "1s", .min = 10, .max = 3'600'000,
     .unit = "ms", .help = "how often windows, alerts, jobs and audits are looked at",
     .field = "MonitorOptions::interval_ms", .assign = assign_field<&MonitorOptions::interval_ms>},
    {.key = "max_concurrent_jobs", .kind = ValueKind::integer, .default_text = "1", .min = 1, .max = 1000,
     .help = "retraining jobs running at once over all models (and all daemons sharing the database)",
     .field = "MonitorOptions::max_concurrent_jobs", .assign = assign_field<&MonitorOptions::max_concurrent_jobs>},
    {.key = "progress_timeout", .kind = ValueKind::duration, .default_text = "5m", .min = 100, .max = 3'600'000,
     .unit = "ms",
     .help = "a worker whose pass reaches no safe point (window, stage of a window) for this long is stuck: "
             "reported in the log and /readyz, and systemd's watchdog is no longer fed",
     .field = "MonitorOptions::progress_timeout_ms", .assign = assign_field<&MonitorOptions::progress_timeout_ms>},
    {.key = "jobs_dir", .kind = ValueKind::path, .default_text = "", .allow_empty = true,
     .help = "where job directories are made; empty means <state_dir>/jobs",
     .field = "MonitorOptions::jobs_dir", .assign = assign_field<&MonitorOptions::jobs_dir>},
    {.key = "reports_dir", .kind = ValueKind::path, .default_text = "", .allow_empty = true,
     .help = "where audit reports are written; empty means <state_dir>/reports",
     .field = "MonitorOptions::reports_dir", .assign = assign_field<&MonitorOptions::reports_dir>},
};

// Ages are in seconds; "0 = forever" is spelled out in every help text
// because a 0 that deleted everything would be the worst possible surprise.
const Option<RetentionOptions> retention_options[] = {
    {.key = "interval", .kind = ValueKind::duration, .default_text = "1h", .min = 1000, .max = 86'400'000,
     .unit = "ms", .help = "how often the retention pass runs",
     .field = "RetentionOptions::interval_ms", .assign = assign_field<&RetentionOptions::interval_ms>},
    {.key = "predictions", .kind = ValueKind::duration, .default_text = "14d", .min = 0, .max = 36'600 * 86'400ull,
     .unit = "s",
     .help = "raw predictions (whole day partitions are dropped), their outcomes and rejection counts; 0 = forever",
     .field = "RetentionOptions::predictions_s", .assign = assign_field<&RetentionOptions::predictions_s>},
    {.key = "findings", .kind = ValueKind::duration, .default_text = "90d", .min = 0, .max = 36'600 * 86'400ull,
     .unit = "s", .help = "findings and decisions; 0 = forever",
     .field = "RetentionOptions::findings_s", .assign = assign_field<&RetentionOptions::findings_s>},
    {.key = "windows", .kind = ValueKind::duration, .default_text = "90d", .min = 0, .max = 36'600 * 86'400ull,
     .unit = "s", .help = "closed windows and their metrics; 0 = forever",
     .field = "RetentionOptions::windows_s", .assign = assign_field<&RetentionOptions::windows_s>},
    {.key = "alert_deliveries", .kind = ValueKind::duration, .default_text = "30d", .min = 0,
     .max = 36'600 * 86'400ull, .unit = "s", .help = "delivered or abandoned alert deliveries; 0 = forever",
     .field = "RetentionOptions::alert_deliveries_s", .assign = assign_field<&RetentionOptions::alert_deliveries_s>},
    {.key = "jobs", .kind = ValueKind::duration, .default_text = "30d", .min = 0, .max = 36'600 * 86'400ull,
     .unit = "s", .help = "finished retraining jobs with their transitions and job directories; 0 = forever",
     .field = "RetentionOptions::jobs_s", .assign = assign_field<&RetentionOptions::jobs_s>},
    {.key = "audits", .kind = ValueKind::duration, .default_text = "365d", .min = 0, .max = 36'600 * 86'400ull,
     .unit = "s", .help = "finished fairness audits and their report files; 0 = forever",
     .field = "RetentionOptions::audits_s", .assign = assign_field<&RetentionOptions::audits_s>},
};

const Option<ClusterOptions> cluster_options[] = {
    {.key = "daemon_id", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "this daemon's name in the leases (letters, digits, '_', '.', '-'); empty means <hostname>-<pid>, "
             "a new identity per process; two live daemons must never share one",
     .field = "ClusterOptions::daemon_id", .assign = assign_field<&ClusterOptions::daemon_id>},
    {.key = "lease", .kind = ValueKind::duration, .default_text = "5s", .min = 1000, .max = 600'000, .unit = "ms",
     .help = "a model's lease lasts this long past its owner's last heartbeat; a dead owner's models move after it",
     .field = "ClusterOptions::lease_ms", .assign = assign_field<&ClusterOptions::lease_ms>},
    {.key = "heartbeat", .kind = ValueKind::duration, .default_text = "1s", .min = 100, .max = 300'000, .unit = "ms",
     .help = "how often a daemon renews its leases, gives up those beyond its share and claims free ones; "
             "less than half the lease",
     .field = "ClusterOptions::heartbeat_ms", .assign = assign_field<&ClusterOptions::heartbeat_ms>},
};

void check_cluster(Reader& reader, const ClusterOptions& cluster) {
    // Two heartbeats per lease at least, so one late or failed heartbeat
    // does not lose every lease.
    if (2ull * cluster.heartbeat_ms >= cluster.lease_ms)
        reader.error("cluster.heartbeat", reader.line_of("cluster.heartbeat"),
                     fmt::format("must be less than half of cluster.lease ({}ms), got {}ms", cluster.lease_ms,
                                 cluster.heartbeat_ms));
    if (!cluster.daemon_id.empty() && !is_valid_name(cluster.daemon_id, 200))
        reader.error("cluster.daemon_id", reader.line_of("cluster.daemon_id"),
                     fmt::format("expected a name of letters, digits, '_', '.', '-' (at most 200), got \"{}\"",
                                 cluster.daemon_id));
}

// Reports `name` at `key` when the registry `registry` lacks it (the
// catalog's names, or core's finding kinds without a catalog); true when known.
bool check_name(Reader& reader, const Catalog* catalog, std::string_view registry, std::string_view what,
                const std::string& key, std::string_view name) {
    std::vector<std::string_view> names;
    if (catalog != nullptr)
        names = catalog->names(registry);
    else if (registry == "finding_kinds")
        names = Catalog{}.names(registry);
    else if (registry == "trigger_kinds")
        names = trigger_kind_names();
    else
        return true;  // no catalog: the component names are not checked
    if (std::find(names.begin(), names.end(), name) != names.end()) return true;
    reader.error(key, reader.line_of(key), unknown_component(what, name, std::span<const std::string_view>(names)));
    return false;
}

// Validates "key=value" options of a registered component; every problem at `key`.
void check_settings(Reader& reader, const ComponentInfo& component, const std::string& key,
                    const std::vector<std::string>& params) {
    for (auto& error : configure(component, params).errors) reader.error(key, reader.line_of(key), std::move(error));
}

// A cron expression and the time zone it is read in (retrain.schedule,
// audits[].schedule), checked by the code that will run them (core/).
void check_schedule(Reader& reader, const std::string& cron_key, const std::string& cron,
                    const std::string& zone_key, const std::string& zone) {
    if (!cron.empty())
        if (auto parsed = parse_cron(cron); !parsed.ok())
            reader.error(cron_key, reader.line_of(cron_key),
                         fmt::format("\"{}\" is not a cron expression: {}", cron, parsed.error));
    if (auto loaded = TimeZone::load(zone); !loaded.zone)
        reader.error(zone_key, reader.line_of(zone_key), std::move(loaded.error));
}

// The first word of an argv is run without PATH search: it must be an
// absolute path to an executable file on this machine.
// Checked only with a catalog, i.e. as the daemon would on this machine.
void check_program(Reader& reader, const Catalog* catalog, const std::string& key,
                   const std::vector<std::string>& argv) {
    if (catalog == nullptr || argv.empty()) return;
    const std::string& program = argv.front();
    const std::string at = key + "[0]";
    if (!program.starts_with('/'))
        reader.error(at, reader.line_of(key), fmt::format("\"{}\" must be an absolute path (no PATH search)", program));
    else if (::access(program.c_str(), X_OK) != 0)
        reader.error(at, reader.line_of(key),
                     fmt::format("\"{}\" is not an executable file here: {}", program, std::strerror(errno)));
}

// What a component's keys name outside the file: each argv's program must
// be an executable here (check_program), and each environment variable set;
// its value is read into `values` by option key.
void check_component_values(Reader& reader, const Catalog* catalog, const Environment& environment,
                            const std::string& path, const Settings& options,
                            std::map<std::string, std::string>* values) {
    for (const auto& item : options.items()) {
        const std::string key = child_path(path, item.key);
        if (item.kind == ValueKind::argv) {
            check_program(reader, catalog, key, std::get<std::vector<std::string>>(item.value));
        } else if (item.kind == ValueKind::environment && values != nullptr) {
            const auto value = environment ? environment(item.text) : std::nullopt;
            if (!value || value->empty())
                reader.error(key, reader.line_of(key),
                             fmt::format("environment variable {} is not set or is empty", item.text));
            else
                (*values)[item.key] = *value;
        }
    }
}

void check_monitoring(Reader& reader, const Environment& environment, const Catalog* catalog, Config& config) {
    for (std::size_t i = 0; i < config.models.size(); ++i) {
        ModelOptions& model = config.models[i];
        const ModelSchema& schema = model.schema;
        const std::string path = fmt::format("models[{}]", i);
        const auto at = [&](const std::string& key) { return reader.line_of(path + "." + key); };
        const auto fail = [&](const std::string& key, std::string message) {
            reader.error(path + "." + key, at(key), std::move(message));
        };
        const auto is_attribute = [&](const std::string& name) {
            return std::find(schema.attributes.begin(), schema.attributes.end(), name) != schema.attributes.end();
        };
        for (const auto& attribute : schema.attributes)
            if (schema.feature_index(attribute) >= 0)
                fail("attributes", fmt::format("\"{}\" is also a feature name; segment verdicts need them distinct",
                                               attribute));
        const auto& reference = model.reference;
        if (reference.source == ReferenceSource::time_range) {
            const auto start = parse_rfc3339_us(reference.start);
            const auto end = parse_rfc3339_us(reference.end);
            if (!start) fail("reference.start", fmt::format("expected an RFC 3339 time, got \"{}\"", reference.start));
            if (!end) fail("reference.end", fmt::format("expected an RFC 3339 time, got \"{}\"", reference.end));
            if (start && end && *end <= *start) fail("reference.end", "must be after reference.start");
        } else if (!reference.start.empty() || !reference.end.empty()) {
            fail("reference.start", "start and end apply only to source: time_range");
        }
        if (model.window.step_rows > model.window.rows)
            fail("window.step", fmt::format("must be at most window.rows ({})", model.window.rows));
        check_name(reader, catalog, "drift_methods", "drift method", path + ".drift.method", model.drift.method);
        check_name(reader, catalog, "drift_modes", "drift mode", path + ".drift.mode", model.drift.mode);
        check_name(reader, catalog, "corrections", "correction", path + ".drift.correction", model.drift.correction);
        for (const auto& segment : model.drift.segments)
            if (!is_attribute(segment))
                fail("drift.segments", fmt::format("\"{}\" is not one of the model's attributes", segment));
        for (std::size_t f = 0; f < model.drift.features.size(); ++f) {
            const auto& override_ = model.drift.features[f];
            const std::string key = fmt::format("drift.features[{}]", f);
            if (schema.feature_index(override_.name) < 0 && override_.name != "score" && override_.name != "prediction")
                fail(key + ".name", fmt::format("\"{}\" is not a declared feature (nor score or prediction)",
                                                override_.name));
            check_name(reader, catalog, "drift_methods", "drift method", path + "." + key + ".method",
                       override_.method);
        }
        if (!model.performance.positive_class.empty() && !schema.classes.empty() &&
            std::find(schema.classes.begin(), schema.classes.end(), model.performance.positive_class) ==
                schema.classes.end())
            fail("performance.positive_class",
                 fmt::format("\"{}\" is not one of prediction.classes", model.performance.positive_class));
        for (std::size_t t = 0; t < model.performance.thresholds.size(); ++t) {
            const auto& threshold = model.performance.thresholds[t];
            const std::string key = fmt::format("performance.thresholds[{}]", t);
            check_name(reader, catalog, "performance_metrics", "performance metric", path + "." + key + ".metric",
                       threshold.metric);
            if (!threshold.min && !threshold.max && !threshold.max_drop)
                fail(key, "give at least one of min, max or max_drop");
        }
        const auto& concept_ = model.concept_drift;
        if (concept_.detector.empty()) {
            if (!concept_.params.empty()) fail("concept_drift.params", "no detector to give options to");
        } else if (check_name(reader, catalog, "concept_detectors", "concept detector",
                              path + ".concept_drift.detector", concept_.detector) &&
                   catalog != nullptr) {
            check_settings(reader, *catalog->find("concept_detectors", concept_.detector),
                           path + ".concept_drift.params", concept_.params);
        }
        const auto& anomaly = model.anomaly;
        if (anomaly.detector.empty()) {
            if (!anomaly.params.empty()) fail("anomaly.params", "no detector to give options to");
        } else if (check_name(reader, catalog, "anomaly_detectors", "anomaly detector", path + ".anomaly.detector",
                              anomaly.detector) &&
                   catalog != nullptr) {
            check_settings(reader, *catalog->find("anomaly_detectors", anomaly.detector), path + ".anomaly.params",
                           anomaly.params);
        }
        auto& retrain = model.retrain;
        if (retrain.enabled() &&
            check_name(reader, catalog, "retrain_runners", "job runner", path + ".retrain.runner", retrain.runner))
            check_component_values(reader, catalog, environment, path + ".retrain", retrain.runner_options, nullptr);
        if (retrain.enabled() && retrain.triggers.empty() && retrain.schedule.empty())
            fail("retrain.triggers", "a retraining job needs at least one trigger or a schedule");
        for (std::size_t t = 0; t < retrain.triggers.size(); ++t)
            check_name(reader, catalog, "trigger_kinds", "trigger kind",
                       fmt::format("{}.retrain.triggers[{}].kind", path, t), retrain.triggers[t].kind);
        if (retrain.enabled() && !retrain.schedule.empty())
            check_schedule(reader, path + ".retrain.schedule", retrain.schedule,
                           path + ".retrain.schedule_time_zone", retrain.schedule_time_zone);
        check_component_values(reader, catalog, environment, path + ".retrain", retrain.hook_options, nullptr);
        if (retrain.rebase_on_rejection) {
            // It moves the base of a max_drop on the gate's metric, so there
            // must be a gate (a runner) and such a threshold to move.
            const auto& thresholds = model.performance.thresholds;
            const bool has_drop = std::any_of(thresholds.begin(), thresholds.end(), [&](const auto& threshold) {
                return threshold.metric == retrain.gate_metric && threshold.max_drop;
            });
            if (!retrain.enabled())
                fail("retrain.rebase_on_rejection", "re-bases after the gate rejects a job's challenger, and "
                                                    "retraining is off (no runner: command or http_url)");
            else if (!has_drop)
                fail("retrain.rebase_on_rejection",
                     fmt::format("re-bases the reference value that performance.thresholds[].max_drop drops from, "
                                 "and no threshold of the gate's metric \"{}\" has a max_drop",
                                 retrain.gate_metric));
        }
        for (std::size_t a = 0; a < model.audits.size(); ++a) {
            const auto& audit = model.audits[a];
            const std::string key = fmt::format("audits[{}]", a);
            for (std::size_t b = 0; b < a; ++b)
                if (model.audits[b].name == audit.name) fail(key + ".name", "duplicate audit name \"" + audit.name + "\"");
            if (audit.sensitive.empty()) fail(key + ".sensitive", "at least one sensitive attribute is required");
            for (const auto& attribute : audit.sensitive)
                if (!is_attribute(attribute))
                    fail(key + ".sensitive", fmt::format("\"{}\" is not one of the model's attributes", attribute));
            for (const auto& group : audit.reference_groups) {
                const auto equals = group.find('=');
                if (equals == std::string::npos || equals == 0 || equals + 1 == group.size() ||
                    std::find(audit.sensitive.begin(), audit.sensitive.end(), group.substr(0, equals)) ==
                        audit.sensitive.end())
                    fail(key + ".reference_groups",
                         fmt::format("expected \"attribute=value\" with a sensitive attribute, got \"{}\"", group));
            }
            for (const auto& format : audit.formats)
                check_name(reader, catalog, "report_formats", "report format", path + "." + key + ".formats", format);
            check_schedule(reader, path + "." + key + ".schedule", audit.schedule,
                           path + "." + key + ".time_zone", audit.time_zone);
            if (schema.classes.empty() && audit.positive_label.empty())
                fail(key + ".positive_label", "required when prediction.classes is not declared");
            // An audit reads raw joined records; retention must not drop them first.
            const auto kept_s = config.retention.predictions_s;
            if (kept_s != 0 && audit.window_s > kept_s)
                fail(key + ".window",
                     fmt::format("reads {} of records but retention.predictions keeps only {}",
                                 format_duration(audit.window_s, "s"), format_duration(kept_s, "s")));
        }
    }
    auto& alerting = config.alerting;
    for (const auto& kind : alerting.kinds)
        check_name(reader, catalog, "finding_kinds", "finding kind", "alerting.kinds", kind);
    for (std::size_t r = 0; r < alerting.receivers.size(); ++r) {
        auto& receiver = alerting.receivers[r];
        const std::string path = fmt::format("alerting.receivers[{}]", r);
        const auto fail = [&](const std::string& key, std::string message) {
            reader.error(path + "." + key, reader.line_of(path + "." + key), std::move(message));
        };
        for (std::size_t q = 0; q < r; ++q)
            if (alerting.receivers[q].name == receiver.name) fail("name", "duplicate receiver name \"" + receiver.name + "\"");
        if (check_name(reader, catalog, "alert_sinks", "alert sink", path + ".type", receiver.type))
            check_component_values(reader, catalog, environment, path, receiver.options, &receiver.environment);
    }
    if (config.monitor.jobs_dir.empty()) config.monitor.jobs_dir = config.state_dir + "/jobs";
    if (config.monitor.reports_dir.empty()) config.monitor.reports_dir = config.state_dir + "/reports";
}

// ---- the document root -------------------------------------------------------

const Option<Config> root_options[] = {
    {.key = "state_dir", .kind = ValueKind::path, .default_text = "/var/lib/modelwatch",
     .help = "directory of the daemon's own state (spool, checkpoints); systemd's StateDirectory",
     .field = "Config::state_dir", .assign = assign_field<&Config::state_dir>},
    {.key = "server", .kind = ValueKind::mapping, .help = "the HTTP server", .field = "Config::server",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping<ServerOptions>(reader, node, path, line, server_options, config.server);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<ServerOptions>(prefix, server_options, out);
     }},
    {.key = "store", .kind = ValueKind::mapping, .help = "PostgreSQL", .field = "Config::store",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping<StoreOptions>(reader, node, path, line, store_options, config.store);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<StoreOptions>(prefix, store_options, out);
     }},
    {.key = "spool", .kind = ValueKind::mapping,
     .help = "the local spool that makes an acknowledged record durable", .field = "Config::spool",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping<SpoolOptions>(reader, node, path, line, spool_options, config.spool);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<SpoolOptions>(prefix, spool_options, out);
     }},
    {.key = "log", .kind = ValueKind::mapping, .help = "logging", .field = "Config::log",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping<LogOptions>(reader, node, path, line, log_options, config.log);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<LogOptions>(prefix, log_options, out);
     }},
    {.key = "models", .kind = ValueKind::mapping_list, .help = "the monitored models (at least one)",
     .field = "Config::models",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping_list<ModelOptions>(reader, node, path, line, model_options, config.models);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<ModelOptions>(prefix, model_options, out);
     }},
    {.key = "file_tails", .kind = ValueKind::mapping_list, .help = "NDJSON files to ingest records from",
     .field = "Config::file_tails",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping_list<FileTailOptions>(reader, node, path, line, file_tail_options, config.file_tails);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<FileTailOptions>(prefix, file_tail_options, out);
     }},
    {.key = "nats", .kind = ValueKind::mapping,
     .help = "predictions and outcomes pulled from NATS JetStream (absent: none)", .field = "Config::nats",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         if (!node.IsDefined() || node.IsNull()) return;
         read_mapping<NatsOptions>(reader, node, path, line, nats_options, config.nats.emplace());
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<NatsOptions>(prefix, nats_options, out);
     }},
    {.key = "monitor", .kind = ValueKind::mapping, .help = "the monitoring loop", .field = "Config::monitor",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping<MonitorOptions>(reader, node, path, line, monitor_options, config.monitor);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<MonitorOptions>(prefix, monitor_options, out);
     }},
    {.key = "alerting", .kind = ValueKind::mapping, .help = "alerts to on-call", .field = "Config::alerting",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping<AlertingConfig>(reader, node, path, line, alerting_options, config.alerting);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<AlertingConfig>(prefix, alerting_options, out);
     }},
    {.key = "retention", .kind = ValueKind::mapping, .help = "how long stored data is kept (docs/retention.md)",
     .field = "Config::retention",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping<RetentionOptions>(reader, node, path, line, retention_options, config.retention);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<RetentionOptions>(prefix, retention_options, out);
     }},
    {.key = "cluster", .kind = ValueKind::mapping,
     .help = "several daemons on one database: model leases (docs/scaling.md)", .field = "Config::cluster",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line, Config& config) {
         read_mapping<ClusterOptions>(reader, node, path, line, cluster_options, config.cluster);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<ClusterOptions>(prefix, cluster_options, out);
     }},
};

// A profile-only model (store_raw: false) is judged from the feature profiles
// the store writer keeps per time bucket (store/profile_writer.h): what needs
// joint rows or every raw value, or whose verdict from profiles measured
// below issue 18's bar (detectors/profile_drift.h, profile_verdict_gaps), is
// refused here, naming the key and why, rather than silently not run or
// judged worse than the docs say.
void check_profile_only(Reader& reader, const Catalog* catalog, const std::vector<ModelOptions>& models) {
    for (std::size_t i = 0; i < models.size(); ++i) {
        const ModelOptions& model = models[i];
        if (model.store_raw) continue;
        const std::string path = fmt::format("models[{}]", i);
        const auto fail = [&](const std::string& key, std::string message) {
            const std::string full = path + "." + key;
            reader.error(full, reader.given(full) ? reader.line_of(full) : reader.line_of(path + ".store_raw"),
                         "store_raw is false: " + std::move(message));
        };
        if (model.window.duration_ms == 0)
            fail("window.duration",
                 "a profile-only model needs time windows: its features are profiled per time bucket as rows are "
                 "stored, and the rows of a count window are only known once later rows arrived, after their "
                 "features were discarded");
        if (model.reference.source == ReferenceSource::upload)
            fail("reference.source",
                 "an uploaded reference keeps raw rows; a profile-only model takes its reference from its own "
                 "stored profiles (first_rows or time_range)");
        if (model.drift.multivariate && reader.given(path + ".drift.multivariate"))
            fail("drift.multivariate",
                 "the PCA reconstruction error needs every row's features together, which profiles do not keep; "
                 "set it to false (it is not computed for a profile-only model)");
        if (catalog == nullptr || catalog->drift_method_not_from_profiles == nullptr) continue;
        // The model's method judges the features of each kind that no
        // drift.features[] entry names: an entry's method, "auto" when it
        // gives none, replaces the model's (daemon/detector_options.cpp).
        const auto own_method = [&](const FeatureSpec& feature) {
            return std::any_of(model.drift.features.begin(), model.drift.features.end(),
                               [&](const FeatureDriftOverride& override_) { return override_.name == feature.name; });
        };
        for (const bool numeric : {true, false}) {
            const bool any = std::any_of(model.schema.features.begin(), model.schema.features.end(),
                                         [&](const FeatureSpec& feature) {
                                             return (feature.type == FeatureType::numeric) == numeric &&
                                                    !own_method(feature);
                                         });
            if (!any) continue;
            if (auto reason = catalog->drift_method_not_from_profiles(model.drift.method, model.drift.mode, numeric);
                !reason.empty()) {
                // "auto" is refused for the mode's selection, not for a method written.
                fail(model.drift.method == "auto" ? "drift.mode" : "drift.method", std::move(reason));
                break;
            }
        }
        for (std::size_t f = 0; f < model.drift.features.size(); ++f) {
            const auto& override_ = model.drift.features[f];
            const int index = model.schema.feature_index(override_.name);
            if (index < 0) continue;
            const bool numeric = model.schema.features[static_cast<std::size_t>(index)].type == FeatureType::numeric;
            if (auto reason = catalog->drift_method_not_from_profiles(override_.method, model.drift.mode, numeric);
                !reason.empty())
                fail(fmt::format("drift.features[{}].method", f), std::move(reason));
        }
    }
}

}  // namespace

void read_config(Reader& reader, const YAML::Node& root, const Environment& environment, Config& out) {
    const Catalog* catalog = reader.catalog();
    read_mapping<Config>(reader, root, "", 1, root_options, out);
    if (root.IsDefined() && !root.IsNull() && !root.IsMap()) return;  // already reported: nothing more to check
    check_server(reader, out.server);
    check_store(reader, environment, out.store);
    check_spool(reader, out.state_dir, out.spool);
    check_models(reader, out.models);
    check_file_tails(reader, out);
    check_nats(reader, environment, out.nats);
    check_monitoring(reader, environment, catalog, out);
    check_privacy(reader, out.models);
    check_profile_only(reader, catalog, out.models);
    check_cluster(reader, out.cluster);
}

std::vector<OptionDoc> describe_options() {
    std::vector<OptionDoc> out;
    describe_table<Config>("", root_options, out);
    return out;
}

}  // namespace mw::config
