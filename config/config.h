// The daemon's configuration as plain, validated structs. The YAML loader
// (config/loader.h) is the only place that fills them; every default lives in
// the option tables (config/sections.cpp), and config/modelwatch.yaml documents
// each key. The member initializers below repeat the table defaults only so
// that code building options by hand (tests) starts from the same values; a
// test (tests/config/reference_test.cpp) keeps the two equal. Components receive
// the part they need and nothing else.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
    std::uint32_t header_timeout_ms = 10000;
    std::uint32_t body_timeout_ms = 60000;
    std::uint32_t idle_timeout_ms = 60000;
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
    std::uint32_t partition_days = 1;         // width of a predictions partition

    bool operator==(const StoreOptions&) const = default;
};

struct SpoolOptions {
    std::string dir;                           // default: <state_dir>/spool
    std::uint64_t max_bytes = 1ull << 30;      // disk budget; past it ingest answers 503
    std::uint64_t segment_bytes = 64ull << 20; // a segment is rolled at this size
    std::uint32_t group_commit_max_wait_us = 0;  // extra wait to gather more writers before fdatasync

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

struct ModelOptions {
    ModelSchema schema;
    std::vector<TokenHash> tokens;  // tokens valid for this model only
};

struct Config {
    std::string state_dir = "/var/lib/modelwatch";
    ServerOptions server;
    StoreOptions store;
    SpoolOptions spool;
    LogOptions log;
    std::vector<ModelOptions> models;
    std::vector<FileTailOptions> file_tails;

    const ModelOptions* find_model(std::string_view name) const;
};

}  // namespace mw::config
