// What the monitor's stages conclude about one window, gathered in memory and
// stored in one transaction (store::record_window, record_window_performance).
#pragma once

#include <cstdint>
#include <vector>

#include "core/finding.h"
#include "store/monitor_store.h"

namespace mw::daemon {

struct WindowVerdicts {
    std::vector<Finding> findings;
    std::vector<store::WindowMetric> metrics;
};

// The first and last prediction's ts of a window, the span its findings name.
struct WindowSpan {
    std::int64_t start_us = 0;
    std::int64_t end_us = 0;
};

}  // namespace mw::daemon
