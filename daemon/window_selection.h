// Which predictions make a model's next window: count windows (tumbling, or
// sliding by step_rows) in (ts, id) order, or tumbling time windows aligned
// to the epoch and closed `lateness_ms` after their end. The store's last
// window is the cursor, so a pass that failed is simply repeated.
//
// Only rows that are certainly all stored decide a window: those received
// before `stored_before_us`, the writers' watermark (store/watermarks.h).
// A count window is the next rows among those; a time window closes once
// the watermark (and the clock) passed its end plus lateness, so every row
// received by then is in it. A row received after that with a (ts, id) a
// closed window already passed is late, as before.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection_base>

#include "config/config.h"
#include "store/monitor_store.h"

namespace mw::daemon {

// Whether a time span ending at `end_us` (a time window, a time_range
// reference) can close: the clock and the writers' watermark are both past
// its end plus window.lateness, so every row received by then is stored.
bool time_span_closed(std::int64_t end_us, const config::WindowOptions& window, std::int64_t now_us,
                      std::optional<std::int64_t> stored_before_us);

// The rows of the window after `previous` (the first window when none),
// starting after `reference_end` when the reference's own rows are the
// model's latest; none when it cannot close yet.
std::optional<std::vector<store::WindowRow>> next_window_rows(pqxx::connection_base& connection,
                                                              const std::string& model,
                                                              const config::WindowOptions& window,
                                                              const std::optional<store::StoredWindow>& previous,
                                                              const std::optional<store::RowKey>& reference_end,
                                                              std::int64_t now_us,
                                                              std::optional<std::int64_t> stored_before_us);

}  // namespace mw::daemon
