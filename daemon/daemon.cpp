#include "daemon/daemon.h"

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <prometheus/registry.h>

#include "collectors/file_tail.h"
#include "collectors/ingest_parser.h"
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
#include "daemon/rejection_tally.h"
#include "daemon/sd_notify.h"
#include "daemon/watchdog.h"
#include "store/spool.h"
#include "store/spool_drain.h"
#include "store/store_probe.h"

namespace mw::daemon {
namespace {

namespace asio = boost::asio;

// Shutdown bounds, in the order the steps run: requests in flight are
// answered, then the workers reach a safe point, then the spool drains for
// spool.stop_drain_timeout. The unit's TimeoutStopSec (60s) covers the sum
// with the default drain time (30s) and a margin; what is not drained stays
// in the spool, is logged, and is stored at the next start.
constexpr auto request_drain_timeout = std::chrono::seconds(10);
constexpr auto worker_stop_timeout = std::chrono::seconds(5);
constexpr auto status_interval = std::chrono::seconds(5);
constexpr auto event_loop_tick = std::chrono::seconds(1);
// Ids remembered to answer an id re-sent with another payload as a conflict
// (daemon/recent_ids.h): about 12 MB.
constexpr std::size_t recent_ids_capacity = 262144;

log::Level to_log_level(config::LogLevel level) { return static_cast<log::Level>(static_cast<int>(level)); }

void log_config_errors(const config::LoadResult& result) {
    for (const auto& error : result.errors) log::error("config_error file={} {}", result.source_name, to_string(error));
}

ParseLines parser_for(RecordKind kind, const LiveConfig& live, RejectionTally& rejections) {
    return [kind, &live, &rejections](std::string_view chunk, const std::shared_ptr<const ModelSchema>& schema) {
        const auto config = live.get();
        ParseLimits limits;
        limits.max_records = config->server.max_records_per_request;
        limits.max_depth = config->server.max_json_depth;
        ParsedLines parsed;
        if (kind == RecordKind::prediction) {
            auto result = parse_predictions(chunk, schema, limits, now_us());
            parsed.batch = std::move(result.batch);
            parsed.rejections = std::move(result.rejections);
            parsed.chunk_error = std::move(result.body_error);
        } else {
            auto result = parse_outcomes(chunk, *schema, limits, now_us());
            parsed.batch = std::move(result.batch);
            parsed.rejections = std::move(result.rejections);
            parsed.chunk_error = std::move(result.body_error);
        }
        const std::int64_t at_us = now_us();
        for (const auto& rejection : parsed.rejections)
            rejections.add(schema->name, kind, quality::to_string(quality::classify_rejection(rejection)), at_us);
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
    if (old_config.spool.dir != new_config.spool.dir || old_config.spool.max_bytes != new_config.spool.max_bytes)
        changed.push_back("spool");
    if (old_config.state_dir != new_config.state_dir) changed.push_back("state_dir");
    if (old_config.file_tails.size() != new_config.file_tails.size()) changed.push_back("file_tails");
    return changed;
}

// SIGHUP: a new file is read and checked; when usable it is published to
// the HTTP side at once and to the workers for their next pass. Nothing here
// waits for a pass.
void reload(const std::string& config_path, LiveConfig& live, Monitoring& monitoring, DaemonMetrics& metrics,
            SystemdNotifier& notifier) {
    auto reloaded = config::load_config_file(config_path);
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
    const auto refused = config::refused_reload_changes(*live.get(), *reloaded.config);
    if (!refused.empty()) {
        for (const auto& change : refused) log::error("config_reload_refused file={} {}", config_path, change);
        return refuse(fmt::format("errors={}", refused.size()));
    }
    auto next = std::make_shared<const config::Config>(std::move(*reloaded.config));
    for (const auto& key : restart_only_changes(*live.get(), *next))
        log::warning("config_reload_needs_restart key=\"{}\"", key);
    const std::uint64_t generation = live.generation() + 1;
    try {
        monitoring.reload(next, generation);
    } catch (const std::invalid_argument& error) {
        return refuse(fmt::format("error=\"{}\"", error.what()));
    }
    log::set_level(to_log_level(next->log.level));
    live.set(next);
    metrics.config_reloads_ok.Increment();
    metrics.config_generation.Set(static_cast<double>(generation));
    log::notice("config_reloaded file={} models={} generation={}", config_path, next->models.size(), generation);
}

}  // namespace

int run(const std::string& config_path) {
    // 1. Configuration: parsed and validated once; a bad file stops us here.
    auto loaded = config::load_config_file(config_path);
    if (!loaded.ok()) {
        log_config_errors(loaded);
        log::error("startup_failed reason=\"invalid configuration\" file={} errors={}", config_path,
                   loaded.errors.size());
        return 1;
    }
    LiveConfig live(std::move(*loaded.config));
    const auto initial = live.get();
    log::set_level(to_log_level(initial->log.level));
    log::notice("starting version={} config={} models={} stop_budget_s={}", MODELWATCH_VERSION, config_path,
                initial->models.size(),
                std::chrono::duration_cast<std::chrono::seconds>(request_drain_timeout + worker_stop_timeout).count() +
                    initial->spool.stop_drain_timeout_ms / 1000);

    if (!auth_enabled(*initial)) {
        // Open ingest is the loopback default's convenience; anywhere else it
        // is a mistake worth shouting about.
        if (listens_on_loopback_only(initial->server))
            log::notice("auth_disabled reason=\"no bearer tokens configured\" listen={} (loopback only)",
                        initial->server.listen_address);
        else
            log::warning("auth_disabled reason=\"no bearer tokens configured\" listen={}: anyone who can reach "
                         "this address can ingest, and /readyz shows no details; add server.tokens",
                         initial->server.listen_address);
    }

    auto notifier = SystemdNotifier::from_environment();
    if (!notifier.configuration_error().empty())
        log::warning("sd_notify_disabled reason=\"{}\"", notifier.configuration_error());

    try {
        // 2. Metrics: the one process-wide registry.
        auto registry = std::make_shared<prometheus::Registry>();
        DaemonMetrics metrics(*registry);
        metrics.config_generation.Set(static_cast<double>(live.generation()));

        // 3. The spool: recover what a previous run acknowledged but did not store.
        store::Spool spool(initial->spool);
        spool.start();
        metrics.spool_limit_bytes.Set(static_cast<double>(initial->spool.max_bytes));

        // 4. The store: the drain connects, migrates and writes in the
        //    background, so ingest works while PostgreSQL is still down; the
        //    probe says whether PostgreSQL answers, busy or idle.
        store::SpoolDrain drain(spool, initial->store, initial->spool.dir);
        drain.start();
        store::StoreProbe probe(initial->store);
        probe.start();

        // 5. Collectors: the ingest pipeline, then the file tails feeding it.
        IngestPipeline pipeline(spool, metrics.id_conflicts, recent_ids_capacity, std::random_device()());
        RejectionTally rejections;
        std::vector<std::unique_ptr<FileTail>> tails;
        std::vector<std::jthread> tail_threads;
        for (const auto& tail_options : initial->file_tails) {
            const auto* model = initial->find_model(tail_options.model);
            // A tail parses under the schema it started with until the next
            // start (a reload does not reach it: docs/monitoring.md "Reloading").
            tails.push_back(std::make_unique<FileTail>(
                tail_options, std::shared_ptr<const ModelSchema>(initial, &model->schema),
                initial->state_dir + "/file-tails", pipeline, parser_for(tail_options.kind, live, rejections)));
        }
        for (auto& tail : tails) tail_threads.emplace_back([&tail](std::stop_token stop) { tail->run(stop); });

        // 6. Monitoring: windows and detectors, alerts, retraining, audits,
        //    each a worker on its own connection, reading what the last wrote.
        Monitoring monitoring(initial, live.generation(), metrics, rejections);
        monitoring.start();

        // 7. HTTP: ingest, admin, health, metrics.
        HttpServer* server_for_metrics = nullptr;  // set once the server exists
        std::uint64_t last_fsyncs = 0;
        std::vector<FileTailCounters> last_tail_counters(tails.size());
        store::DrainStats last_drain;
        auto refresh_metrics = [&] {
            const auto spool_stats = spool.stats();
            const auto drain_stats = drain.stats();
            metrics.spool_bytes.Set(static_cast<double>(spool_stats.bytes_on_disk));
            metrics.spool_segments.Set(static_cast<double>(spool_stats.segments));
            metrics.spool_backlog_bytes.Set(static_cast<double>(spool_stats.undrained_bytes));
            metrics.spool_fsyncs.Increment(static_cast<double>(spool_stats.fsyncs - last_fsyncs));
            last_fsyncs = spool_stats.fsyncs;
            metrics.store_up.Set(probe.status().reachable ? 1 : 0);
            metrics.store_lag_seconds.Set(
                spool_stats.oldest_undrained_us == 0
                    ? 0.0
                    : static_cast<double>(now_us() - spool_stats.oldest_undrained_us) / 1e6);
            metrics.store_rows_written_predictions.Increment(
                static_cast<double>(drain_stats.predictions_written - last_drain.predictions_written));
            metrics.store_rows_written_outcomes.Increment(
                static_cast<double>(drain_stats.outcomes_written - last_drain.outcomes_written));
            metrics.store_duplicates_ignored.Increment(
                static_cast<double>(drain_stats.duplicates_ignored - last_drain.duplicates_ignored));
            metrics.store_batches_quarantined.Increment(
                static_cast<double>(drain_stats.batches_quarantined - last_drain.batches_quarantined));
            metrics.store_write_errors.Increment(
                static_cast<double>(drain_stats.write_errors - last_drain.write_errors));
            last_drain = drain_stats;
            for (std::size_t i = 0; i < tails.size(); ++i) {
                const auto counters = tails[i]->counters();
                auto& last = last_tail_counters[i];
                const auto& path = initial->file_tails[i].path;
                auto add = [](prometheus::Counter& counter, std::uint64_t now, std::uint64_t before) {
                    counter.Increment(static_cast<double>(now - before));
                };
                add(metrics.file_tail_lines.Add({{"path", path}, {"result", "delivered"}}), counters.lines_delivered,
                    last.lines_delivered);
                add(metrics.file_tail_lines.Add({{"path", path}, {"result", "rejected"}}), counters.lines_rejected,
                    last.lines_rejected);
                add(metrics.file_tail_lines.Add({{"path", path}, {"result", "too_long"}}), counters.lines_too_long,
                    last.lines_too_long);
                add(metrics.file_tail_events.Add({{"path", path}, {"event", "rotation"}}), counters.rotations,
                    last.rotations);
                add(metrics.file_tail_events.Add({{"path", path}, {"event", "truncation"}}), counters.truncations,
                    last.truncations);
                add(metrics.file_tail_events.Add({{"path", path}, {"event", "error"}}), counters.errors, last.errors);
                last = counters;
            }
            if (server_for_metrics) metrics.open_connections.Set(static_cast<double>(server_for_metrics->open_connections()));
        };
        std::mutex metrics_mutex;  // /metrics may be scraped from two io threads at once
        auto readiness = [&] {
            const auto spool_stats = spool.stats();
            const auto store = probe.status();
            Readiness ready;
            ready.store_reachable = store.reachable;
            ready.store_error = store.error;
            ready.store_answered_ms_ago = store.since_success_ms;
            ready.drain_error = drain.stats().last_error;
            ready.spool_healthy = spool_stats.healthy;
            // "Room" leaves a tenth of the budget so readiness turns before 503s do.
            ready.spool_has_room = spool_stats.bytes_on_disk < spool.max_bytes() / 10 * 9;
            ready.spool_bytes = spool_stats.bytes_on_disk;
            ready.config_generation = live.generation();
            ready.workers = monitoring.workers();
            return ready;
        };
        Api api(live, pipeline, monitoring, rejections, metrics, *registry, readiness, [&] {
            std::lock_guard lock(metrics_mutex);
            refresh_metrics();
        });

        asio::io_context io;
        HttpServer server(io, initial->server, api, metrics);
        server.start();
        server_for_metrics = &server;

        // 8. Signals, served by the event loop. Neither handler waits for a
        //    worker: a reload publishes the configuration, a stop asks.
        asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
        std::atomic<bool> stopping{false};  // read by the watchdog's thread
        std::function<void()> wait_for_signal = [&] {
            signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
                if (ec) return;
                if (signal_number == SIGHUP) {
                    notifier.reloading();
                    reload(config_path, live, monitoring, metrics, notifier);
                    notifier.ready();
                    wait_for_signal();
                    return;
                }
                log::notice("stopping signal={}", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
                stopping = true;
                notifier.stopping();
                server.stop_accepting();
                // Passes end at their next safe point while requests are answered.
                monitoring.request_stop();
                io.stop();
            });
        };
        wait_for_signal();

        // 9. The watchdog: its own thread, fed only while the spool, the
        //    event loop (ticking below) and every worker make progress.
        std::atomic<std::int64_t> event_loop_ticked{std::chrono::steady_clock::now().time_since_epoch().count()};
        asio::steady_timer tick_timer(io);
        std::function<void()> arm_tick = [&] {
            event_loop_ticked = std::chrono::steady_clock::now().time_since_epoch().count();
            tick_timer.expires_after(event_loop_tick);
            tick_timer.async_wait([&](const boost::system::error_code& ec) {
                if (!ec) arm_tick();
            });
        };
        arm_tick();
        Watchdog watchdog(notifier, metrics, [&] {
            Vitals vitals;
            vitals.spool_healthy = spool.stats().healthy;
            const auto ticked = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(event_loop_ticked));
            vitals.event_loop_silent =
                stopping ? std::chrono::milliseconds(0)  // the loop is being taken down on purpose
                         : std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - ticked);
            vitals.workers = monitoring.workers();
            return vitals;
        });
        watchdog.start();

        asio::steady_timer status_timer(io);
        std::function<void()> arm_status = [&] {
            status_timer.expires_after(status_interval);
            status_timer.async_wait([&](const boost::system::error_code& ec) {
                if (ec) return;
                const auto spool_stats = spool.stats();
                const auto drain_stats = drain.stats();
                notifier.status(fmt::format("store {}; spool {} bytes; {} predictions, {} outcomes stored",
                                            probe.status().reachable ? "up" : "DOWN", spool_stats.bytes_on_disk,
                                            drain_stats.predictions_written, drain_stats.outcomes_written));
                arm_status();
            });
        };
        arm_status();

        // 10. Ready.
        notifier.ready();
        notifier.status("accepting requests");
        log::notice("ready port={}", server.bound_port());

        const unsigned io_threads = std::max(2u, std::thread::hardware_concurrency());
        std::vector<std::thread> io_runners;
        for (unsigned i = 1; i < io_threads; ++i) io_runners.emplace_back([&io] { io.run(); });
        io.run();
        for (auto& runner : io_runners) runner.join();
        if (!stopping) throw std::runtime_error("the event loop ended unexpectedly");

        // Shutdown: the same steps in reverse, each bounded.
        // 7. HTTP: accept nothing new (done by the signal handler), answer what is in flight.
        io.restart();
        const auto deadline = std::chrono::steady_clock::now() + request_drain_timeout;
        while (api.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(20));
        io.run_for(std::chrono::milliseconds(50));  // let the last answers reach their sockets
        if (api.in_flight() > 0) log::warning("shutdown_requests_abandoned in_flight={}", api.in_flight());

        // 6. Monitoring: passes were asked to stop at a safe point; what they
        //    have not done is in the store for the next start. A worker that
        //    reaches none in time is left behind (its open transaction dies
        //    with the process), so the exit below skips the destructors.
        const bool workers_stopped = monitoring.stop(worker_stop_timeout);

        // 5. Collectors stop reading; their checkpoints only cover what the spool acknowledged.
        for (auto& thread : tail_threads) thread.request_stop();
        tail_threads.clear();

        // 4, 3. The spool syncs and answers everything queued, then the drain
        //    gets spool.stop_drain_timeout to empty it into PostgreSQL.
        spool.stop();
        // The drain time in force now: a reload may have changed it.
        const auto drain_deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(live.get()->spool.stop_drain_timeout_ms);
        while (std::chrono::steady_clock::now() < drain_deadline) {
            if (drain.wait_drained(200)) break;
            // With PostgreSQL gone (the probe fails and the drain's last
            // attempt failed too) waiting cannot help: the spool keeps the
            // records for the next start. A drain still making its first
            // connection has no error yet and is waited for.
            const auto drain_stats = drain.stats();
            if (!probe.status().reachable && !drain_stats.store_reachable && !drain_stats.last_error.empty()) {
                log::warning("stop_drain_skipped reason=\"store unreachable\" error=\"{}\"", drain_stats.last_error);
                break;
            }
        }
        drain.stop();
        probe.stop();
        watchdog.stop();
        const auto left = spool.stats();
        const bool drained = left.oldest_undrained_us == 0;
        if (drained) {
            log::notice("stopped drained=true");
        } else {
            // Not lost: replayed into PostgreSQL at the next start.
            log::warning("stopped drained=false spool_left_batches={} spool_left_bytes={} oldest_left={} "
                         "spool_dir={} drain_error=\"{}\"",
                         left.undrained_batches, left.bytes_on_disk, format_rfc3339_us(left.oldest_undrained_us),
                         initial->spool.dir, drain.stats().last_error);
        }
        const int jobs = monitoring.jobs_running();
        if (jobs > 0) {
            // A training job may run for hours; the daemon does not wait for
            // it. Its process group is left to systemd's KillMode, and the job
            // is failed as stale at the next start.
            log::warning("stopped_with_jobs_running jobs={}", jobs);
        }
        if (jobs > 0 || !workers_stopped) std::_Exit(0);
        return 0;
    } catch (const std::exception& error) {
        log::error("startup_failed error=\"{}\"", error.what());
        notifier.status(std::string("failed: ") + error.what());
        return 1;
    }
}

}  // namespace mw::daemon
