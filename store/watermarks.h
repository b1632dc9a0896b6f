// How far the rows in PostgreSQL are complete, so that a monitor takes a
// reference or closes a window only over rows that are certainly all stored.
//
// A drain writes consecutive spool ranges in parallel, each in its own
// transaction, so a later range can commit before an earlier one; and
// several daemons write one database. Each daemon's drain publishes its
// spool's watermark (store/spool.h, Spool::stored_before_us: every record it
// received before it is stored) here, a few times a second and after its
// ranges commit, keyed by its cluster.daemon_id. A monitor reads rows
// received before the minimum over the live writers: its own daemon's
// watermark, taken from its spool in memory, and the others' from this table.
//
// A writer is live while its daemon heartbeats (store/leases.h: within
// cluster.lease) or it published within cluster.lease, both measured with
// the database's clock: a drain slow to write (it publishes between writes)
// still holds the others back while its daemon lives, and so does a drain
// that starts before its daemon's first heartbeat. A daemon killed -9, or
// cut off from PostgreSQL, stops holding the others back once a lease has
// passed; the rows in its spool are then late when they arrive, as any row
// received after a window closed. A daemon stopping cleanly with its spool
// drained withdraws its row at once. An idle writer's watermark is its clock
// (nothing is held), so it never stalls the others.
//
// The watermark is in the writer's receipt clock, the clock of the
// received_at it stamps; each writer's rows are compared with a bound no
// later than its own watermark, so the daemons' clocks need not agree.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/connection_base>

namespace mw::store {

// Records `writer`'s watermark (microseconds since the Unix epoch) now.
void publish_watermark(pqxx::connection_base& connection, const std::string& writer, std::int64_t stored_before_us);

// A row not published for this long belongs to a daemon long gone (killed,
// never stopped cleanly, with a per-process id): nothing reads it any more.
inline constexpr std::chrono::hours watermark_forgotten_after{24};

// Deletes the rows not published since `now_us` - watermark_forgotten_after
// (the retention pass's, store/retention.h, not every publish's: a drain
// publishes every 250 ms); returns how many.
std::int64_t forget_watermarks(pqxx::connection_base& connection, std::int64_t now_us);

// `writer` holds nothing back any more (a clean stop with nothing left to store).
void withdraw_watermark(pqxx::connection_base& connection, const std::string& writer);

// The lowest watermark of the writers other than `except` that published
// within `live_for`; none when there is none.
std::optional<std::int64_t> others_stored_before(pqxx::connection_base& connection, const std::string& except,
                                                 std::chrono::milliseconds live_for);

// What a monitor of daemon `local_writer` reads rows up to: the lower of its
// own watermark (`local_us`, from its spool) and the other live writers'.
// Read it before the rows: every row received before it is visible then.
std::int64_t stored_before(pqxx::connection_base& connection, std::int64_t local_us, const std::string& local_writer,
                           std::chrono::milliseconds live_for);

}  // namespace mw::store
