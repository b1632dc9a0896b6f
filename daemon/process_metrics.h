// The metrics read from the process's components rather than counted where
// things happen: the spool's size and fsyncs, whether PostgreSQL answers and
// how far the store lags, the rows the drain wrote, the file tails' lines
// and events, the NATS collector's messages, the open connections, the read
// sessions. Refreshed before each /metrics scrape;
// the counters advance by what the components' totals grew since the last.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collectors/file_tail.h"
#include "collectors/nats_collector.h"
#include "daemon/metrics.h"
#include "store/read_sessions.h"
#include "store/spool.h"
#include "store/spool_drain.h"
#include "store/store_probe.h"

namespace mw::daemon {

class HttpServer;

class ProcessMetrics {
public:
    // `tail_paths` label the tails, in the order of `tails`.
    ProcessMetrics(DaemonMetrics& metrics, const store::Spool& spool, const store::SpoolDrain& drain,
                   const store::StoreProbe& probe, const std::vector<std::unique_ptr<FileTail>>& tails,
                   std::vector<std::string> tail_paths, const NatsCollector* nats);

    // The HTTP server, once it exists (it needs the API, which refreshes these).
    void watch_server(const HttpServer& server);
    // Read sessions to export under {purpose="<purpose>"}, for as long as this lives.
    void watch_read_sessions(std::string purpose, const store::ReadSessions& sessions);
    // Safe from several threads: /metrics may be scraped from two io threads at once.
    void refresh();

private:
    DaemonMetrics& metrics_;
    const store::Spool& spool_;
    const store::SpoolDrain& drain_;
    const store::StoreProbe& probe_;
    const std::vector<std::unique_ptr<FileTail>>& tails_;
    const std::vector<std::string> tail_paths_;
    const NatsCollector* nats_;  // null without nats:
    std::mutex mutex_;
    const HttpServer* server_ = nullptr;
    struct WatchedReads {
        std::string purpose;
        const store::ReadSessions* sessions;
        store::ReadSessionStats last;  // at the last refresh
    };
    std::vector<WatchedReads> reads_;
    // The totals at the last refresh.
    std::uint64_t last_fsyncs_ = 0;
    std::uint64_t last_admissions_refused_ = 0;
    store::DrainStats last_drain_;
    std::vector<FileTailCounters> last_tail_counters_;
    NatsCounters last_nats_predictions_;
    NatsCounters last_nats_outcomes_;
};

}  // namespace mw::daemon
