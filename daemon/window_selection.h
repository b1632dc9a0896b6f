// Which predictions make a model's next window: count windows (tumbling, or
// sliding by step_rows) in (ts, id) order, or tumbling time windows aligned
// to the epoch and closed `lateness_ms` after their end. The store's last
// window is the cursor, so a pass that failed is simply repeated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "config/config.h"
#include "store/monitor_store.h"

namespace mw::daemon {

// The rows of the window after `previous` (the first window when none),
// starting after `reference_end` when the reference's own rows are the
// model's latest; none when it cannot close yet.
std::optional<std::vector<store::WindowRow>> next_window_rows(pqxx::connection_base& connection,
                                                              const std::string& model,
                                                              const config::WindowOptions& window,
                                                              const std::optional<store::StoredWindow>& previous,
                                                              const std::optional<store::RowKey>& reference_end,
                                                              std::int64_t now_us);

}  // namespace mw::daemon
