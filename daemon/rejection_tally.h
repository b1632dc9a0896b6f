// Records rejected at ingest (HTTP and file tails), counted per model, kind,
// reason and second until the monitor worker stores them in
// rejection_counts, where each window reads its rejected share. Prometheus
// has the same counts as running totals; the store has them over time, for
// every daemon writing to it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/record.h"
#include "store/monitor_store.h"

namespace mw::daemon {

class RejectionTally {
public:
    // Distinct (model, kind, reason, second) keys held while the store is
    // unreachable; past it new keys are dropped (and logged), so a long
    // outage under a flood of bad input cannot grow memory without bound.
    static constexpr std::size_t max_keys = 100000;

    void add(const std::string& model, RecordKind kind, std::string_view reason, std::int64_t at_us,
             std::int64_t count = 1);
    // What was counted since the last take, emptying the tally.
    std::vector<store::RejectionCount> take();
    // Counts a failed store write did not keep: merged back for the next try.
    void give_back(const std::vector<store::RejectionCount>& counts);

private:
    using Key = std::tuple<std::string, std::string, std::string, std::int64_t>;
    void add_locked(Key key, std::int64_t count);

    std::mutex mutex_;
    std::map<Key, std::int64_t> counts_;
    std::int64_t dropped_ = 0;
};

}  // namespace mw::daemon
