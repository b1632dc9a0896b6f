#include "collectors/file_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "core/errno_text.h"
#include "core/log.h"

namespace mw {
namespace {

// Bytes at the start of a file hashed to recognise it (see TailCheckpoint).
// 4 KiB covers several records, and records carry unique ids, so two
// different files practically never share it.
constexpr std::uint64_t fingerprint_max_bytes = 4096;

// A rotation storm cannot keep one poll switching files forever.
constexpr int max_switches_per_poll = 8;


const char* status_name(IngestStatus status) {
    switch (status) {
        case IngestStatus::durable: return "durable";
        case IngestStatus::spool_full: return "spool_full";
        case IngestStatus::failed: return "failed";
    }
    return "?";
}

std::string checkpoint_file_name(const config::FileTailOptions& options) {
    // One checkpoint per (path, model, kind): the same file may feed two
    // models, and a tail reconfigured to another file must not inherit it.
    std::string key = options.path;
    key += '\0';
    key += options.model;
    key += '\0';
    key += to_string(options.kind);
    return fmt::format("file-tail-{:016x}.checkpoint", fnv1a64(key.data(), key.size()));
}

// What a path names when it is not a regular file, for the log.
const char* file_type_name(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISDIR(mode)) return "a directory";
    return "another kind of file";
}

// Reads up to `size` bytes at `offset`; fewer only at end of file. Returns -1 on error.
ssize_t pread_full(int fd, char* data, std::size_t size, std::uint64_t offset) {
    std::size_t done = 0;
    while (done < size) {
        ssize_t got = ::pread(fd, data + done, size - done, static_cast<off_t>(offset + done));
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) break;
        done += static_cast<std::size_t>(got);
    }
    return static_cast<ssize_t>(done);
}

enum class Prefix { matches, differs, unreadable };

// Whether the first `bytes` bytes of the file hash to `expected` (a file
// shorter than that differs).
Prefix compare_prefix(int fd, std::uint64_t bytes, std::uint64_t expected) {
    if (bytes == 0) return Prefix::matches;
    std::string prefix(bytes, '\0');
    ssize_t got = pread_full(fd, prefix.data(), prefix.size(), 0);
    if (got < 0) return Prefix::unreadable;
    if (got != static_cast<ssize_t>(bytes)) return Prefix::differs;
    return fnv1a64(prefix.data(), prefix.size()) == expected ? Prefix::matches : Prefix::differs;
}

bool is_blank(std::string_view text) {
    return text.find_first_not_of(" \t\r") == std::string_view::npos;
}

std::size_t record_count(const std::variant<PredictionBatch, OutcomeBatch>& batch) {
    return std::visit([](const auto& b) { return b.records.size(); }, batch);
}

// Parses lines [first, last) of `chunk` (line i spans line_starts[i] to
// line_starts[i + 1]). A chunk refused as a whole is split in halves until
// the refused lines stand alone, each then one rejection; the accepted
// records of all parts form one batch, so the sink still sees one submit.
ParsedLines parse_lines(const ParseLines& parse, const std::shared_ptr<const ModelSchema>& schema,
                        std::string_view chunk, const std::vector<std::size_t>& line_starts, std::size_t first,
                        std::size_t last) {
    ParsedLines parsed =
        parse(chunk.substr(line_starts[first], line_starts[last] - line_starts[first]), schema);
    if (parsed.chunk_error.empty()) return parsed;
    if (last - first == 1) {
        std::visit([](auto& batch) { batch.records.clear(); }, parsed.batch);
        parsed.rejections = {Rejection{0, "", std::move(parsed.chunk_error)}};
        parsed.chunk_error.clear();
        return parsed;
    }
    const std::size_t middle = first + (last - first) / 2;
    ParsedLines left = parse_lines(parse, schema, chunk, line_starts, first, middle);
    ParsedLines right = parse_lines(parse, schema, chunk, line_starts, middle, last);
    std::visit(
        [&right](auto& into) {
            // Both halves come from the same parse step, so the same kind;
            // std::get throws on a parse step mixing kinds (a wiring bug).
            auto& from = std::get<std::decay_t<decltype(into)>>(right.batch);
            for (auto& record : from.records) into.records.push_back(std::move(record));
        },
        left.batch);
    for (auto& rejection : right.rejections) {
        rejection.index += middle - first;
        left.rejections.push_back(std::move(rejection));
    }
    return left;
}

// A line skipped for its length, logged once its skip is committed.
struct TooLongLine {
    std::uint64_t line = 0;
    std::size_t bytes = 0;  // a lower bound when the line was still unterminated
};

}  // namespace

FileTail::FileTail(config::FileTailOptions options, std::shared_ptr<const ModelSchema> schema, std::string state_dir,
                   IngestSink& sink, ParseLines parse, FileTailLimits limits, SteadyClock clock)
    : options_(std::move(options)),
      schema_(std::move(schema)),
      state_dir_(std::move(state_dir)),
      checkpoint_path_(state_dir_ + "/" + checkpoint_file_name(options_)),
      sink_(sink),
      parse_(std::move(parse)),
      limits_(limits),
      clock_(std::move(clock)) {}

FileTail::~FileTail() { close_file(); }

FileTailCounters FileTail::counters() const {
    FileTailCounters counters;
    counters.lines_delivered = lines_delivered_.load(std::memory_order_relaxed);
    counters.lines_rejected = lines_rejected_.load(std::memory_order_relaxed);
    counters.lines_too_long = lines_too_long_.load(std::memory_order_relaxed);
    counters.rotations = rotations_.load(std::memory_order_relaxed);
    counters.truncations = truncations_.load(std::memory_order_relaxed);
    counters.errors = errors_.load(std::memory_order_relaxed);
    return counters;
}

void FileTail::run(std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    while (!stop.stop_requested()) {
        poll_once();
        std::unique_lock lock(mutex);
        // Returns early when stop is requested; nothing else notifies.
        wake.wait_for(lock, stop, std::chrono::milliseconds(options_.poll_interval_ms), [] { return false; });
    }
}

PollResult FileTail::poll_once() {
    PollResult result;
    auto fail = [&](std::string error) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        log::warning("file_tail_error path={} error=\"{}\"", options_.path, error);
        result.error = std::move(error);
        return result;
    };

    if (!resumed_) {
        if (auto error = resume(); !error.empty()) return fail(std::move(error));
        if (!resumed_) return result;  // the checkpointed file is not there (yet): keep the checkpoint
    }
    if (fd_ < 0 && !open_path(false)) return result;

    for (int switches = 0; switches <= max_switches_per_poll; ++switches) {
        // Look at the path before reading: if it names another file now, the
        // one held was rotated away. It is read for rotate_wait_ms more, for
        // the lines its writer appends before reopening, then to its end.
        struct stat path_stat {};
        bool rotated = false;
        if (::stat(options_.path.c_str(), &path_stat) == 0) {
            const Identity at_path{static_cast<std::uint64_t>(path_stat.st_dev),
                                   static_cast<std::uint64_t>(path_stat.st_ino)};
            rotated = at_path != Identity{position_.device, position_.inode};
        }
        // A failed stat (ENOENT) is the moment between rename and create:
        // keep reading the file held open.
        if (!rotated) {
            rotation_seen_at_.reset();
        } else if (!rotation_seen_at_) {
            rotation_seen_at_ = clock_();
        }
        const bool switch_now =
            rotated && clock_() - *rotation_seen_at_ >= std::chrono::milliseconds(limits_.rotate_wait_ms);

        if (auto error = check_truncation(); !error.empty()) return fail(std::move(error));
        if (auto error = drain(result, switch_now); !error.empty()) return fail(std::move(error));
        if (!switch_now) return result;

        rotations_.fetch_add(1, std::memory_order_relaxed);
        log::notice("file_tail_rotated path={} finished_inode={} lines={}", options_.path, position_.inode,
                    position_.line);
        close_file();
        rotation_seen_at_.reset();
        if (!open_path(false)) return result;
    }
    return result;
}

std::string FileTail::resume() {
    std::error_code ec;
    std::filesystem::create_directories(state_dir_, ec);
    if (ec) return fmt::format("state directory {}: {}", state_dir_, ec.message());

    CheckpointLoad load = load_checkpoint(checkpoint_path_);
    resumed_ = true;
    if (!load.error.empty()) {
        // The store deduplicates by (model, id), so re-reading from the start
        // is the safe answer to an unreadable checkpoint; skipping is not.
        errors_.fetch_add(1, std::memory_order_relaxed);
        log::warning("file_tail_checkpoint_unreadable path={} error=\"{}\" action=read_from_start", options_.path,
                     load.error);
        return {};
    }
    if (!load.checkpoint) return {};
    position_ = *load.checkpoint;
    if (open_path(true)) return {};
    if (open_rotated_predecessor()) return {};
    if (::access(options_.path.c_str(), F_OK) != 0 && errno == ENOENT) {
        // Neither the file nor a rotated copy is there, as when a volume is
        // not mounted yet: try again at the next poll rather than forget
        // the position and read the file from its start when it returns.
        resumed_ = false;
        return {};
    }
    log::notice("file_tail_checkpoint_stale path={} inode={} offset={} action=read_current_from_start", options_.path,
                position_.inode, position_.offset);
    position_ = {};
    return {};
}

// Opens the file at the configured path. With `from_checkpoint`, only if it
// is the file position_ describes (same inode and first bytes), keeping the
// position; otherwise it is a new file, read from its start.
bool FileTail::open_path(bool from_checkpoint) {
    // O_NONBLOCK: open() of a FIFO would wait for a writer (and hold the
    // tail's stop); a regular file's reads do not heed it.
    int fd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno != ENOENT) {
            errors_.fetch_add(1, std::memory_order_relaxed);
            log::warning("file_tail_open_failed path={} error=\"{}\"", options_.path, errno_text());
        }
        return false;
    }
    struct stat file_stat {};
    if (::fstat(fd, &file_stat) != 0) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        log::warning("file_tail_open_failed path={} error=\"fstat: {}\"", options_.path, errno_text());
        ::close(fd);
        return false;
    }
    // A FIFO has no offsets to resume from, and a device such as /dev/zero
    // never ends: only a regular file is tailed.
    if (!S_ISREG(file_stat.st_mode)) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        log::warning("file_tail_open_failed path={} error=\"not a regular file: {}\"", options_.path,
                     file_type_name(file_stat.st_mode));
        ::close(fd);
        return false;
    }
    const auto device = static_cast<std::uint64_t>(file_stat.st_dev);
    const auto inode = static_cast<std::uint64_t>(file_stat.st_ino);
    if (from_checkpoint) {
        if (device != position_.device || inode != position_.inode ||
            compare_prefix(fd, position_.fingerprint_bytes, position_.fingerprint) != Prefix::matches) {
            ::close(fd);
            return false;
        }
        fd_ = fd;
        reading_path_ = options_.path;
        log::info("file_tail_resumed path={} offset={} line={}", options_.path, position_.offset, position_.line);
        return true;
    }
    fd_ = fd;
    reading_path_ = options_.path;
    position_ = {};
    position_.device = device;
    position_.inode = inode;
    log::info("file_tail_opened path={} inode={}", options_.path, inode);
    if (auto error = save(); !error.empty()) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        log::warning("file_tail_error path={} error=\"{}\"", options_.path, error);
    }
    return true;
}

// The checkpointed file was rotated while the daemon was down: look for it
// beside the path (logrotate's app.ndjson.1, or any name in that directory)
// so its unread tail is delivered before the new file.
bool FileTail::open_rotated_predecessor() {
    const std::filesystem::path directory = std::filesystem::path(options_.path).parent_path();
    std::error_code ec;
    std::filesystem::directory_iterator entries(directory.empty() ? "." : directory, ec);
    if (ec) return false;
    for (const auto& entry : entries) {
        struct stat entry_stat {};
        const std::string candidate = entry.path().string();
        if (::stat(candidate.c_str(), &entry_stat) != 0 || !S_ISREG(entry_stat.st_mode)) continue;
        if (static_cast<std::uint64_t>(entry_stat.st_dev) != position_.device ||
            static_cast<std::uint64_t>(entry_stat.st_ino) != position_.inode)
            continue;
        int fd = ::open(candidate.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // as in open_path
        if (fd < 0) continue;
        if (compare_prefix(fd, position_.fingerprint_bytes, position_.fingerprint) != Prefix::matches) {
            ::close(fd);
            continue;
        }
        fd_ = fd;
        reading_path_ = candidate;
        log::notice("file_tail_resumed_rotated path={} previous={} offset={} line={}", options_.path, candidate,
                    position_.offset, position_.line);
        return true;
    }
    return false;
}

// Truncation in place (copytruncate, or the file rewritten): the size is
// below what was consumed, or the consumed first bytes are no longer the same.
std::string FileTail::check_truncation() {
    struct stat file_stat {};
    if (::fstat(fd_, &file_stat) != 0) return fmt::format("fstat {}: {}", reading_path_, errno_text());
    const auto size = static_cast<std::uint64_t>(file_stat.st_size);
    if (size < position_.offset) {
        log::notice("file_tail_truncated path={} offset={} size={} reason=size_below_offset", reading_path_,
                    position_.offset, size);
    } else {
        // A read error is not evidence of a new file: report it, keep the position.
        switch (compare_prefix(fd_, position_.fingerprint_bytes, position_.fingerprint)) {
            case Prefix::matches: return {};
            case Prefix::unreadable: return fmt::format("read {} at offset 0: {}", reading_path_, errno_text());
            case Prefix::differs: break;
        }
        log::notice("file_tail_truncated path={} offset={} size={} reason=content_replaced", reading_path_,
                    position_.offset, size);
    }
    truncations_.fetch_add(1, std::memory_order_relaxed);
    const TailCheckpoint identity{position_.device, position_.inode};
    position_ = identity;
    return save();
}

// Delivers every complete line from position_.offset on, in chunks. With
// `final_read` (the file was rotated away and its writer has moved on) an
// unterminated last line is delivered too rather than waited for.
std::string FileTail::drain(PollResult& result, bool final_read) {
    // One read holds at least one whole line of the maximum length, so every
    // round either consumes something or finds only a partial line.
    const std::size_t block_bytes = std::max(limits_.max_batch_bytes, limits_.max_line_bytes) + 2;
    std::string buffer;
    for (;;) {
        buffer.resize(block_bytes);
        ssize_t got = pread_full(fd_, buffer.data(), buffer.size(), position_.offset);
        if (got < 0) return fmt::format("read {} at offset {}: {}", reading_path_, position_.offset, errno_text());
        const auto size = static_cast<std::size_t>(got);
        buffer.resize(size);
        if (size == 0) return {};
        const bool at_end = size < block_bytes;

        std::string chunk;
        std::vector<std::size_t> line_starts{0};  // where each chunk line starts, and the end
        std::vector<std::uint64_t> line_numbers;  // 1-based file line of each chunk line
        std::vector<TooLongLine> too_long;
        std::uint64_t line = position_.line;
        bool skipping = position_.skipping_line;
        std::size_t pos = 0;
        while (pos < size) {
            const std::size_t newline = buffer.find('\n', pos);
            if (skipping) {
                if (newline == std::string::npos) {
                    pos = size;
                    break;
                }
                pos = newline + 1;
                ++line;
                skipping = false;
                continue;
            }
            std::size_t end = newline;
            if (newline == std::string::npos) {
                if (size - pos > limits_.max_line_bytes) {
                    // Still unterminated and already too long: skip to its newline
                    // in later reads without holding it in memory.
                    too_long.push_back({line + 1, size - pos});
                    skipping = true;
                    pos = size;
                    break;
                }
                if (!(final_read && at_end)) break;  // wait for the rest of the line
                end = size;
            }
            const std::size_t length = end - pos;
            std::string_view text(buffer.data() + pos, length);
            pos = end == size ? size : end + 1;
            ++line;
            if (length > limits_.max_line_bytes) {
                too_long.push_back({line, length});
                continue;
            }
            if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
            if (is_blank(text)) continue;
            chunk.append(text);
            chunk.push_back('\n');
            line_starts.push_back(chunk.size());
            line_numbers.push_back(line);
            if (line_numbers.size() >= limits_.max_batch_lines || chunk.size() >= limits_.max_batch_bytes) break;
        }
        if (pos == 0) return {};  // only the start of a line so far

        if (!line_numbers.empty()) {
            if (auto error = deliver(chunk, line_starts, line_numbers, result); !error.empty()) return error;
        }
        position_.offset += pos;
        position_.line = line;
        position_.skipping_line = skipping;
        if (auto error = save(); !error.empty()) return error;
        for (const auto& skipped : too_long) {
            lines_too_long_.fetch_add(1, std::memory_order_relaxed);
            log::warning("file_tail_line_too_long path={} line={} bytes={} limit={}", reading_path_, skipped.line,
                         skipped.bytes, limits_.max_line_bytes);
        }
        if (at_end && pos == size) return {};
    }
}

// Parses one chunk and hands it to the sink; rejected lines are logged and
// counted once the chunk is durable (a refused chunk is read again later).
std::string FileTail::deliver(std::string_view chunk, const std::vector<std::size_t>& line_starts,
                              const std::vector<std::uint64_t>& line_numbers, PollResult& result) {
    ParsedLines parsed = parse_lines(parse_, schema_, chunk, line_starts, 0, line_numbers.size());
    const std::size_t records = record_count(parsed.batch);
    if (records > 0) {
        IngestResult ingest = std::visit(
            [&](auto& batch) {
                batch.model = options_.model;
                return submit_and_wait(sink_, std::move(batch));
            },
            parsed.batch);
        if (ingest.status != IngestStatus::durable)
            return fmt::format("sink refused lines {}-{} of {}: {} {}", line_numbers.front(), line_numbers.back(),
                               reading_path_, status_name(ingest.status), ingest.message);
    }
    lines_delivered_.fetch_add(records, std::memory_order_relaxed);
    result.lines_delivered += records;

    lines_rejected_.fetch_add(parsed.rejections.size(), std::memory_order_relaxed);
    for (const auto& rejection : parsed.rejections) {
        const std::uint64_t line = rejection.index < line_numbers.size() ? line_numbers[rejection.index] : 0;
        log::warning("file_tail_line_rejected path={} line={} field={} reason=\"{}\"", reading_path_, line,
                     rejection.field, rejection.reason);
    }
    return {};
}

// Extends the fingerprint while the file is young, then writes the checkpoint.
std::string FileTail::save() {
    if (position_.fingerprint_bytes < fingerprint_max_bytes && position_.offset > position_.fingerprint_bytes) {
        const std::uint64_t bytes = std::min(position_.offset, fingerprint_max_bytes);
        std::string prefix(bytes, '\0');
        if (pread_full(fd_, prefix.data(), prefix.size(), 0) == static_cast<ssize_t>(bytes)) {
            position_.fingerprint_bytes = bytes;
            position_.fingerprint = fnv1a64(prefix.data(), prefix.size());
        }
    }
    return write_checkpoint(checkpoint_path_, position_);
}

void FileTail::close_file() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

}  // namespace mw
