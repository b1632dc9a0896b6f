// Feeds systemd's watchdog (WATCHDOG=1) from a thread of its own, and only
// while the daemon is really working: the spool writer healthy, the HTTP
// event loop turning, and no worker stuck in a pass (see periodic_worker.h
// for "stuck"). When something is wrong it says so once in the log and stops
// feeding, so systemd restarts the daemon after WatchdogSec; a slow pass that
// keeps reaching its safe points is not wrong.
//
// It runs without systemd too (no WATCHDOG_USEC): the log lines and the
// modelwatch_worker_stuck gauge do not depend on the watchdog.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/metrics.h"
#include "daemon/periodic_worker.h"
#include "daemon/sd_notify.h"

namespace mw::daemon {

// What the watchdog looks at, gathered by the daemon on each check.
struct Vitals {
    bool spool_healthy = true;
    std::chrono::milliseconds event_loop_silent{0};  // since the HTTP event loop last ticked
    std::vector<WorkerStatus> workers;
};

class Watchdog {
public:
    // The event loop ticks every second; silent for this long, it is hung.
    static constexpr std::chrono::milliseconds event_loop_limit{15000};

    Watchdog(SystemdNotifier& notifier, DaemonMetrics& metrics, std::function<Vitals()> vitals);
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    void start();
    void stop();
    // One check: logs what changed, sets the gauges, feeds systemd when all
    // is well. Returns what is wrong (empty: fed). Public for tests.
    std::vector<std::string> check();

private:
    SystemdNotifier& notifier_;
    DaemonMetrics& metrics_;
    std::function<Vitals()> vitals_;
    std::map<std::string, bool> stuck_;  // per worker, as last logged
    bool withheld_ = false;
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::jthread thread_;
};

}  // namespace mw::daemon
