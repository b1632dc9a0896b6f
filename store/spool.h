// The spool makes an accepted record durable before PostgreSQL has it.
//
// Batches, already encoded as COPY rows, are appended as checksummed frames to
// segment files in one directory. One writer thread gathers every batch that
// arrived while the previous fdatasync ran and syncs them together (group
// commit), then tells each submitter; only then may a client be answered 2xx.
// The drain reads frames back in order, one read at a time, hands each range
// to the store (several may be in flight) and commits positions in read
// order, which lets fully drained segments be deleted.
//
// Every batch is stamped with its time of receipt (Receipt) before it is
// encoded: its rows' received_at. Stamps come from the spool's clock and
// never go below a stamp or watermark given before (with the wall clock
// stepped back they go on a microsecond apart from the last one until it
// catches up, so received_at is then ahead of the clock), so
// stored_before_us() is the drain's watermark: every record received before
// it is in the store. It is the oldest stamp not yet stored (held from
// receive() through encoding, the queue, the disk and the drain, until the
// range holding it is committed in order), or the clock when nothing is
// held: an idle spool's watermark is now. Recovery holds the stamps of the
// frames it finds undrained.
//
// Each frame also keeps its batch's model and the id of the privacy key its
// values were hashed under (EncodedBatch; frame version 2, store/spool.cpp),
// so the drain can refuse a batch hashed under a key PostgreSQL does not
// record for the model (store/spool_drain.h); version-1 frames still read.
//
// A write or fdatasync that fails (a full disk: the disk can fill long
// before max_bytes) is answered `failed`, never acknowledged, and cut off
// the segment. Drained bytes leave the disk only with their segment, so
// after such a failure the segment is rolled as soon as the drain has all
// of it: the drain then deletes it and writes resume without a restart.
//
// A crash can leave a torn frame at the end of the newest segment: it was
// never acknowledged, so recovery truncates it. Frames that were written but
// not yet acknowledged may survive a crash and be stored: the store is
// idempotent by (model, id), so a client retrying them does no harm.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collectors/ingest_sink.h"
#include "config/config.h"
#include "core/record.h"
#include "store/backlog_admission.h"
#include "store/encoded_batch.h"

namespace mw::store {

// A point in the spool: a segment number and a byte offset inside it.
struct SpoolPosition {
    std::uint64_t segment = 0;
    std::uint64_t offset = 0;
    auto operator<=>(const SpoolPosition&) const = default;
};

struct SpoolStats {
    std::uint64_t bytes_on_disk = 0;
    std::uint64_t segments = 0;
    std::uint64_t frames_recovered = 0;  // at open: frames waiting to be drained
    std::uint64_t bytes_truncated = 0;   // at open: torn tail removed
    std::uint64_t fsyncs = 0;
    std::int64_t oldest_undrained_us = 0;  // its receipt (received_at); 0 when everything is drained
    std::uint64_t undrained_batches = 0;   // acknowledged batches (one per request or tail chunk) not yet stored
    std::uint64_t undrained_bytes = 0;     // bytes of those batches' frames (the backlog, unlike bytes_on_disk)
    // Admission control (store/backlog_admission.h): the part of the backlog
    // counted against spool.max_backlog_seconds (not exempt), the drain's
    // measured rate (0 while unknown), that backlog in seconds of drain, and
    // the batches refused for it so far.
    std::uint64_t counted_backlog_bytes = 0;
    double drain_bytes_per_second = 0;
    double backlog_drain_seconds = 0;
    std::uint64_t admissions_refused = 0;
    bool admitting = true;  // whether a batch appended now would pass admission control
    // False after a failed write or sync, and while one write+fdatasync has
    // been running for longer than a stuck disk should take (the watchdog
    // stops pinging then, so systemd restarts the daemon).
    bool healthy = true;
};

class Spool {
public:
    // A batch's time of receipt, in microseconds since the Unix epoch: the
    // received_at its rows are encoded with. Held (stored_before_us() stays
    // at or before it) until the batch appended with it is stored, or until
    // the append refuses it, or until it is destroyed without an append.
    class Receipt {
    public:
        Receipt() = default;
        Receipt(Receipt&& other) noexcept;
        Receipt& operator=(Receipt&& other) noexcept;
        Receipt(const Receipt&) = delete;
        Receipt& operator=(const Receipt&) = delete;
        ~Receipt();
        std::int64_t received_us() const { return received_us_; }

    private:
        friend class Spool;
        Receipt(Spool* spool, std::int64_t received_us) : spool_(spool), received_us_(received_us) {}
        Spool* spool_ = nullptr;  // none once appended or released
        std::int64_t received_us_ = 0;
    };

    // Opens or creates the directory and recovers existing segments. Throws
    // std::runtime_error when the directory cannot be used at all.
    // `receipt_clock` (microseconds since the Unix epoch) stamps receipts:
    // the system clock unless a test injects one.
    explicit Spool(const config::SpoolOptions& options, std::function<std::int64_t()> receipt_clock = {});
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    void start();
    // Syncs and answers everything submitted so far, then stops the writer.
    void stop();

    // Stamps a batch about to be encoded (see Receipt).
    Receipt receive();
    // Appends a batch encoded with `receipt`'s stamp (a receipt of this
    // spool; std::logic_error otherwise); `done` runs once on the writer
    // thread after fdatasync, or at once with spool_full when the batch
    // would exceed the disk budget or the backlog is past
    // spool.max_backlog_seconds of drain (then with
    // IngestResult::retry_after_seconds).
    void append(EncodedBatch batch, Receipt receipt, std::function<void(IngestResult)> done);
    // The watermark: every record received (stamped) before it is in the
    // store, and no later receipt is stamped before it.
    std::int64_t stored_before_us();

    // Drain side (one call at a time). Reads durable batches from where the
    // previous read ended (the drain position after open), at most
    // `max_records` records (at least one batch when any is ready), waiting up
    // to `wait_ms` for data; `end` receives the position after them. Several
    // reads may be in the store's hands at once (parallel drain connections);
    // each is committed, in read order, once stored.
    std::vector<EncodedBatch> read(std::size_t max_records, int wait_ms, SpoolPosition& end);
    // Everything before `position` is in the store: persist it, delete drained
    // segments. Positions must be committed in increasing order.
    void commit_drained(SpoolPosition position);
    // Wakes a drain thread blocked in read().
    void interrupt_reader();
    // The drain lost PostgreSQL: until its next commit, admission control
    // refuses nothing and what is acknowledged meanwhile is exempt from it.
    void store_unreachable();

    // The refusal append() would give any batch now for admission control
    // (counted as one), or none.
    std::optional<IngestResult> admission_refusal();

    SpoolStats stats() const;
    std::uint64_t max_bytes() const { return options_.max_bytes; }

private:
    struct Pending {
        EncodedBatch batch;
        std::int64_t received_us = 0;  // its receipt, held
        std::function<void(IngestResult)> done;
        bool exempt = false;  // from admission control: acknowledged while the drain was interrupted
    };
    // An acknowledged frame not yet drained.
    struct UndrainedFrame {
        SpoolPosition end;
        std::int64_t received_us = 0;  // its receipt, held
        std::uint64_t bytes = 0;
        bool exempt = false;
    };

    // A receipt no longer held (its batch stored, refused or dropped); under mutex_.
    void forget_receipt(std::int64_t received_us);
    void release(Receipt& receipt);
    // Admission control's refusal of a batch now, counted; call under mutex_.
    std::optional<IngestResult> refuse_for_backlog(std::int64_t now_us);
    void recover();
    std::uint64_t scan_segment(std::uint64_t segment, bool is_newest);
    void open_segment_for_append(std::uint64_t segment);
    void roll_segment();
    void writer_loop();
    void write_group(std::vector<Pending>& group);
    void persist_drain_position(SpoolPosition position);
    std::string segment_path(std::uint64_t segment) const;

    config::SpoolOptions options_;
    std::function<std::int64_t()> receipt_clock_;

    mutable std::mutex mutex_;
    std::condition_variable writer_wakeup_;
    std::condition_variable reader_wakeup_;
    std::deque<Pending> queue_;
    std::uint64_t queued_bytes_ = 0;
    bool stopping_ = false;
    bool reader_interrupted_ = false;
    bool roll_requested_ = false;  // the drain caught up with a large current segment
    std::thread writer_;

    // Guarded by mutex_: what the reader may see and the budget accounting.
    SpoolPosition durable_end_;
    SpoolPosition drain_position_;  // everything before it is in the store
    SpoolPosition read_position_;   // where the next read() starts (>= drain_position_)
    std::deque<std::pair<std::uint64_t, std::uint64_t>> segment_sizes_;  // segment -> bytes, oldest first
    std::deque<UndrainedFrame> undrained_;  // oldest first
    // The receipts held: given out, queued or undrained (not in spool order:
    // a batch stamped first may be appended second).
    std::multiset<std::int64_t> held_receipts_;
    // The earliest the next receipt may be stamped: after every receipt and
    // watermark given.
    std::int64_t receipt_floor_us_ = 0;
    BacklogAdmission admission_;
    std::uint64_t counted_undrained_bytes_ = 0;  // of undrained_, the frames not exempt
    std::uint64_t counted_queued_bytes_ = 0;     // of queue_, the batches not exempt
    std::uint64_t admissions_refused_ = 0;
    std::uint64_t bytes_on_disk_ = 0;
    std::uint64_t frames_recovered_ = 0;
    std::uint64_t bytes_truncated_ = 0;
    std::uint64_t fsyncs_ = 0;
    bool healthy_ = true;

    // When the write in progress started on the steady clock (0 when none), for stall detection.
    std::atomic<std::int64_t> write_started_us_{0};

    // Owned by the writer thread (and recover() before it starts).
    int append_fd_ = -1;
    std::uint64_t append_segment_ = 0;
    std::uint64_t append_offset_ = 0;
    std::string write_buffer_;
};

}  // namespace mw::store
