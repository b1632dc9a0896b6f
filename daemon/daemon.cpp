#include "daemon/daemon.h"

#include <utility>  // before asio: Boost 1.74 + g++ 12 C++20 needs std::exchange declared

#include <chrono>
#include <memory>
#include <cstdlib>
#include <random>
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
#include "store/spool.h"
#include "store/spool_drain.h"

namespace mw::daemon {
namespace {

namespace asio = boost::asio;

// Shutdown bounds: how long answered-but-unwritten requests may take, and
// how long we keep draining the spool into PostgreSQL before exiting. What
// is not drained then stays in the spool and is replayed at the next start.
constexpr auto request_drain_timeout = std::chrono::seconds(10);
constexpr int store_drain_timeout_ms = 5000;
constexpr auto status_interval = std::chrono::seconds(5);
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
    if (old_config.store.dsn != new_config.store.dsn) changed.push_back("store.dsn");
    if (old_config.spool.dir != new_config.spool.dir || old_config.spool.max_bytes != new_config.spool.max_bytes)
        changed.push_back("spool");
    if (old_config.state_dir != new_config.state_dir) changed.push_back("state_dir");
    if (old_config.file_tails.size() != new_config.file_tails.size()) changed.push_back("file_tails");
    return changed;
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
    log::notice("starting version={} config={} models={}", MODELWATCH_VERSION, config_path, initial->models.size());

    if (!auth_enabled(*initial)) {
        // Open ingest is the loopback default's convenience; anywhere else it
        // is a mistake worth shouting about.
        const bool loopback = initial->server.listen_address.starts_with("127.") ||
                              initial->server.listen_address == "::1";
        if (loopback)
            log::notice("auth_disabled reason=\"no bearer tokens configured\" listen={} (loopback only)",
                        initial->server.listen_address);
        else
            log::warning("auth_disabled reason=\"no bearer tokens configured\" listen={}: anyone who can reach "
                         "this address can ingest; add server.tokens",
                         initial->server.listen_address);
    }

    auto notifier = SystemdNotifier::from_environment();
    if (!notifier.configuration_error().empty())
        log::warning("sd_notify_disabled reason=\"{}\"", notifier.configuration_error());

    try {
        // 2. Metrics: the one process-wide registry.
        auto registry = std::make_shared<prometheus::Registry>();
        DaemonMetrics metrics(*registry);

        // 3. The spool: recover what a previous run acknowledged but did not store.
        store::Spool spool(initial->spool);
        spool.start();
        metrics.spool_limit_bytes.Set(static_cast<double>(initial->spool.max_bytes));

        // 4. The store drain: connects, migrates and writes in the background,
        //    so ingest works while PostgreSQL is still down.
        store::SpoolDrain drain(spool, initial->store, initial->spool.dir);
        drain.start();

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
            metrics.spool_fsyncs.Increment(static_cast<double>(spool_stats.fsyncs - last_fsyncs));
            last_fsyncs = spool_stats.fsyncs;
            metrics.store_up.Set(drain_stats.store_reachable ? 1 : 0);
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
            const auto drain_stats = drain.stats();
            // "Room" leaves a tenth of the budget so readiness turns before 503s do.
            return Readiness{drain_stats.store_reachable, spool_stats.healthy,
                             spool_stats.bytes_on_disk < spool.max_bytes() / 10 * 9, drain_stats.last_error};
        };
        // 6. Monitoring: windows and detectors, alerts, retraining, audits,
        //    each a worker on its own connection, reading what the last wrote.
        Monitoring monitoring(*initial, metrics, rejections);
        monitoring.start();

        Api api(live, pipeline, monitoring, rejections, metrics, *registry, readiness, [&] {
            std::lock_guard lock(metrics_mutex);
            refresh_metrics();
        });

        asio::io_context io;
        HttpServer server(io, initial->server, api, metrics);
        server.start();
        server_for_metrics = &server;

        // 8. Signals and the watchdog, served by the same io_context.
        asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
        bool stopping = false;
        std::function<void()> wait_for_signal = [&] {
            signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
                if (ec) return;
                if (signal_number == SIGHUP) {
                    notifier.reloading();
                    auto reloaded = config::load_config_file(config_path);
                    std::vector<std::string> refused;
                    if (reloaded.ok()) refused = config::refused_reload_changes(*live.get(), *reloaded.config);
                    if (!reloaded.ok() || !refused.empty()) {
                        log_config_errors(reloaded);
                        for (const auto& change : refused)
                            log::error("config_reload_refused file={} {}", config_path, change);
                        log::error("config_reload_failed file={} errors={} keeping=previous", config_path,
                                   reloaded.errors.size() + refused.size());
                        metrics.config_reloads_failed.Increment();
                        notifier.status("configuration reload failed; previous configuration in force");
                    } else {
                        for (const auto& key : restart_only_changes(*live.get(), *reloaded.config))
                            log::warning("config_reload_needs_restart key=\"{}\"", key);
                        log::set_level(to_log_level(reloaded.config->log.level));
                        monitoring.reload(*reloaded.config);
                        live.set(std::move(*reloaded.config));
                        metrics.config_reloads_ok.Increment();
                        log::notice("config_reloaded file={} models={}", config_path, live.get()->models.size());
                    }
                    notifier.ready();
                    wait_for_signal();
                    return;
                }
                log::notice("stopping signal={}", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
                stopping = true;
                notifier.stopping();
                server.stop_accepting();
                io.stop();
            });
        };
        wait_for_signal();

        asio::steady_timer watchdog_timer(io);
        std::function<void()> arm_watchdog = [&] {
            const auto interval = notifier.watchdog_interval();
            if (!interval) return;
            watchdog_timer.expires_after(*interval);
            watchdog_timer.async_wait([&](const boost::system::error_code& ec) {
                if (ec) return;
                // The spool writer is what acknowledges data; if it has failed,
                // stop pinging and let systemd restart us.
                if (spool.stats().healthy) notifier.watchdog();
                arm_watchdog();
            });
        };
        arm_watchdog();

        asio::steady_timer status_timer(io);
        std::function<void()> arm_status = [&] {
            status_timer.expires_after(status_interval);
            status_timer.async_wait([&](const boost::system::error_code& ec) {
                if (ec) return;
                const auto spool_stats = spool.stats();
                const auto drain_stats = drain.stats();
                notifier.status(fmt::format("store {}; spool {} bytes; {} predictions, {} outcomes stored",
                                            drain_stats.store_reachable ? "up" : "DOWN", spool_stats.bytes_on_disk,
                                            drain_stats.predictions_written, drain_stats.outcomes_written));
                arm_status();
            });
        };
        arm_status();

        // 9. Ready.
        notifier.ready();
        notifier.status("accepting requests");
        log::notice("ready port={}", server.bound_port());

        const unsigned io_threads = std::max(2u, std::thread::hardware_concurrency());
        std::vector<std::thread> workers;
        for (unsigned i = 1; i < io_threads; ++i) workers.emplace_back([&io] { io.run(); });
        io.run();
        for (auto& worker : workers) worker.join();
        if (!stopping) throw std::runtime_error("the event loop ended unexpectedly");

        // Shutdown, in reverse. HTTP: answer what is in flight, accept nothing new.
        io.restart();
        const auto deadline = std::chrono::steady_clock::now() + request_drain_timeout;
        while (api.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(20));
        io.run_for(std::chrono::milliseconds(50));  // let the last answers reach their sockets
        if (api.in_flight() > 0) log::warning("shutdown_requests_abandoned in_flight={}", api.in_flight());

        // Monitoring finishes its current passes; what they have not done is
        // in the store for the next start.
        monitoring.stop();

        // Collectors stop reading; their checkpoints only cover what the spool acknowledged.
        for (auto& thread : tail_threads) thread.request_stop();
        tail_threads.clear();

        // The spool syncs and answers everything queued, then the drain gets a
        // bounded chance to empty it into PostgreSQL.
        spool.stop();
        const bool drained = drain.wait_drained(store_drain_timeout_ms);
        drain.stop();
        const auto spool_stats = spool.stats();
        log::notice("stopped drained={} spool_bytes_left={}", drained, spool_stats.bytes_on_disk);
        if (const int jobs = monitoring.jobs_running(); jobs > 0) {
            // A training job may run for hours; the daemon does not wait for
            // it. Its process group is left to systemd's KillMode, and the job
            // is failed as stale at the next start.
            log::warning("stopped_with_jobs_running jobs={}", jobs);
            std::_Exit(0);
        }
        return 0;
    } catch (const std::exception& error) {
        log::error("startup_failed error=\"{}\"", error.what());
        notifier.status(std::string("failed: ") + error.what());
        return 1;
    }
}

}  // namespace mw::daemon
