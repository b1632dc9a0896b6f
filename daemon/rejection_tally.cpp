#include "daemon/rejection_tally.h"

#include "core/log.h"

namespace mw::daemon {

void RejectionTally::add(const std::string& model, RecordKind kind, std::string_view reason, std::int64_t at_us,
                         std::int64_t count) {
    const std::int64_t second_us = at_us - ((at_us % 1000000) + 1000000) % 1000000;
    std::lock_guard lock(mutex_);
    add_locked({model, to_string(kind), std::string(reason), second_us}, count);
}

void RejectionTally::add_locked(Key key, std::int64_t count) {
    auto it = counts_.find(key);
    if (it != counts_.end()) {
        it->second += count;
        return;
    }
    if (counts_.size() >= max_keys) {
        if (dropped_++ == 0)
            log::warning("rejection_tally_full keys={} note=\"counts are kept in Prometheus only until the store "
                         "is reachable\"",
                         counts_.size());
        return;
    }
    counts_.emplace(std::move(key), count);
}

std::vector<store::RejectionCount> RejectionTally::take() {
    std::map<Key, std::int64_t> taken;
    {
        std::lock_guard lock(mutex_);
        taken.swap(counts_);
        dropped_ = 0;
    }
    std::vector<store::RejectionCount> counts;
    counts.reserve(taken.size());
    for (auto& [key, count] : taken) {
        auto& [model, kind, reason, second_us] = key;
        counts.push_back({model, kind, reason, second_us, count});
    }
    return counts;
}

void RejectionTally::give_back(const std::vector<store::RejectionCount>& counts) {
    std::lock_guard lock(mutex_);
    for (const auto& count : counts) add_locked({count.model, count.kind, count.reason, count.second_us}, count.count);
}

}  // namespace mw::daemon
