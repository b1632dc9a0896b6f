#include <catch2/catch.hpp>

#include <boost/crc.hpp>

#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <set>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <random>
#include <chrono>
#include <thread>

#include <boost/crc.hpp>

#include "store/spool.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using mw::IngestResult;
using mw::IngestStatus;
using mw::store::Spool;
using mw::store::EncodedBatch;
using mw::store::SpoolPosition;
using mw::testing::TempDir;

namespace {

mw::config::SpoolOptions options_for(const TempDir& dir) {
    mw::config::SpoolOptions options;
    options.dir = dir.path().string();
    options.max_bytes = 64ull << 20;
    options.segment_bytes = 4096;
    return options;
}

EncodedBatch frame(int n) {
    EncodedBatch f;
    f.kind = n % 2 ? mw::RecordKind::outcome : mw::RecordKind::prediction;
    f.record_count = 1;
    f.copy_rows = "m\tid-" + std::to_string(n) + "\t2024-01-01T00:00:00Z\n";
    return f;
}

IngestResult append_and_wait(Spool& spool, EncodedBatch f) {
    std::promise<IngestResult> promise;
    auto future = promise.get_future();
    spool.append(std::move(f), spool.receive(), [&](IngestResult result) { promise.set_value(result); });
    return future.get();
}

std::vector<std::string> drain_all(Spool& spool, bool commit) {
    std::vector<std::string> rows;
    for (;;) {
        SpoolPosition end;
        auto frames = spool.read(1000, 0, end);
        if (frames.empty()) break;
        for (auto& f : frames) rows.push_back(f.copy_rows);
        if (commit) spool.commit_drained(end);
        else break;
    }
    return rows;
}

std::vector<fs::path> segments_in(const fs::path& dir) {
    std::vector<fs::path> found;
    for (auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".spool") found.push_back(entry.path());
    std::sort(found.begin(), found.end());
    return found;
}

}  // namespace

TEST_CASE("concurrent appends are all durable and read back in order per writer") {
    TempDir dir("mw-spool-test");
    Spool spool(options_for(dir));
    spool.start();
    constexpr int threads = 4, per_thread = 200;
    std::atomic<int> durable{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i)
                if (append_and_wait(spool, frame(t * 1000 + i)).status == IngestStatus::durable) ++durable;
        });
    for (auto& w : writers) w.join();
    CHECK(durable == threads * per_thread);
    CHECK(spool.stats().fsyncs <= static_cast<std::uint64_t>(threads * per_thread));

    auto rows = drain_all(spool, true);
    REQUIRE(rows.size() == threads * per_thread);
    std::set<std::string> unique(rows.begin(), rows.end());
    CHECK(unique.size() == rows.size());
    // Segments roll at 4 KiB; after draining, only the newest one remains.
    CHECK(segments_in(dir.path()).size() == 1);
    CHECK(spool.stats().oldest_undrained_us == 0);
}

TEST_CASE("a restart replays every frame that was not drained, and none that was") {
    TempDir dir("mw-spool-test");
    {
        Spool spool(options_for(dir));
        spool.start();
        for (int i = 0; i < 100; ++i) REQUIRE(append_and_wait(spool, frame(i)).status == IngestStatus::durable);
        // Drain and commit only the first read.
        SpoolPosition end;
        auto first = spool.read(30, 0, end);
        REQUIRE(first.size() == 30);
        spool.commit_drained(end);
    }
    Spool reopened(options_for(dir));
    CHECK(reopened.stats().frames_recovered == 70);
    reopened.start();
    auto rows = drain_all(reopened, true);
    REQUIRE(rows.size() == 70);
    CHECK(rows.front() == frame(30).copy_rows);
    CHECK(rows.back() == frame(99).copy_rows);
}

TEST_CASE("a torn frame at the end of the newest segment is cut off at recovery") {
    TempDir dir("mw-spool-test");
    auto options = options_for(dir);
    options.segment_bytes = 1 << 20;
    {
        Spool spool(options);
        spool.start();
        for (int i = 0; i < 10; ++i) REQUIRE(append_and_wait(spool, frame(i)).status == IngestStatus::durable);
    }
    auto segments = segments_in(dir.path());
    REQUIRE(segments.size() == 1);
    const auto valid_size = fs::file_size(segments[0]);
    {
        // Half a frame header plus junk, as a crash in the middle of write() leaves.
        std::ofstream out(segments[0], std::ios::app | std::ios::binary);
        out.write("MWS1\x10\x00\x00", 7);
    }
    Spool reopened(options);
    CHECK(reopened.stats().bytes_truncated == 7);
    CHECK(fs::file_size(segments[0]) == valid_size);
    reopened.start();
    REQUIRE(append_and_wait(reopened, frame(10)).status == IngestStatus::durable);
    auto rows = drain_all(reopened, true);
    REQUIRE(rows.size() == 11);
    CHECK(rows.back() == frame(10).copy_rows);
}

TEST_CASE("frames checksummed by the spool before zlib's crc32 (boost::crc_32_type) read back unchanged") {
    // Written byte by byte as the spool wrote them before: magic "MWS1",
    // payload length, CRC-32 of what follows it (by boost::crc_32_type, the
    // implementation then), kind, record count, received_at, the COPY rows.
    // One large payload, so zlib's word-at-a-time path is exercised too.
    const auto old_frame = [](mw::RecordKind kind, std::uint32_t records, std::int64_t received_us,
                              const std::string& rows) {
        std::string after_crc;
        after_crc.push_back(static_cast<char>(kind));
        after_crc.append(reinterpret_cast<const char*>(&records), 4);
        after_crc.append(reinterpret_cast<const char*>(&received_us), 8);
        after_crc += rows;
        boost::crc_32_type crc;
        crc.process_bytes(after_crc.data(), after_crc.size());
        const std::uint32_t magic = 0x3153574d, length = static_cast<std::uint32_t>(rows.size()),
                            checksum = crc.checksum();
        std::string frame;
        frame.append(reinterpret_cast<const char*>(&magic), 4);
        frame.append(reinterpret_cast<const char*>(&length), 4);
        frame.append(reinterpret_cast<const char*>(&checksum), 4);
        return frame + after_crc;
    };
    std::string large;
    for (int i = 0; large.size() < (300u << 10); ++i)
        large += "m\tid-" + std::to_string(i) + "\t2024-01-01T00:00:00Z\t{\"f\":" + std::to_string(i * 0.37) + "}\n";
    const std::string small = "m\tone\t2024-01-01T00:00:00Z\n";
    TempDir dir("mw-spool-test");
    auto options = options_for(dir);
    options.segment_bytes = 1 << 20;
    {
        std::ofstream out(dir.path() / "segment-0000000000000001.spool", std::ios::binary);
        out << old_frame(mw::RecordKind::prediction, 1000, 1'700'000'000'000'000, large)
            << old_frame(mw::RecordKind::outcome, 1, 1'700'000'000'000'001, small);
    }
    Spool reopened(options);
    CHECK(reopened.stats().frames_recovered == 2);
    CHECK(reopened.stats().bytes_truncated == 0);
    reopened.start();
    SpoolPosition end;
    const auto frames = reopened.read(100000, 0, end);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].kind == mw::RecordKind::prediction);
    CHECK(frames[0].record_count == 1000);
    CHECK(frames[0].copy_rows == large);
    CHECK(frames[1].kind == mw::RecordKind::outcome);
    CHECK(frames[1].copy_rows == small);
}

TEST_CASE("a corrupted byte inside a frame invalidates that frame and what follows in the segment") {
    TempDir dir("mw-spool-test");
    auto options = options_for(dir);
    options.segment_bytes = 1 << 20;
    {
        Spool spool(options);
        spool.start();
        for (int i = 0; i < 5; ++i) REQUIRE(append_and_wait(spool, frame(i)).status == IngestStatus::durable);
    }
    auto segment = segments_in(dir.path()).at(0);
    const auto size = fs::file_size(segment);
    {
        std::fstream io(segment, std::ios::in | std::ios::out | std::ios::binary);
        io.seekp(static_cast<std::streamoff>(size - 3));
        io.put('#');
    }
    Spool reopened(options);
    reopened.start();
    auto rows = drain_all(reopened, true);
    CHECK(rows.size() == 4);
}

TEST_CASE("past the disk budget the spool refuses with spool_full and keeps what it has") {
    TempDir dir("mw-spool-test");
    auto options = options_for(dir);
    options.max_bytes = 600;
    Spool spool(options);
    spool.start();
    int durable = 0, full = 0;
    for (int i = 0; i < 50; ++i) {
        auto result = append_and_wait(spool, frame(i));
        if (result.status == IngestStatus::durable) ++durable;
        if (result.status == IngestStatus::spool_full) {
            ++full;
            CHECK_THAT(result.message, Catch::Contains("spool is full"));
        }
    }
    CHECK(durable > 0);
    CHECK(full == 50 - durable);
    CHECK(spool.stats().bytes_on_disk <= 600);
    // Draining frees the budget again.
    auto rows = drain_all(spool, true);
    CHECK(static_cast<int>(rows.size()) == durable);
}

TEST_CASE("read waits for data and an interrupt wakes it") {
    TempDir dir("mw-spool-test");
    Spool spool(options_for(dir));
    spool.start();
    auto reader = std::async(std::launch::async, [&] {
        SpoolPosition end;
        return spool.read(10, 10000, end).size();
    });
    REQUIRE(append_and_wait(spool, frame(1)).status == IngestStatus::durable);
    CHECK(reader.get() == 1);

    auto idle = std::async(std::launch::async, [&] {
        SpoolPosition end;
        return spool.read(10, 60000, end).size();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    spool.interrupt_reader();
    // The frame read before is in the store's hands, not read again; it
    // stays undrained until committed.
    CHECK(idle.get() == 0);
    CHECK(spool.stats().oldest_undrained_us != 0);
}

TEST_CASE("reads before a commit hand out consecutive ranges; the drain position moves only on commit") {
    TempDir dir("mw-spool-test");
    {
        Spool spool(options_for(dir));
        spool.start();
        for (int i = 0; i < 100; ++i) REQUIRE(append_and_wait(spool, frame(i)).status == IngestStatus::durable);
        SpoolPosition first_end, second_end, third_end;
        const auto first = spool.read(30, 0, first_end);
        const auto second = spool.read(30, 0, second_end);
        const auto third = spool.read(30, 0, third_end);
        REQUIRE(first.size() == 30);
        REQUIRE(second.size() == 30);
        REQUIRE(third.size() == 30);
        CHECK(first.front().copy_rows == frame(0).copy_rows);
        CHECK(second.front().copy_rows == frame(30).copy_rows);
        CHECK(third.front().copy_rows == frame(60).copy_rows);
        CHECK(first_end < second_end);
        CHECK(second_end < third_end);
        const auto backlog = spool.stats().undrained_bytes;
        CHECK(backlog > 0);
        CHECK(spool.stats().undrained_batches == 100);
        // Only the first range is committed: the other two were handed out
        // but not stored, as when a drain stops with writes in flight.
        spool.commit_drained(first_end);
        CHECK(spool.stats().undrained_batches == 70);
        CHECK(spool.stats().undrained_bytes < backlog);
    }
    // A restart reads again from the drain position: nothing handed out but
    // uncommitted is lost.
    Spool reopened(options_for(dir));
    reopened.start();
    auto rows = drain_all(reopened, true);
    REQUIRE(rows.size() == 70);
    CHECK(rows.front() == frame(30).copy_rows);
    CHECK(reopened.stats().undrained_bytes == 0);
}

TEST_CASE("appends after stop are refused, never silently dropped") {
    TempDir dir("mw-spool-test");
    Spool spool(options_for(dir));
    spool.start();
    spool.stop();
    auto result = append_and_wait(spool, frame(1));
    CHECK(result.status == IngestStatus::failed);
    CHECK_FALSE(result.message.empty());
}

TEST_CASE("once drained, a segment as large as the budget is rolled away and ingest resumes") {
    TempDir dir("mw-spool-test");
    auto options = options_for(dir);
    options.max_bytes = 4096;
    options.segment_bytes = 4096;  // the worst case the budget must survive
    Spool spool(options);
    spool.start();
    int durable = 0;
    while (append_and_wait(spool, frame(durable)).status == IngestStatus::durable) ++durable;
    REQUIRE(durable > 10);
    REQUIRE(drain_all(spool, true).size() == static_cast<std::size_t>(durable));

    // The drain caught up: the writer rolls the segment, the drained one is deleted.
    for (int i = 0; i < 200 && spool.stats().bytes_on_disk > 0; ++i) {
        drain_all(spool, true);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(spool.stats().bytes_on_disk == 0);
    CHECK(append_and_wait(spool, frame(10000)).status == IngestStatus::durable);
    auto rows = drain_all(spool, true);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0] == frame(10000).copy_rows);
}

// The disk can fill long before the budget does (a spool on a small
// partition, max_bytes at its 1 GiB default). RLIMIT_FSIZE stands in for the
// full disk: a write past it fails (EFBIG) as one past the free space does
// (ENOSPC), and no other file of the process grows past it meanwhile.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // the write fails instead of killing the process
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &previous_) == 0);
        rlimit limited = previous_;
        limited.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &previous_);
        std::signal(SIGXFSZ, previous_handler_);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;

private:
    rlimit previous_{};
    void (*previous_handler_)(int) = nullptr;
};

EncodedBatch large_frame(int n, std::size_t bytes) {
    EncodedBatch f = frame(n);
    f.copy_rows.append(bytes, 'x');
    f.copy_rows.push_back('\n');
    return f;
}

TEST_CASE("once drained, a segment the full disk has no room past is rolled away and ingest resumes") {
    TempDir dir("mw-spool-test");
    auto options = options_for(dir);
    options.segment_bytes = 64ull << 20;  // the default: far more than the disk has
    Spool spool(options);
    spool.start();
    FileSizeLimit disk(1u << 20);
    REQUIRE(append_and_wait(spool, large_frame(1, 600u << 10)).status == IngestStatus::durable);
    REQUIRE(drain_all(spool, true).size() == 1);

    // No room for the next: refused, never acknowledged.
    const auto refused = append_and_wait(spool, large_frame(2, 600u << 10));
    CHECK(refused.status == IngestStatus::failed);
    CHECK_THAT(refused.message, Catch::Contains("spool write failed"));
    CHECK_FALSE(spool.stats().healthy);

    // Everything acknowledged is drained: the segment holding it is rolled
    // away (the drain steps over it and deletes it, at its next read or
    // commit: given a few reads, bounded) and ingest resumes.
    drain_all(spool, true);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (segments_in(dir.path()).size() != 1 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        drain_all(spool, true);
    }
    CHECK(segments_in(dir.path()).size() == 1);
    const auto retried = append_and_wait(spool, large_frame(2, 600u << 10));
    CHECK(retried.status == IngestStatus::durable);
    CHECK(spool.stats().healthy);
    auto rows = drain_all(spool, true);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0] == large_frame(2, 600u << 10).copy_rows);
}

// The drain position is small and written often: on a full disk its
// write fails when the stream flushes, and the empty file must not replace
// the last good one (a restart would then replay the whole oldest segment).
TEST_CASE("a drain position that cannot be written leaves the last one in place") {
    TempDir dir("mw-spool-test");
    auto options = options_for(dir);
    options.segment_bytes = 64ull << 20;
    const auto position_file = dir.path() / "drain-position";
    {
        Spool spool(options);
        spool.start();
        for (int i = 0; i < 3; ++i) REQUIRE(append_and_wait(spool, frame(i)).status == IngestStatus::durable);
        SpoolPosition end;
        REQUIRE(spool.read(1, 0, end).size() == 1);
        spool.commit_drained(end);
        const std::string saved = mw::testing::read_text(position_file);
        REQUIRE_FALSE(saved.empty());
        REQUIRE(spool.read(1, 0, end).size() == 1);
        {
            FileSizeLimit disk(0);  // no write of a byte succeeds
            spool.commit_drained(end);
        }
        CHECK(mw::testing::read_text(position_file) == saved);
    }
    // The restart replays from the last position written: two frames, not three.
    Spool reopened(options);
    CHECK(reopened.stats().frames_recovered == 2);
}

TEST_CASE("admission control counts only what was acknowledged with the drain working") {
    TempDir dir("mw-spool-test");
    auto options = options_for(dir);
    options.max_backlog_seconds = 1;
    // + frame header, and (version 2) the model and key id with their lengths
    const auto frame_bytes = [](const EncodedBatch& f) {
        return f.copy_rows.size() + 25 + 3 + f.model.size() + f.privacy_key_id.size();
    };
    std::uint64_t before_start = 0;
    {
        Spool spool(options);
        spool.start();
        for (int i = 0; i < 3; ++i) REQUIRE(append_and_wait(spool, frame(i)).status == IngestStatus::durable);
        // The drain has never stored anything: these are the spool's to buffer.
        CHECK(spool.stats().counted_backlog_bytes == 0);
        CHECK(spool.stats().undrained_bytes > 0);
        CHECK(spool.stats().admitting);
        CHECK_FALSE(spool.admission_refusal());
        before_start = spool.stats().undrained_bytes;
        spool.stop();
    }
    Spool spool(options);
    spool.start();
    // Recovered at start: exempt too.
    CHECK(spool.stats().undrained_bytes == before_start);
    CHECK(spool.stats().counted_backlog_bytes == 0);
    SpoolPosition end;
    REQUIRE(spool.read(1, 0, end).size() == 1);
    spool.commit_drained(end);  // the drain stored one: it works
    REQUIRE(append_and_wait(spool, frame(10)).status == IngestStatus::durable);
    CHECK(spool.stats().counted_backlog_bytes == frame_bytes(frame(10)));
    // Draining in order: the two exempt frames go first, the counted one last.
    REQUIRE(spool.read(2, 0, end).size() == 2);
    spool.commit_drained(end);
    CHECK(spool.stats().counted_backlog_bytes == frame_bytes(frame(10)));
    REQUIRE(spool.read(1, 0, end).size() == 1);
    spool.commit_drained(end);
    CHECK(spool.stats().counted_backlog_bytes == 0);
    CHECK(spool.stats().undrained_bytes == 0);
    // PostgreSQL lost: what comes meanwhile is exempt again.
    spool.store_unreachable();
    REQUIRE(append_and_wait(spool, frame(11)).status == IngestStatus::durable);
    CHECK(spool.stats().counted_backlog_bytes == 0);
    CHECK(spool.stats().undrained_bytes == frame_bytes(frame(11)));
    CHECK(spool.stats().admissions_refused == 0);
}

namespace {

// The receipt clock of the watermark tests, set by hand.
struct ReceiptTestClock {
    std::atomic<std::int64_t> now_us{1'000'000};
    std::function<std::int64_t()> function() {
        return [this] { return now_us.load(); };
    }
};

IngestResult append_received(Spool& spool, EncodedBatch f, Spool::Receipt receipt) {
    std::promise<IngestResult> promise;
    auto future = promise.get_future();
    spool.append(std::move(f), std::move(receipt), [&](IngestResult result) { promise.set_value(result); });
    return future.get();
}

}  // namespace

TEST_CASE("the watermark waits for every receipt not yet stored, in whatever order batches reach the spool") {
    TempDir dir("mw-spool-test");
    ReceiptTestClock receipts;
    Spool spool(options_for(dir), receipts.function());
    spool.start();
    CHECK(spool.stored_before_us() == 1'000'000);  // idle: its receipts

    auto first = spool.receive();
    receipts.now_us = 2'000'000;
    auto second = spool.receive();
    receipts.now_us = 3'000'000;
    CHECK(first.received_us() == 1'000'000);
    CHECK(second.received_us() == 2'000'000);
    CHECK(spool.stored_before_us() == 1'000'000);

    // The batch stamped second is appended first: the first one, still
    // being encoded, holds the watermark.
    REQUIRE(append_received(spool, frame(2), std::move(second)).status == IngestStatus::durable);
    CHECK(spool.stored_before_us() == 1'000'000);
    REQUIRE(append_received(spool, frame(1), std::move(first)).status == IngestStatus::durable);
    CHECK(spool.stored_before_us() == 1'000'000);

    // Read but not committed (being written to PostgreSQL): still held.
    SpoolPosition end;
    REQUIRE(spool.read(1, 0, end).size() == 1);
    CHECK(spool.stored_before_us() == 1'000'000);
    spool.commit_drained(end);  // the frame stamped 2 s, stored
    CHECK(spool.stored_before_us() == 1'000'000);
    REQUIRE(spool.read(1, 0, end).size() == 1);
    spool.commit_drained(end);
    CHECK(spool.stored_before_us() == 3'000'000);  // nothing held: its receipts again

    // A receipt dropped unused, or a refused batch, holds nothing.
    receipts.now_us = 4'000'000;
    { auto dropped = spool.receive(); }
    CHECK(spool.stored_before_us() == 4'000'001);  // stamps are unique: the next is a microsecond later
}

TEST_CASE("a refused batch's receipt is released") {
    TempDir dir("mw-spool-test");
    ReceiptTestClock receipts;
    auto options = options_for(dir);
    options.max_bytes = 16;  // nothing fits
    Spool spool(options, receipts.function());
    spool.start();
    auto receipt = spool.receive();
    receipts.now_us = 5'000'000;
    CHECK(append_received(spool, frame(1), std::move(receipt)).status == IngestStatus::spool_full);
    CHECK(spool.stored_before_us() == 5'000'000);
}

TEST_CASE("receipts never go back before a watermark or stamp given, whatever the receipts does") {
    TempDir dir("mw-spool-test");
    ReceiptTestClock receipts;
    {
        Spool spool(options_for(dir), receipts.function());
        spool.start();
        receipts.now_us = 9'000'000;
        CHECK(spool.stored_before_us() == 9'000'000);
        receipts.now_us = 7'000'000;  // stepped back two seconds
        CHECK(spool.stored_before_us() == 9'000'000);
        auto receipt = spool.receive();
        CHECK(receipt.received_us() == 9'000'000);
        CHECK(spool.receive().received_us() == 9'000'001);  // unique, a microsecond apart
        REQUIRE(append_received(spool, frame(1), std::move(receipt)).status == IngestStatus::durable);
        // Stopped before the drain stored it.
    }
    // After a restart the frame found undrained holds the watermark, and a
    // receipts behind it does not stamp before it.
    receipts.now_us = 6'000'000;
    Spool reopened(options_for(dir), receipts.function());
    reopened.start();
    CHECK(reopened.stored_before_us() == 9'000'000);
    auto later = reopened.receive();
    CHECK(later.received_us() == 9'000'001);
    later = Spool::Receipt();
    CHECK(reopened.stored_before_us() == 9'000'000);
    receipts.now_us = 12'000'000;
    CHECK(reopened.stored_before_us() == 9'000'000);  // the recovered frame is not stored yet
    REQUIRE(drain_all(reopened, true).size() == 1);
    CHECK(reopened.stored_before_us() == 12'000'000);
}

TEST_CASE("a frame keeps its model and privacy key id across a restart; a frame spooled before key ids still reads") {
    TempDir dir("mw-spool-test");
    const auto options = options_for(dir);
    // A version-1 frame ("MWS1", as spooled before key ids): kind, count and
    // receipt, then only the COPY rows, under its CRC.
    const std::string v1_rows = "m\told-1\t2024-01-01T00:00:00Z\n";
    {
        std::string body;
        body.push_back(static_cast<char>(mw::RecordKind::prediction));
        const std::uint32_t count = 1;
        const std::int64_t received_us = 1'700'000'000'000'000;
        body.append(reinterpret_cast<const char*>(&count), 4);
        body.append(reinterpret_cast<const char*>(&received_us), 8);
        body += v1_rows;
        boost::crc_32_type crc;
        crc.process_bytes(body.data(), body.size());
        const std::uint32_t checksum = crc.checksum();
        const auto payload = static_cast<std::uint32_t>(v1_rows.size());
        std::ofstream out(dir.path() / "segment-0000000000000001.spool", std::ios::binary);
        out.write("MWS1", 4);
        out.write(reinterpret_cast<const char*>(&payload), 4);
        out.write(reinterpret_cast<const char*>(&checksum), 4);
        out.write(body.data(), static_cast<std::streamsize>(body.size()));
    }
    {
        Spool spool(options);
        CHECK(spool.stats().frames_recovered == 1);
        spool.start();
        auto keyed = frame(2);
        keyed.model = "adult";
        keyed.privacy_key_id = "1a2b3c4d";
        REQUIRE(append_and_wait(spool, keyed).status == IngestStatus::durable);
        auto plain = frame(4);
        plain.model = "elec2";  // hashes nothing
        REQUIRE(append_and_wait(spool, plain).status == IngestStatus::durable);
    }
    Spool reopened(options);
    CHECK(reopened.stats().frames_recovered == 3);
    reopened.start();
    SpoolPosition end;
    const auto frames = reopened.read(1000, 0, end);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].copy_rows == v1_rows);
    CHECK(frames[0].model.empty());  // not known: the drain stores it unchecked, as before
    CHECK(frames[0].privacy_key_id.empty());
    CHECK(frames[1].copy_rows == frame(2).copy_rows);
    CHECK(frames[1].model == "adult");
    CHECK(frames[1].privacy_key_id == "1a2b3c4d");
    CHECK(frames[2].copy_rows == frame(4).copy_rows);
    CHECK(frames[2].model == "elec2");
    CHECK(frames[2].privacy_key_id.empty());
}
