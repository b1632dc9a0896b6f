#include "daemon/watchdog.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/log.h"

namespace mw::daemon {

Watchdog::Watchdog(SystemdNotifier& notifier, DaemonMetrics& metrics, std::function<Vitals()> vitals)
    : notifier_(notifier), metrics_(metrics), vitals_(std::move(vitals)) {}

Watchdog::~Watchdog() { stop(); }

void Watchdog::start() {
    // At most half of WATCHDOG_USEC, as sd_watchdog_enabled(3) recommends,
    // and at least once a second, so the log and the gauges stay current.
    auto period = std::chrono::milliseconds(1000);
    if (const auto interval = notifier_.watchdog_interval())
        period = std::min(period, std::chrono::duration_cast<std::chrono::milliseconds>(*interval));
    thread_ = std::jthread([this, period](std::stop_token stop) {
        while (!stop.stop_requested()) {
            check();
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, stop, period, [] { return false; });
        }
    });
}

void Watchdog::stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    thread_.join();
}

std::vector<std::string> Watchdog::check() {
    const Vitals vitals = vitals_();
    std::vector<std::string> problems;
    if (!vitals.spool_healthy) problems.emplace_back("spool writer failed or stalled");
    if (vitals.event_loop_silent > event_loop_limit)
        problems.push_back(fmt::format("HTTP event loop silent for {} ms", vitals.event_loop_silent.count()));
    for (const auto& worker : vitals.workers) {
        const bool stuck = worker.state == WorkerState::stuck;
        metrics_.worker_stuck.Add({{"worker", worker.name}}).Set(stuck ? 1 : 0);
        auto& was_stuck = stuck_[worker.name];
        if (stuck && !was_stuck)
            log::error("worker_stuck worker={} pass_running_ms={} since_progress_ms={} config_generation={}",
                       worker.name, worker.current_pass_ms, worker.since_progress_ms, worker.config_generation);
        else if (!stuck && was_stuck)
            log::notice("worker_unstuck worker={} state={}", worker.name, to_string(worker.state));
        was_stuck = stuck;
        if (stuck)
            problems.push_back(fmt::format("worker {} stuck: no progress for {} ms", worker.name,
                                           worker.since_progress_ms));
    }
    if (problems.empty()) {
        if (withheld_) log::notice("watchdog_resumed");
        withheld_ = false;
        if (notifier_.watchdog_interval())
            if (const auto sent = notifier_.watchdog(); !sent.ok)
                log::warning("sd_notify_failed error=\"{}\"", sent.error);
        return problems;
    }
    if (!withheld_) {
        std::string text;
        for (const auto& problem : problems) {
            if (!text.empty()) text += "; ";
            text += problem;
        }
        // Under systemd this ends in a restart after WatchdogSec.
        log::error("watchdog_withheld enabled={} reason=\"{}\"", notifier_.watchdog_interval().has_value(), text);
    }
    withheld_ = true;
    return problems;
}

}  // namespace mw::daemon
