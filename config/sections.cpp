#include "config/sections.h"

#include <algorithm>

#include <fmt/format.h>

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
     .help = "host:port of the HTTP ingest and admin API; port 0 picks a free port (tests)",
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
     .help = "request bodies held in memory at once over all connections; past it requests get 503",
     .field = "ServerOptions::max_inflight_bytes",
     .assign = assign_field<&ServerOptions::max_inflight_bytes>},
    {.key = "max_records_per_request", .kind = ValueKind::integer, .default_text = "100000", .min = 1,
     .max = 10'000'000, .help = "most records one request may carry; more get 400",
     .field = "ServerOptions::max_records_per_request",
     .assign = assign_field<&ServerOptions::max_records_per_request>},
    {.key = "max_connections", .kind = ValueKind::integer, .default_text = "512", .min = 1, .max = 65535,
     .help = "concurrent connections; further ones are answered 503 and closed",
     .field = "ServerOptions::max_connections", .assign = assign_field<&ServerOptions::max_connections>},
    {.key = "header_timeout", .kind = ValueKind::duration, .default_text = "10s", .min = 100,
     .max = 600'000, .unit = "ms", .help = "time allowed to receive the request headers",
     .field = "ServerOptions::header_timeout_ms", .assign = assign_field<&ServerOptions::header_timeout_ms>},
    {.key = "body_timeout", .kind = ValueKind::duration, .default_text = "60s", .min = 100,
     .max = 3'600'000, .unit = "ms", .help = "time allowed to receive the request body",
     .field = "ServerOptions::body_timeout_ms", .assign = assign_field<&ServerOptions::body_timeout_ms>},
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
    {.key = "partition_days", .kind = ValueKind::integer, .default_text = "1", .min = 1, .max = 366,
     .help = "time width of one predictions partition, in days",
     .field = "StoreOptions::partition_days", .assign = assign_field<&StoreOptions::partition_days>},
};

bool is_environment_name(std::string_view name) {
    // POSIX.1-2017 section 8.1: portable names are [A-Za-z_][A-Za-z0-9_]*.
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

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
    if (spool.dir.empty()) spool.dir = state_dir + (state_dir.ends_with('/') ? "spool" : "/spool");
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
};

}  // namespace

void read_config(Reader& reader, const YAML::Node& root, const Environment& environment, Config& out) {
    read_mapping<Config>(reader, root, "", 1, root_options, out);
    if (root.IsDefined() && !root.IsNull() && !root.IsMap()) return;  // already reported: nothing more to check
    check_server(reader, out.server);
    check_store(reader, environment, out.store);
    check_spool(reader, out.state_dir, out.spool);
    check_models(reader, out.models);
    check_file_tails(reader, out);
}

std::vector<OptionDoc> describe_options() {
    std::vector<OptionDoc> out;
    describe_table<Config>("", root_options, out);
    return out;
}

}  // namespace mw::config
