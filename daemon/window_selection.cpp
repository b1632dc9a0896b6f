#include "daemon/window_selection.h"

#include <algorithm>

#include "core/time.h"

namespace mw::daemon {
namespace {

// A time window holds at most this many predictions; beyond it the detectors
// read the first ones (the tests' sampling error is then that of this many).
constexpr std::size_t max_time_window_rows = 200000;

bool key_less(const store::RowKey& a, const store::RowKey& b) {
    return a.ts_us != b.ts_us ? a.ts_us < b.ts_us : a.id < b.id;
}

}  // namespace

bool time_span_closed(std::int64_t end_us, const config::WindowOptions& window, std::int64_t now_us,
                      std::optional<std::int64_t> stored_before_us) {
    const std::int64_t closes_at_us = end_us + static_cast<std::int64_t>(window.lateness_ms) * 1000;
    return std::min(now_us, stored_before_us.value_or(now_us)) >= closes_at_us;
}

std::optional<std::vector<store::WindowRow>> next_window_rows(pqxx::connection_base& connection,
                                                              const std::string& model,
                                                              const config::WindowOptions& window,
                                                              const std::optional<store::StoredWindow>& previous,
                                                              const std::optional<store::RowKey>& reference_end,
                                                              std::int64_t now_us,
                                                              std::optional<std::int64_t> stored_before_us) {
    std::optional<store::RowKey> base;
    std::size_t skip = 0;
    if (previous) {
        const bool sliding = window.step_rows != 0 && window.step_rows < window.rows && window.duration_ms == 0;
        base = sliding ? previous->first : previous->last;
        skip = sliding ? window.step_rows - 1 : 0;
    }
    // Windows start after the reference's own rows (after a reset too).
    if (reference_end && (!previous || key_less(previous->last, *reference_end))) {
        base = reference_end;
        skip = 0;
    }
    if (window.duration_ms == 0) {
        // Counted before it is read: a window that is not full yet would
        // otherwise be read whole, features as JSON text and outcomes
        // joined, on every pass while it fills, which at a million rows cost
        // PostgreSQL more than storing them (bench/RESULTS.md, "Where
        // PostgreSQL's CPU goes during ingest"). The count ignores the
        // watermark (it reads the index, not received_at), so it is an upper
        // bound of what the read below returns: short means not full.
        const std::size_t wanted = skip + window.rows;
        if (store::count_predictions_after(connection, model, base, wanted) < wanted) return std::nullopt;
        auto rows = store::read_predictions_after(connection, model, base, wanted, {},
                                                  store::ReceivedRange{std::nullopt, stored_before_us});
        if (rows.size() < wanted) return std::nullopt;
        rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(skip));
        return rows;
    }
    const auto first = store::read_predictions_after(connection, model, base, 1);
    if (first.empty()) return std::nullopt;
    const std::int64_t width_us = static_cast<std::int64_t>(window.duration_ms) * 1000;
    const std::int64_t start_us = floor_to(first.front().ts_us, width_us);
    const std::int64_t end_us = start_us + width_us;
    if (!time_span_closed(end_us, window, now_us, stored_before_us)) return std::nullopt;
    auto rows = store::read_predictions_between(connection, model, start_us, end_us, max_time_window_rows);
    if (base) std::erase_if(rows, [&](const store::WindowRow& row) { return !key_less(*base, {row.ts_us, row.id}); });
    return rows;
}

}  // namespace mw::daemon
