// The configuration in force. SIGHUP swaps in a new one as a whole; readers
// take a snapshot per request, so a request never sees half of a reload.
// Each configuration has a generation: 1 at start, one more per successful
// reload (shown in /readyz and as modelwatch_config_generation, so a reload
// can be seen to have taken effect).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "config/config.h"

namespace mw::daemon {

class LiveConfig {
public:
    explicit LiveConfig(config::Config initial) : current_(std::make_shared<const config::Config>(std::move(initial))) {}

    std::shared_ptr<const config::Config> get() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    std::uint64_t generation() const {
        std::lock_guard lock(mutex_);
        return generation_;
    }
    // Makes `next` the configuration in force; returns its generation.
    std::uint64_t set(std::shared_ptr<const config::Config> next) {
        std::lock_guard lock(mutex_);
        current_ = std::move(next);
        return ++generation_;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const config::Config> current_;
    std::uint64_t generation_ = 1;
};

}  // namespace mw::daemon
