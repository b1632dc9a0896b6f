#include "daemon/daemon.h"

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <prometheus/registry.h>

#include "collectors/file_tail.h"
#include "collectors/ingest_parser.h"
#include "collectors/nats_collector.h"
#include "collectors/privacy.h"
#include "config/loader.h"
#include "config/reload.h"
#include "core/log.h"
#include "core/time.h"
#include "detectors/rejection_reasons.h"
#include "daemon/api.h"
#include "daemon/bearer_auth.h"
#include "daemon/http_server.h"
#include "daemon/ingest_pipeline.h"
#include "daemon/live_config.h"
#include "daemon/metrics.h"
#include "daemon/monitoring.h"
#include "daemon/ownership.h"
#include "daemon/process_metrics.h"
#include "daemon/rejection_tally.h"
#include "daemon/reloader.h"
#include "daemon/sd_notify.h"
#include "daemon/watchdog.h"
#include "registry/catalog.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/privacy_keys.h"
#include "store/spool.h"
#include "store/spool_drain.h"
#include "store/store_probe.h"

namespace mw::daemon {
namespace {

namespace asio = boost::asio;

// The stop's bounds, in the order the steps run: a reload waiting on
// PostgreSQL ends (or is left behind), requests in flight are answered, then
// the workers reach a safe point and the leases are given up, then the spool
// drains for spool.stop_drain_timeout. Their sum is the stop's budget: a
// deadline set at SIGTERM, which no step passes, whatever PostgreSQL does
// (a step's own bound ends earlier when less of the budget is left; what
// follows the drain, the watermark's withdrawal, takes what is left). The
// unit's TimeoutStopSec (60s) covers the budget with the default drain time
// (30s) and a margin (tests/integration/test_systemd_unit.py reads
// fixed_stop_steps). What is not drained stays in the spool, is logged, and
// is stored at the next start.
constexpr auto reload_stop_timeout = std::chrono::seconds(5);
constexpr auto request_drain_timeout = std::chrono::seconds(10);
constexpr auto worker_stop_timeout = std::chrono::seconds(5);
constexpr auto fixed_stop_steps = reload_stop_timeout + request_drain_timeout + worker_stop_timeout;
constexpr auto status_interval = std::chrono::seconds(5);
constexpr auto event_loop_tick = std::chrono::seconds(1);
// Ids remembered to answer an id re-sent with another payload as a conflict
// (daemon/recent_ids.h): 8 MiB once ingest has filled both generations
// (2^18 slots of 16 bytes each).
constexpr std::size_t recent_ids_capacity = 262144;

std::chrono::milliseconds stop_budget(const config::Config& config) {
    return fixed_stop_steps + std::chrono::milliseconds(config.spool.stop_drain_timeout_ms);
}

log::Level to_log_level(config::LogLevel level) { return static_cast<log::Level>(static_cast<int>(level)); }

void log_config_errors(const config::LoadResult& result) {
    for (const auto& error : result.errors) log::error("config_error file={} {}", result.source_name, to_string(error));
}

// Parses one chunk under `schema` and tallies its records' rejections (the
// rejected share of each window reads them).
ParsedLines parse_chunk(RecordKind kind, const LiveConfig& live, RejectionTally& rejections, std::string_view chunk,
                        const std::shared_ptr<const ModelSchema>& schema, std::int64_t arrival_us) {
    const auto config = live.get();
    ParseLimits limits;
    limits.max_records = config->server.max_records_per_request;
    limits.max_depth = config->server.max_json_depth;
    ParsedLines parsed;
    if (kind == RecordKind::prediction) {
        auto result = parse_predictions(chunk, schema, limits, arrival_us);
        parsed.batch = std::move(result.batch);
        parsed.rejections = std::move(result.rejections);
        parsed.chunk_error = std::move(result.body_error);
    } else {
        auto result = parse_outcomes(chunk, *schema, limits, arrival_us);
        parsed.batch = std::move(result.batch);
        parsed.rejections = std::move(result.rejections);
        parsed.chunk_error = std::move(result.body_error);
    }
    const std::int64_t at_us = now_us();
    for (const auto& rejection : parsed.rejections)
        rejections.add(schema->name, kind, quality::to_string(quality::classify_rejection(rejection)), at_us);
    return parsed;
}

ParseLines parser_for(RecordKind kind, const LiveConfig& live, RejectionTally& rejections) {
    return [kind, &live, &rejections](std::string_view chunk, const std::shared_ptr<const ModelSchema>& schema) {
        return parse_chunk(kind, live, rejections, chunk, schema, now_us());
    };
}

// A NATS message is an HTTP body by another road: the same size limit, parser
// and rejection counts (a message refused whole counts as reason "body").
ParseMessage nats_parser(const LiveConfig& live, RejectionTally& rejections, DaemonMetrics& metrics) {
    return [&live, &rejections, &metrics](RecordKind kind, std::string_view body,
                                          const std::shared_ptr<const ModelSchema>& schema, std::int64_t arrival_us) {
        const auto max_body_bytes = live.get()->server.max_body_bytes;
        const auto count = [&](const char* reason) {
            metrics.records_rejected.Add({{"model", schema->name}, {"kind", to_string(kind)}, {"reason", reason}})
                .Increment();
        };
        ParsedLines parsed;
        if (body.size() > max_body_bytes)
            parsed.chunk_error = fmt::format("message body of {} bytes exceeds server.max_body_bytes ({} bytes)",
                                             body.size(), max_body_bytes);
        else
            parsed = parse_chunk(kind, live, rejections, body, schema, arrival_us);
        if (!parsed.chunk_error.empty()) {
            count("body");
            rejections.add(schema->name, kind, "body", now_us());
        }
        for (const auto& rejection : parsed.rejections)
            count(quality::to_string(quality::classify_rejection(rejection)));
        return parsed;
    };
}

// Settings that are bound at start (sockets, files, connections); a reload
// that changes them says so instead of pretending to apply them.
std::vector<std::string> restart_only_changes(const config::Config& old_config, const config::Config& new_config) {
    std::vector<std::string> changed;
    const auto& a = old_config.server;
    const auto& b = new_config.server;
    if (a.listen_address != b.listen_address || a.listen_port != b.listen_port) changed.push_back("server.listen");
    if (server_limits_changed(a, b)) changed.push_back("server (limits and timeouts)");
    if (old_config.store.dsn != new_config.store.dsn)
        changed.push_back("store.dsn");
    else if (old_config.store != new_config.store)
        changed.push_back("store (timeouts, retries, batch size, probe)");
    if (old_config.spool.dir != new_config.spool.dir || old_config.spool.max_bytes != new_config.spool.max_bytes ||
        old_config.spool.max_backlog_seconds != new_config.spool.max_backlog_seconds)
        changed.push_back("spool");
    if (old_config.state_dir != new_config.state_dir) changed.push_back("state_dir");
    if (old_config.file_tails != new_config.file_tails) changed.push_back("file_tails");
    if (old_config.nats != new_config.nats) changed.push_back("nats");
    return changed;
}

// Each model's privacy policy and key as the drain claims them (store/privacy_keys.h).
std::vector<store::ModelKey> privacy_claims(const config::Config& config) {
    std::vector<store::ModelKey> claims;
    for (const auto& model : config.models) {
        const PrivacyPolicy& policy = model.schema.privacy;
        claims.push_back({model.schema.name, policy.key_id(), policy.previous_key_id, policy.key_file,
                          privacy_fingerprint(policy)});
    }
    return claims;
}

// The keys of `next` that the running configuration does not claim: a
// model added with a key, or added back with another one (a live model's
// key cannot change on reload: ReloadHistory refuses it).
std::vector<store::ModelKey> new_privacy_claims(const config::Config& running, const config::Config& next) {
    std::vector<store::ModelKey> claims;
    for (auto& claim : privacy_claims(next)) {
        if (claim.key_id.empty()) continue;  // hashes nothing: nothing to compare
        const auto* model = running.find_model(claim.model);
        if (model != nullptr && model->schema.privacy.key_id() == claim.key_id) continue;
        claims.push_back(std::move(claim));
    }
    return claims;
}

// A reload's new keys are claimed as start claims them (docs/privacy.md,
// "One key per model"), before any record of theirs can be accepted: a key
// PostgreSQL records another id for refuses the reload (the running
// configuration stays), else the drain would refuse it later and the
// model's acknowledged records could never be stored. When PostgreSQL does
// not answer, the drain claims them before their first write, as after a
// start without PostgreSQL. Runs on the reloads' thread (daemon/reloader.h),
// never the event loop's; the connection is bounded by store.connect_timeout
// and each statement by the same time (a claim waiting on a lock would hold
// every later reload). Returns the conflict's text, or "".
std::string claim_reloaded_keys(const config::Config& running, const config::Config& next, std::int64_t started_us) {
    const auto claims = new_privacy_claims(running, next);
    if (claims.empty()) return {};
    try {
        const auto connection = store::connect(running.store);
        connection->set_variable("statement_timeout", std::to_string(running.store.connect_timeout_ms));
        store::migrate(*connection);
        store::claim_privacy_keys(*connection, claims, started_us);
    } catch (const store::PrivacyKeyConflict& conflict) {
        return conflict.what();
    } catch (const std::exception& error) {
        log::notice("privacy_keys_claim_deferred models={} reason=\"{}\" (claimed before their first write)",
                    claims.size(), error.what());
    }
    return {};
}

// SIGHUP, on the reloads' thread (daemon/reloader.h): a new file is read and
// checked, its new privacy keys claimed; when usable it is published to the
// HTTP side at once and to the workers for their next pass. Nothing here
// waits for a pass. Once a stop was asked nothing is published: the stop
// takes the running configuration down.
void reload(const std::string& config_path, LiveConfig& live, config::ReloadHistory& history, Monitoring& monitoring,
            DaemonMetrics& metrics, SystemdNotifier& notifier, store::SpoolDrain& drain, std::int64_t started_us,
            std::stop_token stop) {
    log::notice("config_reload_started file={} generation={}", config_path, live.generation());
    // The operator's moment to have deleted quarantine files counted out
    // (docs/privacy.md, "Quarantine files"), whatever becomes of the reload.
    drain.count_quarantine();
    auto reloaded = registry::load_config_file(config_path);
    const auto refuse = [&](const std::string& why) {
        log::error("config_reload_failed file={} {} keeping=previous generation={}", config_path, why,
                   live.generation());
        metrics.config_reloads_failed.Increment();
        notifier.status("configuration reload failed; previous configuration in force");
    };
    if (!reloaded.ok()) {
        log_config_errors(reloaded);
        return refuse(fmt::format("errors={}", reloaded.errors.size()));
    }
    // Changes a live model cannot take (docs/monitoring.md "Reloading").
    const auto refused = history.refused_changes(*live.get(), *reloaded.config);
    if (!refused.empty()) {
        for (const auto& change : refused) log::error("config_reload_refused file={} {}", config_path, change);
        return refuse(fmt::format("errors={}", refused.size()));
    }
    auto next = std::make_shared<const config::Config>(std::move(*reloaded.config));
    // Before anything of it is published. A reload that the monitoring then
    // refuses (below) leaves a new model's key recorded: the key its
    // operator configured, which a corrected reload will claim again.
    if (const auto conflict = claim_reloaded_keys(*live.get(), *next, started_us); !conflict.empty()) {
        log::error("config_reload_refused file={} {}", config_path, conflict);
        return refuse("errors=1");
    }
    if (stop.stop_requested()) {
        log::notice("config_reload_abandoned file={} reason=stopping keeping=previous generation={}", config_path,
                    live.generation());
        return;
    }
    for (const auto& key : restart_only_changes(*live.get(), *next))
        log::warning("config_reload_needs_restart key=\"{}\"", key);
    const std::uint64_t generation = live.generation() + 1;
    try {
        monitoring.reload(next, generation);
    } catch (const std::invalid_argument& error) {
        return refuse(fmt::format("error=\"{}\"", error.what()));
    }
    log::set_level(to_log_level(next->log.level));
    drain.set_privacy_keys(privacy_claims(*next));  // a model added here is claimed before its first write
    // Before ingest sees the new models: a profile-only model added by this
    // reload has its features profiled from its first stored row.
    drain.set_profile_plan(store::profile_plan(next->models));
    live.set(next);
    history.accept(*next);
    metrics.config_reloads_ok.Increment();
    metrics.config_generation.Set(static_cast<double>(generation));
    log::notice("config_reloaded file={} models={} generation={}", config_path, next->models.size(), generation);
}

// The objects of the process, in the order the steps below start them (as
// Bitcoin Core's NodeContext: one struct, no globals). Each start_ step fills
// its part; the stop_ steps take them down in reverse, and the members are
// destroyed in reverse of this order.
struct Process {
    Process(const std::string& config_file, LiveConfig& live_config, SystemdNotifier& systemd)
        : config_path(config_file), live(live_config), initial(live_config.get()), notifier(systemd) {}

    const std::string& config_path;
    const std::int64_t started_us = now_us();
    LiveConfig& live;
    // The configuration at start: what sockets, files and connections are bound to.
    const std::shared_ptr<const config::Config> initial;
    config::ReloadHistory reload_history{*initial};
    SystemdNotifier& notifier;
    // 2. Metrics
    std::shared_ptr<prometheus::Registry> registry;
    std::optional<DaemonMetrics> metrics;
    // 3. Storage
    std::optional<store::Spool> spool;
    std::optional<store::SpoolDrain> drain;
    std::optional<store::StoreProbe> probe;
    // 4. Collectors
    std::optional<IngestPipeline> pipeline;
    RejectionTally rejections;
    std::vector<std::unique_ptr<FileTail>> tails;
    std::vector<std::jthread> tail_threads;
    std::optional<NatsCollector> nats;
    // 5. Monitoring
    std::optional<Monitoring> monitoring;
    // 6. HTTP
    std::optional<ProcessMetrics> process_metrics;
    std::optional<Api> api;
    asio::io_context io;
    std::optional<HttpServer> server;
    // 7. Signals and reloads
    std::optional<asio::signal_set> signals;
    std::atomic<bool> stopping{false};  // read by the watchdog's thread
    // Set with `stopping` at SIGTERM: no step of the stop passes it.
    std::chrono::steady_clock::time_point stop_deadline{};
    std::optional<Reloader> reloader;
    // 8. Watchdog
    std::atomic<std::int64_t> event_loop_ticked{0};  // steady_clock ticks
    std::optional<asio::steady_timer> tick_timer;
    std::optional<Watchdog> watchdog;
    // 9. Ready
    std::optional<asio::steady_timer> status_timer;
};

// 1. Configuration: parsed and validated once; a bad file stops us here.
std::optional<config::Config> load_configuration(const std::string& config_path) {
    auto loaded = registry::load_config_file(config_path);
    if (!loaded.ok()) {
        log_config_errors(loaded);
        log::error("startup_failed reason=\"invalid configuration\" file={} errors={}", config_path,
                   loaded.errors.size());
        return std::nullopt;
    }
    const auto& config = *loaded.config;
    log::set_level(to_log_level(config.log.level));
    log::notice("starting version={} config={} models={} stop_budget_ms={}", MODELWATCH_VERSION, config_path,
                config.models.size(), stop_budget(config).count());
    if (!auth_enabled(config)) {
        // Open ingest is the loopback default's convenience; anywhere else it
        // is a mistake worth shouting about.
        if (listens_on_loopback_only(config.server))
            log::notice("auth_disabled reason=\"no bearer tokens configured\" listen={} (loopback only)",
                        config.server.listen_address);
        else
            log::warning("auth_disabled reason=\"no bearer tokens configured\" listen={}: anyone who can reach "
                         "this address can ingest, and /readyz shows no details; add server.tokens",
                         config.server.listen_address);
    }
    return std::move(*loaded.config);
}

// 2. Metrics: the one process-wide registry.
void start_metrics(Process& process) {
    process.registry = std::make_shared<prometheus::Registry>();
    process.metrics.emplace(*process.registry);
    process.metrics->config_generation.Set(static_cast<double>(process.live.generation()));
}

// 3a. The privacy keys (docs/privacy.md, "Rotating the key"): each key's
//    protection in memory is logged, and when PostgreSQL answers now, each
//    model's key id is claimed before anything is accepted: a daemon started
//    with another key than the one the database records for a model stops
//    here, naming the model, both key ids and the key file. When PostgreSQL
//    does not answer, the drain claims them before its first write.
void claim_privacy_keys_at_start(Process& process) {
    const auto& config = *process.initial;
    bool any_key = false;
    for (const auto& model : config.models) {
        const auto& key = model.schema.privacy.key;
        if (!key) continue;
        any_key = true;
        log::info("privacy_key_loaded model={} key_id={} key_file={} not_dumped={} locked={}", model.schema.name,
                  key->id(), model.schema.privacy.key_file, key->not_dumped(), key->locked());
    }
    if (!any_key) return;  // nothing to compare; the drain records the policies
    try {
        const auto connection = store::connect(config.store);
        store::migrate(*connection);
        store::claim_privacy_keys(*connection, privacy_claims(config), process.started_us);
    } catch (const store::PrivacyKeyConflict&) {
        throw;
    } catch (const std::exception& error) {
        log::notice("privacy_keys_claim_deferred reason=\"{}\" (claimed before the first write)", error.what());
    }
}

// 3. Storage. The spool recovers what a previous run acknowledged but did
//    not store. The drain connects, migrates and writes in the background,
//    so ingest works while PostgreSQL is still down, and publishes the
//    spool's watermark under the daemon's id (store/watermarks.h); the probe
//    says whether PostgreSQL answers, busy or idle.
void start_storage(Process& process) {
    const auto& config = *process.initial;
    claim_privacy_keys_at_start(process);
    process.spool.emplace(config.spool);
    process.spool->start();
    process.metrics->spool_limit_bytes.Set(static_cast<double>(config.spool.max_bytes));
    process.drain.emplace(*process.spool, config.store, config.spool.dir,
                          store::DrainPrivacy{privacy_claims(config), process.started_us},
                          cluster_daemon_id(config.cluster));
    process.drain->set_profile_plan(store::profile_plan(config.models));
    process.drain->start();
    process.probe.emplace(config.store);
    process.probe->start();
}

// Whether the spool can take more: a tenth of the budget is left, so
// readiness turns and NATS pulls stop before ingest gets 503s.
bool spool_has_room(const Process& process) {
    return process.spool->stats().bytes_on_disk < process.spool->max_bytes() / 10 * 9;
}

// The NATS collector: models are looked up in the configuration in force
// (a reload may add one); spooled records count as HTTP's do.
void start_nats(Process& process, const config::NatsOptions& options) {
    auto find_schema = [&live = process.live](std::string_view name) -> std::shared_ptr<const ModelSchema> {
        auto config = live.get();
        const auto* model = config->find_model(name);
        if (model == nullptr) return nullptr;
        return std::shared_ptr<const ModelSchema>(config, &model->schema);
    };
    auto spooled = [&metrics = *process.metrics, &rejections = process.rejections](
                       const std::string& model, RecordKind kind, std::size_t stored, std::size_t conflicts,
                       std::int64_t at_us) {
        metrics.records_accepted.Add({{"model", model}, {"kind", to_string(kind)}}).Increment(static_cast<double>(stored));
        if (conflicts == 0) return;
        const char* reason = quality::to_string(quality::RejectionReason::id_conflict);
        metrics.records_rejected.Add({{"model", model}, {"kind", to_string(kind)}, {"reason", reason}})
            .Increment(static_cast<double>(conflicts));
        rejections.add(model, kind, reason, at_us, static_cast<std::int64_t>(conflicts));
    };
    process.nats.emplace(options, *process.pipeline, std::move(find_schema),
                         nats_parser(process.live, process.rejections, *process.metrics), std::move(spooled),
                         [&process] {
                             // Admission control stops pulls as a full spool does.
                             const auto stats = process.spool->stats();
                             return SpoolRoom{spool_has_room(process) && stats.admitting, stats.bytes_on_disk};
                         });
    process.nats->start();
}

// 4. Collectors: the ingest pipeline, then the file tails and NATS feeding it.
void start_collectors(Process& process) {
    const auto& initial = process.initial;
    process.pipeline.emplace(*process.spool, process.metrics->id_conflicts, recent_ids_capacity,
                             std::random_device()());
    // A model whose key the store refuses: its records are never acknowledged.
    process.pipeline->set_key_refusal([&drain = *process.drain](const std::string& model, const std::string&) {
        return drain.key_conflict(model);
    });
    for (const auto& tail_options : initial->file_tails) {
        const auto* model = initial->find_model(tail_options.model);
        // A tail parses under the schema it started with until the next
        // start (a reload does not reach it: docs/monitoring.md "Reloading").
        process.tails.push_back(std::make_unique<FileTail>(
            tail_options, std::shared_ptr<const ModelSchema>(initial, &model->schema),
            initial->state_dir + "/file-tails", *process.pipeline,
            parser_for(tail_options.kind, process.live, process.rejections)));
    }
    for (auto& tail : process.tails)
        process.tail_threads.emplace_back([&tail](std::stop_token stop) { tail->run(stop); });
    if (initial->nats) start_nats(process, *initial->nats);
}

// 5. Monitoring: windows and detectors, alerts, retraining, audits, each a
//    worker on its own connection, reading what the last wrote.
void start_monitoring(Process& process) {
    process.monitoring.emplace(process.initial, process.live.generation(), *process.metrics, process.rejections,
                               process.started_us,
                               [&spool = *process.spool] { return spool.stored_before_us(); });
    process.monitoring->start();
}

// What /readyz and modelwatch_ready report.
Readiness readiness(const Process& process) {
    const auto spool_stats = process.spool->stats();
    const auto store = process.probe->status();
    Readiness ready;
    ready.store_reachable = store.reachable;
    ready.store_error = store.error;
    ready.store_answered_ms_ago = store.since_success_ms;
    const auto drain = process.drain->stats();
    ready.drain_error = drain.last_error;
    ready.store_refuses_writes = drain.writes_refused;
    for (const auto& [model, conflict] : drain.key_conflicts) ready.privacy_key_conflicts.push_back(conflict);
    ready.quarantine = drain.quarantine;
    ready.quarantine_directory = process.initial->spool.dir;
    ready.spool_healthy = spool_stats.healthy;
    // "Room" leaves a tenth of the budget so readiness turns before 503s do.
    ready.spool_has_room = spool_has_room(process);
    ready.spool_bytes = spool_stats.bytes_on_disk;
    ready.spool_undrained_batches = spool_stats.undrained_batches;
    ready.config_generation = process.live.generation();
    ready.config_reload_pending = process.reloader && process.reloader->busy();
    ready.workers = process.monitoring->workers();
    if (process.nats) ready.nats = process.nats->status();
    ready.models_owned = process.monitoring->models_owned();
    return ready;
}

// 6. HTTP: ingest, admin, health, metrics.
void start_http(Process& process) {
    std::vector<std::string> tail_paths;
    for (const auto& tail_options : process.initial->file_tails) tail_paths.push_back(tail_options.path);
    process.process_metrics.emplace(*process.metrics, *process.spool, *process.drain, *process.probe, process.tails,
                                    std::move(tail_paths), process.nats ? &*process.nats : nullptr);
    process.api.emplace(
        process.live, *process.pipeline, *process.monitoring, process.rejections, *process.metrics, *process.registry,
        [&process] { return readiness(process); }, [&process] { process.process_metrics->refresh(); });
    process.server.emplace(process.io, process.initial->server, *process.api, *process.metrics);
    process.server->start();
    process.process_metrics->watch_server(*process.server);
    process.process_metrics->watch_read_sessions("admin", process.api->read_sessions());
}

// SIGHUP hands a reload to the reloads' thread and waits for the next
// signal; SIGTERM or SIGINT begins the stop. Neither waits for a worker or
// for PostgreSQL: a reload publishes the configuration from its own thread,
// a stop asks.
void wait_for_signal(Process& process) {
    process.signals->async_wait([&process](const boost::system::error_code& ec, int signal_number) {
        if (ec) return;
        if (signal_number == SIGHUP) {
            const auto requested = process.reloader->request();
            if (requested != Reloader::Requested::started)
                log::notice("config_reload_queued state={} file={} (a reload is in progress; the queued one reads "
                            "the file when it starts)",
                            to_string(requested), process.config_path);
            wait_for_signal(process);
            return;
        }
        // The budget in force now: a reload may have changed the drain time.
        const auto budget = stop_budget(*process.live.get());
        process.stop_deadline = std::chrono::steady_clock::now() + budget;
        log::notice("stopping signal={} budget_ms={}", signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                    budget.count());
        process.stopping = true;
        process.reloader->request_stop();
        process.notifier.stopping();
        process.server->stop_accepting();
        // Passes end at their next safe point while requests are answered.
        process.monitoring->request_stop();
        process.io.stop();
    });
}

// 7. Signals, served by the event loop, and the thread reloads run on.
void start_signals(Process& process) {
    process.reloader.emplace([&process](std::stop_token stop) {
        process.notifier.reloading();
        // READY=1 follows whatever became of the reload, an unexpected
        // exception included (the reloader logs it): else systemd shows the
        // unit "reloading" until the next reload.
        const auto ready_again = [&] {
            if (!stop.stop_requested()) process.notifier.ready();
        };
        try {
            reload(process.config_path, process.live, process.reload_history, *process.monitoring, *process.metrics,
                   process.notifier, *process.drain, process.started_us, stop);
        } catch (...) {
            ready_again();
            throw;
        }
        ready_again();
    });
    process.reloader->start();
    process.signals.emplace(process.io, SIGTERM, SIGINT, SIGHUP);
    wait_for_signal(process);
}

// The event loop's heartbeat for the watchdog, every event_loop_tick.
void arm_tick(Process& process) {
    process.event_loop_ticked = std::chrono::steady_clock::now().time_since_epoch().count();
    process.tick_timer->expires_after(event_loop_tick);
    process.tick_timer->async_wait([&process](const boost::system::error_code& ec) {
        if (!ec) arm_tick(process);
    });
}

// 8. The watchdog: its own thread, fed only while the spool, the event loop
//    (ticking) and every worker make progress.
void start_watchdog(Process& process) {
    process.tick_timer.emplace(process.io);
    arm_tick(process);
    process.watchdog.emplace(process.notifier, *process.metrics, [&process] {
        Vitals vitals;
        vitals.spool_healthy = process.spool->stats().healthy;
        const auto ticked =
            std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(process.event_loop_ticked));
        vitals.event_loop_silent =
            process.stopping
                ? std::chrono::milliseconds(0)  // the loop is being taken down on purpose
                : std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - ticked);
        vitals.workers = process.monitoring->workers();
        return vitals;
    });
    process.watchdog->start();
}

// systemd's STATUS= line, every status_interval.
void arm_status(Process& process) {
    process.status_timer->expires_after(status_interval);
    process.status_timer->async_wait([&process](const boost::system::error_code& ec) {
        if (ec) return;
        const auto spool_stats = process.spool->stats();
        const auto drain_stats = process.drain->stats();
        process.notifier.status(fmt::format("store {}; spool {} bytes; {} predictions, {} outcomes stored",
                                            process.probe->status().reachable ? "up" : "DOWN",
                                            spool_stats.bytes_on_disk, drain_stats.predictions_written,
                                            drain_stats.outcomes_written));
        arm_status(process);
    });
}

// 9. Ready.
void announce_ready(Process& process) {
    process.status_timer.emplace(process.io);
    arm_status(process);
    process.notifier.ready();
    process.notifier.status("accepting requests");
    log::notice("ready port={}", process.server->bound_port());
}

// Serves until a stop signal ends the event loop.
void run_event_loop(Process& process) {
    const unsigned io_threads = std::max(2u, std::thread::hardware_concurrency());
    std::vector<std::thread> io_runners;
    for (unsigned i = 1; i < io_threads; ++i) io_runners.emplace_back([&process] { process.io.run(); });
    process.io.run();
    for (auto& runner : io_runners) runner.join();
    if (!process.stopping) throw std::runtime_error("the event loop ended unexpectedly");
}

// The end of a stop step that may take `bound`: `bound` from now, or the
// stop's deadline when that comes first.
std::chrono::steady_clock::time_point step_end(const Process& process, std::chrono::milliseconds bound) {
    return std::min(std::chrono::steady_clock::now() + bound, process.stop_deadline);
}

std::chrono::milliseconds until(std::chrono::steady_clock::time_point end) {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(0));
}

// 7. Reloads: the queued one is dropped and the running one was told to stop
//    by the signal handler; it publishes nothing now. One still waiting on
//    PostgreSQL past reload_stop_timeout is left behind (the exit then skips
//    the destructors); returns whether it ended.
bool stop_reloads(Process& process) {
    const auto waited = until(step_end(process, reload_stop_timeout));
    if (process.reloader->stop(waited)) return true;
    log::warning("config_reload_abandoned reason=\"still waiting on PostgreSQL at the stop\" waited_ms={}",
                 waited.count());
    return false;
}

// 6. HTTP: accept nothing new (done by the signal handler), answer what is in
//    flight. An admin request still waiting on PostgreSQL is left behind (the
//    exit then skips the destructors, which would wait for it); returns
//    whether every request was answered.
bool stop_http(Process& process) {
    auto& io = process.io;
    io.restart();
    const auto deadline = step_end(process, request_drain_timeout);
    while (process.api->in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
        io.run_for(std::chrono::milliseconds(20));
    io.run_for(std::chrono::milliseconds(50));  // let the last answers reach their sockets
    if (process.api->in_flight() == 0) return true;
    log::warning("shutdown_requests_abandoned in_flight={}", process.api->in_flight());
    return false;
}

// 5. Monitoring: passes were asked to stop at a safe point; what they have
//    not done is in the store for the next start. Then this daemon's leases
//    are given up, so that the others take its models at once. A worker that
//    reaches no safe point in time, or a release PostgreSQL does not answer,
//    is left behind (an open transaction dies with the process; leases
//    expire after cluster.lease), so the exit skips the destructors; returns
//    whether all ended.
bool stop_monitoring(Process& process) { return process.monitoring->stop(step_end(process, worker_stop_timeout)); }

// 4. Collectors stop reading; their checkpoints only cover what the spool acknowledged.
void stop_collectors(Process& process) {
    for (auto& thread : process.tail_threads) thread.request_stop();
    process.tail_threads.clear();
    if (process.nats) process.nats->stop();
}

// 3. Storage: the spool syncs and answers everything queued, then the drain
//    gets spool.stop_drain_timeout to empty it into PostgreSQL; a write still
//    waiting on PostgreSQL then is left behind (its range stays in the
//    spool). The watermark's withdrawal takes what is left of the budget, and
//    the probe its probe_timeout. Returns whether every thread ended.
bool stop_storage(Process& process) {
    auto& drain = *process.drain;
    process.spool->stop();
    // The drain time in force now: a reload may have changed it.
    const auto drain_deadline =
        step_end(process, std::chrono::milliseconds(process.live.get()->spool.stop_drain_timeout_ms));
    while (std::chrono::steady_clock::now() < drain_deadline) {
        if (drain.wait_drained(static_cast<int>(std::min<std::int64_t>(200, until(drain_deadline).count())))) break;
        // With PostgreSQL gone (the probe fails and the drain's last
        // attempt failed too) waiting cannot help: the spool keeps the
        // records for the next start. A drain still making its first
        // connection has no error yet and is waited for.
        const auto drain_stats = drain.stats();
        if (!process.probe->status().reachable && !drain_stats.store_reachable && !drain_stats.last_error.empty()) {
            log::warning("stop_drain_skipped reason=\"store unreachable\" error=\"{}\"", drain_stats.last_error);
            break;
        }
    }
    // A write under way when the drain time ends is let finish with what the
    // budget leaves after the probe's stop and a second for the watermark's
    // withdrawal: on a healthy PostgreSQL a COPY in progress is not thrown
    // away (it would only be written again at the next start); on a hung one
    // the stop still ends inside its budget.
    const auto probe_timeout = std::chrono::milliseconds(process.initial->store.probe_timeout_ms);
    const auto writes_deadline = std::min(
        std::max(drain_deadline, process.stop_deadline - probe_timeout - std::chrono::seconds(1)),
        process.stop_deadline);
    const bool drain_ended = drain.stop(writes_deadline, process.stop_deadline);
    const bool probe_ended = process.probe->stop(step_end(process, probe_timeout));
    return drain_ended && probe_ended;
}

// What is left after the stop: the spool's undrained records (replayed at
// the next start), training jobs still running (left to systemd's KillMode,
// failed as stale at the next start) and threads left waiting on
// PostgreSQL. The exit status is 0 whatever was left (a stop that needs
// more time says so in the log; the spool keeps every acknowledged record);
// exits at once, without destructors, when something is left running.
int finish(Process& process, const std::vector<std::string_view>& steps_left) {
    const bool threads_stopped = steps_left.empty();
    const auto left = process.spool->stats();
    if (left.oldest_undrained_us == 0) {
        log::notice("stopped drained=true");
    } else {
        log::warning("stopped drained=false spool_left_batches={} spool_left_bytes={} oldest_left={} "
                     "spool_dir={} drain_error=\"{}\"",
                     left.undrained_batches, left.bytes_on_disk, format_rfc3339_us(left.oldest_undrained_us),
                     process.initial->spool.dir, process.drain->stats().last_error);
    }
    // A training job may run for hours; the daemon does not wait for it.
    const int jobs = process.monitoring->jobs_running();
    if (jobs > 0) log::warning("stopped_with_jobs_running jobs={}", jobs);
    if (!threads_stopped)
        log::warning("stopped_leaving_threads steps=\"{}\" (exiting without them)", fmt::join(steps_left, ","));
    if (jobs > 0 || !threads_stopped) std::_Exit(0);
    return 0;
}

}  // namespace

int run(const std::string& config_path) {
    auto configuration = load_configuration(config_path);  // 1
    if (!configuration) return 1;
    LiveConfig live(std::move(*configuration));
    auto notifier = SystemdNotifier::from_environment();
    if (!notifier.configuration_error().empty())
        log::warning("sd_notify_disabled reason=\"{}\"", notifier.configuration_error());

    try {
        Process process(config_path, live, notifier);
        start_metrics(process);     // 2
        start_storage(process);     // 3
        start_collectors(process);  // 4
        start_monitoring(process);  // 5
        start_http(process);        // 6
        start_signals(process);     // 7
        start_watchdog(process);    // 8
        announce_ready(process);    // 9
        run_event_loop(process);

        // The same steps in reverse, each bounded, all by the deadline the
        // signal handler set (stop_budget). 9 and 7's signal handler
        // went with the event loop (the status timer, the signal handler). The
        // watchdog (8) is the exception: it stops last, so systemd still hears
        // from the process while the steps below take their time (within
        // TimeoutStopSec).
        const bool reloads_stopped = stop_reloads(process);     // 7
        const bool requests_answered = stop_http(process);     // 6
        const bool workers_stopped = stop_monitoring(process);  // 5
        stop_collectors(process);                               // 4
        const bool storage_stopped = stop_storage(process);     // 3
        process.watchdog->stop();                               // 8
        std::vector<std::string_view> steps_left;
        if (!reloads_stopped) steps_left.push_back("reload");
        if (!requests_answered) steps_left.push_back("requests");
        if (!workers_stopped) steps_left.push_back("workers");
        if (!storage_stopped) steps_left.push_back("storage");
        return finish(process, steps_left);
    } catch (const std::exception& error) {
        log::error("startup_failed error=\"{}\"", error.what());
        notifier.status(std::string("failed: ") + error.what());
        return 1;
    }
}

}  // namespace mw::daemon
