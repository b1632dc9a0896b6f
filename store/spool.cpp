#include "store/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <zlib.h>

#include "core/log.h"

namespace mw::store {
namespace {

namespace fs = std::filesystem;

// On-disk frame: magic, payload length, CRC-32 of everything after the CRC,
// then kind, record count, time of receipt (the rows' received_at; the
// append time before receipts were stamped, a few microseconds later) and
// the payload. Version 2 ("MWS2", written since key ids were spooled) has
// the batch's model and privacy key id (EncodedBatch) at the start of its
// payload: a 2-byte model length, a 1-byte key id length, both strings, then
// the COPY rows. Version 1 ("MWS1") has only the COPY rows and still reads
// back (its model and key id empty: not checked by the drain).
constexpr std::uint32_t frame_magic_v1 = 0x3153574d;  // "MWS1" little-endian
constexpr std::uint32_t frame_magic = 0x3253574d;     // "MWS2" little-endian
constexpr std::size_t frame_header_bytes = 4 + 4 + 4 + 1 + 4 + 8;
constexpr std::size_t frame_identity_bytes = 2 + 1;
constexpr std::uint32_t max_frame_payload = 1u << 30;
// Model names are far shorter (config/sections.cpp); a key id is 8 hex digits.
constexpr std::size_t max_frame_model_bytes = 0xffff;
constexpr std::size_t max_frame_key_id_bytes = 0xff;
// One write+fdatasync taking longer than this means the disk is stuck.
constexpr std::int64_t stalled_write_us = 30'000'000;

template <typename T>
void put(std::string& out, T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.append(bytes, sizeof(T));
}

template <typename T>
T get(const char* in) {
    T value;
    std::memcpy(&value, in, sizeof(T));
    return value;
}

// CRC-32 (ISO-HDLC: the polynomial, reflection and final xor of zlib's,
// PNG's and Ethernet's) of `length` bytes, continuing `crc` (0 to begin).
// zlib's crc32 is the same function as the boost::crc_32_type frames were
// checksummed with before, so every frame on disk still reads back, and it
// is about ten times as fast (bench/RESULTS.md, "The daemon's own CPU per
// row"): each spooled byte is checksummed twice, when written and when
// the drain reads it.
std::uint32_t spool_crc32(std::uint32_t crc, const char* data, std::size_t length) {
    // zlib's length is a uInt: feed it in pieces that fit.
    while (length > 0) {
        const std::size_t piece = std::min<std::size_t>(length, 1u << 30);
        crc = static_cast<std::uint32_t>(::crc32(crc, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(piece)));
        data += piece;
        length -= piece;
    }
    return crc;
}

std::uint32_t frame_crc(const char* after_crc, std::size_t length) { return spool_crc32(0, after_crc, length); }

std::size_t frame_payload_bytes(const EncodedBatch& frame) {
    return frame_identity_bytes + frame.model.size() + frame.privacy_key_id.size() + frame.copy_rows.size();
}

void encode_frame(const EncodedBatch& frame, std::int64_t received_us, std::string& out) {
    const std::size_t start = out.size();
    put<std::uint32_t>(out, frame_magic);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(frame_payload_bytes(frame)));
    put<std::uint32_t>(out, 0);  // CRC, filled below
    out.push_back(static_cast<char>(frame.kind));
    put<std::uint32_t>(out, frame.record_count);
    put<std::int64_t>(out, received_us);
    put<std::uint16_t>(out, static_cast<std::uint16_t>(frame.model.size()));
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(frame.privacy_key_id.size())));
    out.append(frame.model);
    out.append(frame.privacy_key_id);
    out.append(frame.copy_rows);
    const std::uint32_t crc = frame_crc(out.data() + start + 12, out.size() - start - 12);
    std::memcpy(out.data() + start + 8, &crc, 4);
}

// Runs a submitter's callback; one that throws must not take the writer
// thread (and with it every later acknowledgement) down.
void notify(const std::function<void(IngestResult)>& done, IngestResult result) {
    try {
        done(std::move(result));
    } catch (const std::exception& error) {
        log::error("spool_callback_failed error=\"{}\"", error.what());
    }
}

std::size_t encoded_size(const EncodedBatch& frame) { return frame_header_bytes + frame_payload_bytes(frame); }

// Admission control's clock: monotonic, so a wall-clock step cannot fake a drain rate.
std::int64_t spool_steady_now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::int64_t wall_clock_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::runtime_error(fmt::format("{}: {}", what, std::strerror(errno)));
}

void fsync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("open spool directory " + dir);
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) throw_errno("fsync spool directory " + dir);
}

bool read_exact(int fd, std::uint64_t offset, char* buffer, std::size_t length) {
    std::size_t done = 0;
    while (done < length) {
        const ssize_t n = ::pread(fd, buffer + done, length - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

bool write_all(int fd, const char* data, std::size_t length) {
    while (length > 0) {
        const ssize_t n = ::write(fd, data, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        length -= static_cast<std::size_t>(n);
    }
    return true;
}

// Reads the frame at `offset`; false when there is no complete, valid frame there.
bool read_frame(int fd, std::uint64_t offset, std::uint64_t file_size, EncodedBatch& frame, std::int64_t& received_us,
                std::uint64_t& next) {
    if (offset + frame_header_bytes > file_size) return false;
    char header[frame_header_bytes];
    if (!read_exact(fd, offset, header, sizeof header)) return false;
    const std::uint32_t magic = get<std::uint32_t>(header);
    if (magic != frame_magic && magic != frame_magic_v1) return false;
    const std::uint32_t payload_bytes = get<std::uint32_t>(header + 4);
    if (payload_bytes > max_frame_payload || offset + frame_header_bytes + payload_bytes > file_size) return false;
    const auto kind = static_cast<std::uint8_t>(header[12]);
    if (kind != static_cast<std::uint8_t>(RecordKind::prediction) &&
        kind != static_cast<std::uint8_t>(RecordKind::outcome))
        return false;
    frame.kind = static_cast<RecordKind>(kind);
    frame.record_count = get<std::uint32_t>(header + 13);
    received_us = get<std::int64_t>(header + 17);
    std::uint32_t crc = spool_crc32(0, header + 12, frame_header_bytes - 12);
    // Version 2: the model and key id before the rows.
    std::size_t identity_bytes = 0;
    frame.model.clear();
    frame.privacy_key_id.clear();
    if (magic == frame_magic) {
        char lengths[frame_identity_bytes];
        if (payload_bytes < frame_identity_bytes ||
            !read_exact(fd, offset + frame_header_bytes, lengths, frame_identity_bytes))
            return false;
        const std::size_t model_bytes = get<std::uint16_t>(lengths);
        const std::size_t key_id_bytes = static_cast<std::uint8_t>(lengths[2]);
        identity_bytes = frame_identity_bytes + model_bytes + key_id_bytes;
        if (identity_bytes > payload_bytes) return false;
        frame.model.resize(model_bytes);
        frame.privacy_key_id.resize(key_id_bytes);
        const std::uint64_t strings_at = offset + frame_header_bytes + frame_identity_bytes;
        if (!read_exact(fd, strings_at, frame.model.data(), model_bytes) ||
            !read_exact(fd, strings_at + model_bytes, frame.privacy_key_id.data(), key_id_bytes))
            return false;
        crc = spool_crc32(crc, lengths, frame_identity_bytes);
        crc = spool_crc32(crc, frame.model.data(), model_bytes);
        crc = spool_crc32(crc, frame.privacy_key_id.data(), key_id_bytes);
    }
    const std::size_t rows_bytes = payload_bytes - identity_bytes;
    frame.copy_rows.resize(rows_bytes);
    if (!read_exact(fd, offset + frame_header_bytes + identity_bytes, frame.copy_rows.data(), rows_bytes))
        return false;
    crc = spool_crc32(crc, frame.copy_rows.data(), rows_bytes);
    if (crc != get<std::uint32_t>(header + 8)) return false;
    next = offset + frame_header_bytes + payload_bytes;
    return true;
}

std::uint64_t file_size_of(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("fstat spool segment");
    return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

Spool::Receipt::Receipt(Receipt&& other) noexcept
    : spool_(std::exchange(other.spool_, nullptr)), received_us_(other.received_us_) {}

Spool::Receipt& Spool::Receipt::operator=(Receipt&& other) noexcept {
    if (this != &other) {
        if (spool_ != nullptr) spool_->release(*this);
        spool_ = std::exchange(other.spool_, nullptr);
        received_us_ = other.received_us_;
    }
    return *this;
}

Spool::Receipt::~Receipt() {
    if (spool_ != nullptr) spool_->release(*this);
}

Spool::Spool(const config::SpoolOptions& options, std::function<std::int64_t()> receipt_clock)
    : options_(options),
      receipt_clock_(receipt_clock ? std::move(receipt_clock) : std::function<std::int64_t()>(wall_clock_us)),
      admission_(options.max_backlog_seconds) {
    std::error_code ec;
    fs::create_directories(options_.dir, ec);
    if (ec) throw std::runtime_error(fmt::format("create spool directory {}: {}", options_.dir, ec.message()));
    recover();
}

Spool::~Spool() {
    stop();
    if (append_fd_ >= 0) ::close(append_fd_);
}

std::string Spool::segment_path(std::uint64_t segment) const {
    return fmt::format("{}/segment-{:016d}.spool", options_.dir, segment);
}

void Spool::recover() {
    std::vector<std::uint64_t> segments;
    for (const auto& entry : fs::directory_iterator(options_.dir)) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with("segment-") && name.ends_with(".spool") && name.size() == 8 + 16 + 6)
            segments.push_back(std::stoull(name.substr(8, 16)));
    }
    std::sort(segments.begin(), segments.end());

    SpoolPosition cursor;
    if (std::ifstream in(options_.dir + "/drain-position"); in) in >> cursor.segment >> cursor.offset;
    if (segments.empty() || cursor.segment < segments.front()) cursor = {segments.empty() ? 1 : segments.front(), 0};

    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (segments[i] < cursor.segment) {
            // Fully drained before the last stop but not yet deleted.
            fs::remove(segment_path(segments[i]));
            continue;
        }
        const std::uint64_t size = scan_segment(segments[i], i + 1 == segments.size());
        segment_sizes_.emplace_back(segments[i], size);
        bytes_on_disk_ += size;
    }
    // A cursor past the valid end of its segment (a truncated tail) would hide
    // new frames written there; replaying the segment from its start is safe.
    for (const auto& [segment, size] : segment_sizes_)
        if (segment == cursor.segment && cursor.offset > size) cursor.offset = 0;
    drain_position_ = cursor;
    read_position_ = cursor;
    // Frames before the drain cursor are already in the store. The rest were
    // acknowledged before this start: exempt from admission control, like an
    // outage's (store/backlog_admission.h).
    while (!undrained_.empty() && undrained_.front().end <= cursor) undrained_.pop_front();
    frames_recovered_ = undrained_.size();
    // Their rows may not be stored: the watermark waits for them, and no
    // new receipt is stamped before them (a clock stepped back meanwhile).
    for (const auto& frame : undrained_) {
        held_receipts_.insert(frame.received_us);
        receipt_floor_us_ = std::max(receipt_floor_us_, frame.received_us + 1);
    }

    const std::uint64_t newest = segment_sizes_.empty() ? cursor.segment : segment_sizes_.back().first;
    open_segment_for_append(newest);
    durable_end_ = {append_segment_, append_offset_};
    if (frames_recovered_ > 0 || bytes_truncated_ > 0)
        log::notice("spool_recovered dir={} segments={} frames={} bytes={} truncated_bytes={}", options_.dir,
                    segment_sizes_.size(), frames_recovered_, bytes_on_disk_, bytes_truncated_);
}

// Validates every frame of a segment and returns its valid length. A bad frame
// in the newest segment is a torn write (never acknowledged): truncate it. A
// bad frame in an older segment is corruption: keep the file for inspection
// under another name and skip the rest of it, loudly.
std::uint64_t Spool::scan_segment(std::uint64_t segment, bool is_newest) {
    const std::string path = segment_path(segment);
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw_errno("open spool segment " + path);
    const std::uint64_t size = file_size_of(fd);
    std::uint64_t offset = 0;
    EncodedBatch frame;
    std::int64_t received_us = 0;
    std::uint64_t next = 0;
    while (read_frame(fd, offset, size, frame, received_us, next)) {
        undrained_.push_back({SpoolPosition{segment, next}, received_us, next - offset, true});
        offset = next;
    }
    if (offset < size) {
        if (is_newest) {
            if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) throw_errno("truncate torn spool tail " + path);
            ::fdatasync(fd);
            bytes_truncated_ += size - offset;
        } else {
            const std::string kept = fmt::format("{}.corrupt-at-{}", path, offset);
            fs::copy_file(path, kept, fs::copy_options::overwrite_existing);
            if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) throw_errno("truncate corrupt spool segment " + path);
            log::error("spool_segment_corrupt path={} offset={} lost_bytes={} kept_as={}", path, offset, size - offset,
                       kept);
        }
    }
    ::close(fd);
    return offset;
}

void Spool::open_segment_for_append(std::uint64_t segment) {
    if (append_fd_ >= 0) ::close(append_fd_);
    const std::string path = segment_path(segment);
    append_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (append_fd_ < 0) throw_errno("open spool segment " + path);
    append_segment_ = segment;
    append_offset_ = file_size_of(append_fd_);
    if (segment_sizes_.empty() || segment_sizes_.back().first != segment) {
        fsync_directory(options_.dir);
        segment_sizes_.emplace_back(segment, append_offset_);
    }
}

void Spool::start() {
    std::lock_guard lock(mutex_);
    if (writer_.joinable()) return;
    stopping_ = false;
    writer_ = std::thread([this] { writer_loop(); });
}

void Spool::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        reader_interrupted_ = true;
    }
    writer_wakeup_.notify_all();
    reader_wakeup_.notify_all();
    if (writer_.joinable()) writer_.join();
}

Spool::Receipt Spool::receive() {
    std::lock_guard lock(mutex_);
    // Each stamp after the last: with the clock stepped back, stamps go on
    // a microsecond apart from the last one until it catches up, so the
    // watermark never waits for the clock.
    const std::int64_t stamp = std::max(receipt_clock_(), receipt_floor_us_);
    receipt_floor_us_ = stamp + 1;
    held_receipts_.insert(stamp);
    return Receipt(this, stamp);
}

std::int64_t Spool::stored_before_us() {
    std::lock_guard lock(mutex_);
    // Raising the floor to what is answered keeps every later receipt at or
    // after it, whatever the clock does.
    receipt_floor_us_ = std::max(receipt_clock_(), receipt_floor_us_);
    return held_receipts_.empty() ? receipt_floor_us_ : std::min(*held_receipts_.begin(), receipt_floor_us_);
}

void Spool::forget_receipt(std::int64_t received_us) {
    const auto held = held_receipts_.find(received_us);
    if (held != held_receipts_.end()) held_receipts_.erase(held);
}

void Spool::release(Receipt& receipt) {
    std::lock_guard lock(mutex_);
    forget_receipt(receipt.received_us_);
    receipt.spool_ = nullptr;
}

void Spool::append(EncodedBatch frame, Receipt receipt, std::function<void(IngestResult)> done) {
    if (receipt.spool_ != this) throw std::logic_error("a batch appended to the spool without a receipt of it");
    if (frame.model.size() > max_frame_model_bytes || frame.privacy_key_id.size() > max_frame_key_id_bytes)
        throw std::logic_error("a batch's model name or key id is too long for a spool frame");
    const std::size_t bytes = encoded_size(frame);
    IngestResult refusal;
    {
        std::lock_guard lock(mutex_);
        const std::int64_t now = spool_steady_now_us();
        if (stopping_ || !writer_.joinable()) {
            refusal = {IngestStatus::failed, "the spool is not running (shutting down)"};
        } else if (bytes_on_disk_ + queued_bytes_ + bytes > options_.max_bytes) {
            refusal = {IngestStatus::spool_full,
                       fmt::format("spool is full ({} of {} bytes used); PostgreSQL is behind or down",
                                   bytes_on_disk_ + queued_bytes_, options_.max_bytes)};
        } else if (auto backlogged = refuse_for_backlog(now)) {
            refusal = std::move(*backlogged);
        } else {
            const bool exempt = admission_.drain_interrupted(now);
            queued_bytes_ += bytes;
            if (!exempt) counted_queued_bytes_ += bytes;
            // The receipt stays held, now by the queued batch.
            queue_.push_back({std::move(frame), receipt.received_us_, std::move(done), exempt});
            receipt.spool_ = nullptr;
            writer_wakeup_.notify_one();
            return;
        }
    }
    // Answered outside the lock: the callback may do anything. The receipt
    // is released on return: a refused batch is never stored.
    notify(done, std::move(refusal));
}

std::optional<IngestResult> Spool::refuse_for_backlog(std::int64_t now_us) {
    const auto verdict = admission_.judge(counted_undrained_bytes_ + counted_queued_bytes_, now_us);
    if (verdict.admit) return std::nullopt;
    ++admissions_refused_;
    IngestResult refusal{IngestStatus::spool_full,
                         fmt::format("ingest is ahead of PostgreSQL: {:.1f} s of drain waiting in the spool "
                                     "(spool.max_backlog {} s); retry after {} s",
                                     verdict.backlog_seconds, options_.max_backlog_seconds,
                                     verdict.retry_after_seconds)};
    refusal.retry_after_seconds = verdict.retry_after_seconds;
    return refusal;
}

std::optional<IngestResult> Spool::admission_refusal() {
    std::lock_guard lock(mutex_);
    return refuse_for_backlog(spool_steady_now_us());
}

void Spool::writer_loop() {
    std::vector<Pending> group;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            writer_wakeup_.wait(lock, [this] { return stopping_ || roll_requested_ || !queue_.empty(); });
            if (queue_.empty() && stopping_) return;
            if (queue_.empty()) {
                roll_requested_ = false;
                lock.unlock();
                roll_segment();
                continue;
            }
            group.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
            queue_.clear();
        }
        if (options_.group_commit_max_wait_us > 0 && group.size() == 1) {
            std::this_thread::sleep_for(std::chrono::microseconds(options_.group_commit_max_wait_us));
            std::lock_guard lock(mutex_);
            while (!queue_.empty()) {
                group.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        write_group(group);
        group.clear();
    }
}

void Spool::write_group(std::vector<Pending>& group) {
    write_buffer_.clear();
    std::uint64_t queued = 0;
    std::uint64_t counted_queued = 0;
    std::vector<UndrainedFrame> ends;
    ends.reserve(group.size());
    const std::uint64_t start_offset = append_offset_;
    for (const auto& pending : group) {
        encode_frame(pending.batch, pending.received_us, write_buffer_);
        const std::uint64_t bytes = encoded_size(pending.batch);
        queued += bytes;
        if (!pending.exempt) counted_queued += bytes;
        ends.push_back({SpoolPosition{append_segment_, start_offset + write_buffer_.size()}, pending.received_us,
                        bytes, pending.exempt});
    }

    std::string failure;
    write_started_us_ = spool_steady_now_us();  // steady: a wall-clock step is no stall
    if (!write_all(append_fd_, write_buffer_.data(), write_buffer_.size()))
        failure = fmt::format("spool write failed: {}", std::strerror(errno));
    else if (::fdatasync(append_fd_) != 0)
        failure = fmt::format("spool fdatasync failed: {}", std::strerror(errno));
    write_started_us_ = 0;

    if (!failure.empty()) {
        // Nothing of this group is acknowledged; cut the file back so a later
        // recovery does not replay half of it as if it were whole.
        if (::ftruncate(append_fd_, static_cast<off_t>(start_offset)) != 0) {
            // The unacknowledged bytes stay in this segment. Its recorded size
            // (start_offset) is where the drain stops reading it; new frames go
            // to a fresh segment, so nothing valid ever follows the garbage.
            log::error("spool_truncate_failed segment={} error={}", append_segment_, std::strerror(errno));
            roll_segment();
        }
        log::error("spool_write_failed segment={} frames={} error=\"{}\"", append_segment_, group.size(), failure);
        bool drained_here;
        {
            std::lock_guard lock(mutex_);
            queued_bytes_ -= queued;
            counted_queued_bytes_ -= counted_queued;
            healthy_ = false;
            for (const auto& pending : group) forget_receipt(pending.received_us);
            drained_here = drain_position_ == durable_end_;
        }
        // A full disk (ENOSPC, long before max_bytes) stays full while this
        // segment keeps its drained bytes: they go only with the segment,
        // which rolls at segment_bytes. Once everything in it is drained,
        // now or at a later commit (commit_drained), it is rolled so the
        // drain deletes it and the room it held is written again. Rolled
        // before the refusal is answered, so a client that retries finds it
        // done.
        if (drained_here && append_offset_ > 0) roll_segment();
        for (auto& pending : group) notify(pending.done, {IngestStatus::failed, failure});
        return;
    }

    append_offset_ += write_buffer_.size();
    {
        std::lock_guard lock(mutex_);
        queued_bytes_ -= queued;
        counted_queued_bytes_ -= counted_queued;
        bytes_on_disk_ += write_buffer_.size();
        segment_sizes_.back().second = append_offset_;
        durable_end_ = {append_segment_, append_offset_};
        if (undrained_.empty()) admission_.backlog_began(spool_steady_now_us());
        counted_undrained_bytes_ += counted_queued;
        undrained_.insert(undrained_.end(), ends.begin(), ends.end());
        ++fsyncs_;
        healthy_ = true;
    }
    reader_wakeup_.notify_all();
    for (auto& pending : group) notify(pending.done, {IngestStatus::durable, {}});

    if (append_offset_ >= options_.segment_bytes) roll_segment();
}

void Spool::roll_segment() {
    try {
        const std::uint64_t next = append_segment_ + 1;
        const std::string path = segment_path(next);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) throw_errno("create spool segment " + path);
        fsync_directory(options_.dir);
        ::close(append_fd_);
        append_fd_ = fd;
        append_segment_ = next;
        append_offset_ = 0;
        std::lock_guard lock(mutex_);
        segment_sizes_.emplace_back(next, 0);
        durable_end_ = {next, 0};
    } catch (const std::exception& error) {
        // Keep appending to the current segment; rolling is retried after the next write.
        log::warning("spool_roll_failed error=\"{}\"", error.what());
    }
}

std::vector<EncodedBatch> Spool::read(std::size_t max_records, int wait_ms, SpoolPosition& end) {
    std::vector<EncodedBatch> frames;
    SpoolPosition position;
    SpoolPosition durable;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> sizes;
    {
        std::unique_lock lock(mutex_);
        reader_wakeup_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                                [this] { return reader_interrupted_ || read_position_ < durable_end_; });
        reader_interrupted_ = false;
        position = read_position_;
        durable = durable_end_;
        sizes.assign(segment_sizes_.begin(), segment_sizes_.end());
    }
    const SpoolPosition read_from = position;
    // An older segment is read up to its recorded size, which excludes any
    // unacknowledged tail a failed truncate may have left in the file.
    auto recorded_size = [&sizes](std::uint64_t segment, std::uint64_t file_size) {
        for (const auto& [number, size] : sizes)
            if (number == segment) return std::min(size, file_size);
        return file_size;
    };
    end = position;
    std::size_t records = 0;
    while (position < durable && records < max_records) {
        const std::string path = segment_path(position.segment);
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            // A segment can only be missing if it was empty when rolled; move on.
            if (position.segment < durable.segment) {
                position = {position.segment + 1, 0};
                continue;
            }
            throw_errno("open spool segment for drain " + path);
        }
        const std::uint64_t limit = position.segment == durable.segment
                                        ? durable.offset
                                        : recorded_size(position.segment, file_size_of(fd));
        EncodedBatch frame;
        std::int64_t received_us = 0;
        std::uint64_t next = 0;
        while (position.offset < limit && records < max_records &&
               read_frame(fd, position.offset, limit, frame, received_us, next)) {
            records += frame.record_count;
            position.offset = next;
            frames.push_back(std::move(frame));
        }
        ::close(fd);
        if (position.offset < limit && records < max_records) {
            // Validated at recovery or written by us; a frame that no longer
            // reads back is disk corruption under our feet.
            throw std::runtime_error(fmt::format("spool segment {} unreadable at offset {}", path, position.offset));
        }
        if (position.offset >= limit && position.segment < durable.segment) position = {position.segment + 1, 0};
        end = position;
    }
    bool nothing_in_flight;
    {
        std::lock_guard lock(mutex_);
        read_position_ = end;
        nothing_in_flight = drain_position_ == read_from;
    }
    // Moving past finished segments without a frame to hand on: nothing for
    // the store to confirm, so record it now and let those segments go. With
    // reads still being written, their writer's commit covers it instead.
    if (frames.empty() && read_from < end && nothing_in_flight) commit_drained(end);
    return frames;
}

void Spool::commit_drained(SpoolPosition position) {
    std::vector<std::uint64_t> removable;
    {
        std::lock_guard lock(mutex_);
        drain_position_ = position;
        // Drained bytes of the current segment still count against the disk
        // budget until the segment is deleted, and it is only deleted once it
        // is rolled. When the drain has caught up with a segment holding a
        // good share of the budget, roll it now rather than at segment_bytes.
        // After a failed write (a full disk, say: write_group), any drained
        // bytes are worth the roll.
        const std::uint64_t roll_at = healthy_ ? std::min(options_.segment_bytes, options_.max_bytes / 4) : 1;
        if (position == durable_end_ && position.offset >= roll_at) {
            roll_requested_ = true;
            writer_wakeup_.notify_one();
        }
        std::uint64_t drained_bytes = 0;
        while (!undrained_.empty() && undrained_.front().end <= position) {
            drained_bytes += undrained_.front().bytes;
            if (!undrained_.front().exempt) counted_undrained_bytes_ -= undrained_.front().bytes;
            forget_receipt(undrained_.front().received_us);
            undrained_.pop_front();
        }
        // Only a store commit measures the drain (read() also commits when it
        // merely steps over drained-out segments).
        if (drained_bytes > 0) admission_.drained(drained_bytes, !undrained_.empty(), spool_steady_now_us());
        while (segment_sizes_.size() > 1 && segment_sizes_.front().first < position.segment) {
            bytes_on_disk_ -= segment_sizes_.front().second;
            removable.push_back(segment_sizes_.front().first);
            segment_sizes_.pop_front();
        }
    }
    persist_drain_position(position);
    for (auto segment : removable) ::unlink(segment_path(segment).c_str());
}

// The drain position only saves work: losing it replays frames the store
// already has, which it ignores. So it is written atomically but not fsync'd.
void Spool::persist_drain_position(SpoolPosition position) {
    const std::string path = options_.dir + "/drain-position";
    const std::string temp = path + ".tmp";
    {
        std::ofstream out(temp, std::ios::trunc);
        out << position.segment << ' ' << position.offset << '\n';
        // The bytes reach the file here: a full disk fails this flush, and
        // the empty file must not replace the last good position.
        out.flush();
        if (!out) {
            log::warning("spool_drain_position_write_failed path={}", temp);
            return;
        }
    }
    std::error_code ec;
    fs::rename(temp, path, ec);
    if (ec) log::warning("spool_drain_position_write_failed path={} error=\"{}\"", path, ec.message());
}

void Spool::store_unreachable() {
    std::lock_guard lock(mutex_);
    admission_.store_unreachable();
}

void Spool::interrupt_reader() {
    {
        std::lock_guard lock(mutex_);
        reader_interrupted_ = true;
    }
    reader_wakeup_.notify_all();
}

SpoolStats Spool::stats() const {
    std::lock_guard lock(mutex_);
    SpoolStats stats;
    stats.bytes_on_disk = bytes_on_disk_;
    stats.segments = segment_sizes_.size();
    stats.frames_recovered = frames_recovered_;
    stats.bytes_truncated = bytes_truncated_;
    stats.fsyncs = fsyncs_;
    stats.oldest_undrained_us = undrained_.empty() ? 0 : undrained_.front().received_us;
    stats.undrained_batches = undrained_.size();
    const std::int64_t now = spool_steady_now_us();
    const std::uint64_t counted = counted_undrained_bytes_ + counted_queued_bytes_;
    const auto verdict = admission_.judge(counted, now);
    stats.counted_backlog_bytes = counted;
    stats.drain_bytes_per_second = admission_.drain_bytes_per_second(now);
    stats.backlog_drain_seconds = verdict.backlog_seconds;
    stats.admissions_refused = admissions_refused_;
    stats.admitting = verdict.admit;
    for (const auto& [segment, size] : segment_sizes_) {
        if (segment < drain_position_.segment || segment > durable_end_.segment) continue;
        const std::uint64_t from = segment == drain_position_.segment ? drain_position_.offset : 0;
        const std::uint64_t to = segment == durable_end_.segment ? durable_end_.offset : size;
        if (to > from) stats.undrained_bytes += to - from;
    }
    const std::int64_t started = write_started_us_.load();
    stats.healthy = healthy_ && (started == 0 || spool_steady_now_us() - started < stalled_write_us);
    return stats;
}

}  // namespace mw::store
