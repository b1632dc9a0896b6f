// Follows one NDJSON file, as fluent-bit's in_tail does for log files: reads
// complete lines from where it left off, hands them to the spool, and only
// then moves its checkpoint, so a line is never skipped and, short of a crash
// between the spool's fsync and the checkpoint's, never delivered twice (the
// store's ON CONFLICT on (model, id) absorbs that one window).
//
// Follows rotation (the file renamed and a new one created at the path: the
// old inode is read to its end first, then the new file from its start) and
// truncation (copytruncate: the size drops below the offset, or the first
// bytes change; reading restarts at 0). A writer reopens its file some time
// after the rename (logrotate's postrotate signal), so the old file is kept
// and read for rotate_wait_ms after the new one appears, as fluent-bit's
// in_tail does with Rotate_Wait; its unterminated last line, if any, is
// delivered at the switch. Not detected: lines a writer appends to the old
// file after that wait, and a file truncated then rewritten past the old
// offset with the same first 4 KiB. Only a regular file is read: a FIFO, a
// device (/dev/zero never ends) or a directory at the path is an error,
// logged and counted each poll, until a regular file is there again.
//
// Threading: poll_once() does one round of reading on the caller's thread;
// run() calls it every poll_interval_ms until stopped. One thread owns the
// object; counters() may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "collectors/checkpoint.h"
#include "collectors/ingest_sink.h"
#include "config/config.h"
#include "core/record.h"

namespace mw {

// The parse step: in the daemon, collectors/ingest_parser.h's
// parse_predictions or parse_outcomes (by FileTailOptions::kind) with the
// server's limits and the current time bound in.
// Every line of a chunk is parsed under the one schema given, which the
// batch then carries to the spool.
using ParseLines =
    std::function<ParsedLines(std::string_view ndjson_chunk, const std::shared_ptr<const ModelSchema>& schema)>;

struct FileTailLimits {
    // A line longer than this (without its newline) is skipped with a warning.
    std::size_t max_line_bytes = 1u << 20;
    // A chunk handed to the parser and the spool holds at most this many
    // lines and about this many bytes (one line may take it past).
    std::size_t max_batch_lines = 10000;
    std::size_t max_batch_bytes = 8u << 20;
    // How long a rotated-away file is still read after the new file appears
    // (fluent-bit in_tail's Rotate_Wait, default 5 s).
    std::uint32_t rotate_wait_ms = 5000;
};

using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

// Cumulative counts since construction, exported by the daemon as
//   modelwatch_file_tail_lines_total{path,result="delivered|rejected|too_long"}
//   modelwatch_file_tail_rotations_total{path}
//   modelwatch_file_tail_truncations_total{path}
//   modelwatch_file_tail_errors_total{path}  (sink refusals, I/O and checkpoint errors)
// `path` is bounded: one value per configured tail.
struct FileTailCounters {
    std::uint64_t lines_delivered = 0;
    std::uint64_t lines_rejected = 0;
    std::uint64_t lines_too_long = 0;
    std::uint64_t rotations = 0;
    std::uint64_t truncations = 0;
    std::uint64_t errors = 0;
};

// The result of one poll: how far it got and, when it stopped early, why.
struct PollResult {
    std::uint64_t lines_delivered = 0;
    std::string error;  // empty when the round read everything available
};

class FileTail {
public:
    // `state_dir` holds the checkpoint (created if missing); `schema` is the
    // model's, handed to `parse` with every chunk. `clock` times rotate_wait_ms.
    FileTail(config::FileTailOptions options, std::shared_ptr<const ModelSchema> schema, std::string state_dir,
             IngestSink& sink,
             ParseLines parse, FileTailLimits limits = {}, SteadyClock clock = std::chrono::steady_clock::now);
    ~FileTail();
    FileTail(const FileTail&) = delete;
    FileTail& operator=(const FileTail&) = delete;

    // One round: resumes from the checkpoint on the first call, then reads
    // and delivers every complete line available, following rotation and
    // truncation. A missing file is not an error (it may not exist yet).
    PollResult poll_once();

    // poll_once() every poll_interval_ms until `stop` is requested.
    void run(std::stop_token stop);

    FileTailCounters counters() const;
    // The checkpoint file, under `state_dir`.
    const std::string& checkpoint_path() const { return checkpoint_path_; }

private:
    struct Identity {
        std::uint64_t device = 0;
        std::uint64_t inode = 0;
        bool operator==(const Identity&) const = default;
    };

    std::string resume();
    bool open_path(bool from_checkpoint);
    bool open_rotated_predecessor();
    std::string check_truncation();
    std::string drain(PollResult& result, bool final_read);
    std::string deliver(std::string_view chunk, const std::vector<std::size_t>& line_starts,
                        const std::vector<std::uint64_t>& line_numbers, PollResult& result);
    std::string save();
    void close_file();

    config::FileTailOptions options_;
    std::shared_ptr<const ModelSchema> schema_;
    std::string state_dir_;
    std::string checkpoint_path_;
    IngestSink& sink_;
    ParseLines parse_;
    FileTailLimits limits_;
    SteadyClock clock_;

    bool resumed_ = false;
    int fd_ = -1;
    std::string reading_path_;  // the path fd_ was opened by, for messages
    TailCheckpoint position_;   // of the open file; what the checkpoint file says once saved
    // When the path was first seen naming another file than the one held.
    std::optional<std::chrono::steady_clock::time_point> rotation_seen_at_;

    std::atomic<std::uint64_t> lines_delivered_{0};
    std::atomic<std::uint64_t> lines_rejected_{0};
    std::atomic<std::uint64_t> lines_too_long_{0};
    std::atomic<std::uint64_t> rotations_{0};
    std::atomic<std::uint64_t> truncations_{0};
    std::atomic<std::uint64_t> errors_{0};
};

}  // namespace mw
