// The configuration in force. SIGHUP swaps in a new one as a whole; readers
// take a snapshot per request, so a request never sees half of a reload.
#pragma once

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
    void set(config::Config next) {
        auto shared = std::make_shared<const config::Config>(std::move(next));
        std::lock_guard lock(mutex_);
        current_ = std::move(shared);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const config::Config> current_;
};

}  // namespace mw::daemon
