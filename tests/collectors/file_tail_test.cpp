#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "collectors/checkpoint.h"
#include "collectors/file_tail.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/modelwatch-file-tail-XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        path_ = pattern;
    }
    ~TempDir() { fs::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

void append(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << text;
    REQUIRE(out.good());
}

// Records every id it is handed; refuses batches while `refuse` is set.
class RecordingSink : public mw::IngestSink {
public:
    void submit(mw::PredictionBatch batch, std::function<void(mw::IngestResult)> done) override {
        std::unique_lock lock(mutex_);
        if (refuse) {
            ++refused;
            lock.unlock();
            done({mw::IngestStatus::spool_full, "spool is full"});
            return;
        }
        models.push_back(batch.model);
        for (auto& record : batch.records) ids.push_back(record.id);
        lock.unlock();
        done({mw::IngestStatus::durable, {}});
    }
    void submit(mw::OutcomeBatch batch, std::function<void(mw::IngestResult)> done) override {
        std::unique_lock lock(mutex_);
        models.push_back(batch.model);
        for (auto& record : batch.records) ids.push_back("outcome:" + record.id);
        lock.unlock();
        done({mw::IngestStatus::durable, {}});
    }
    std::vector<std::string> delivered() {
        std::lock_guard lock(mutex_);
        return ids;
    }

    bool refuse = false;
    int refused = 0;
    std::vector<std::string> models;

private:
    std::mutex mutex_;
    std::vector<std::string> ids;
};

// The test's stand-in for the ingest parser: a line {"id":"X"} is a
// prediction with id X; any other line is rejected, with its chunk index.
// Like the real parser, it refuses a whole chunk whose first byte is not '{'.
mw::ParsedLines parse_ids(std::string_view chunk, const std::shared_ptr<const mw::ModelSchema>& schema) {
    REQUIRE(schema->name == "churn");
    if (chunk.empty() || chunk.front() != '{') return {mw::PredictionBatch{}, {}, "expected NDJSON objects"};
    mw::PredictionBatch batch;
    batch.schema = schema;
    std::vector<mw::Rejection> rejections;
    std::size_t index = 0;
    while (!chunk.empty()) {
        auto newline = chunk.find('\n');
        REQUIRE(newline != std::string_view::npos);  // the tail hands whole lines only
        std::string_view line = chunk.substr(0, newline);
        chunk.remove_prefix(newline + 1);
        const std::string_view prefix = "{\"id\":\"";
        if (line.substr(0, prefix.size()) == prefix && line.size() > prefix.size() + 2 &&
            line.substr(line.size() - 2) == "\"}") {
            mw::Prediction prediction;
            prediction.id = std::string(line.substr(prefix.size(), line.size() - prefix.size() - 2));
            batch.records.push_back(std::move(prediction));
        } else {
            rejections.push_back({index, "id", "not an {\"id\":...} line"});
        }
        ++index;
    }
    return {std::move(batch), std::move(rejections), {}};
}

std::string rec(const std::string& id) { return "{\"id\":\"" + id + "\"}\n"; }

std::shared_ptr<const mw::ModelSchema> churn_model() {
    auto schema = std::make_shared<mw::ModelSchema>();
    schema->name = "churn";
    return schema;
}

mw::config::FileTailOptions options_for(const std::string& path) {
    mw::config::FileTailOptions options;
    options.path = path;
    options.model = "churn";
    options.kind = mw::RecordKind::prediction;
    options.poll_interval_ms = 10;
    return options;
}

using Ids = std::vector<std::string>;

// Tests of what happens at a rotation switch at once; the wait has its own test.
mw::FileTailLimits immediate_rotation() {
    mw::FileTailLimits limits;
    limits.rotate_wait_ms = 0;
    return limits;
}

// Captures what the process logs to stderr while it lives.
class StderrCapture {
public:
    explicit StderrCapture(const std::string& path) : path_(path) {
        std::fflush(stderr);
        saved_ = ::dup(STDERR_FILENO);
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        ::dup2(fd, STDERR_FILENO);
        ::close(fd);
    }
    ~StderrCapture() { restore(); }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    std::string text() {
        restore();
        return mw::testing::read_text(path_);
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        saved_ = -1;
    }
    std::string path_;
    int saved_ = -1;
};

}  // namespace

TEST_CASE("appended lines are delivered exactly once, in order") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids);

    auto first = tail.poll_once();
    CHECK(first.error.empty());  // a file that does not exist yet is not an error
    CHECK(sink.delivered().empty());

    append(log, rec("a") + rec("b"));
    auto second = tail.poll_once();
    CHECK(second.error.empty());
    CHECK(second.lines_delivered == 2);
    CHECK(sink.delivered() == Ids{"a", "b"});

    CHECK(tail.poll_once().lines_delivered == 0);
    append(log, rec("c"));
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a", "b", "c"});
    CHECK(sink.models == std::vector<std::string>{"churn", "churn"});
    CHECK(tail.counters().lines_delivered == 3);
    CHECK(tail.counters().errors == 0);
}

TEST_CASE("a partial last line waits for its newline") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids);

    append(log, rec("a") + "{\"id\":\"b");
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a"});
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a"});

    append(log, "c\"}");
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a"});

    append(log, "\n" + rec("d"));
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a", "bc", "d"});
    CHECK(tail.counters().lines_rejected == 0);
}

TEST_CASE("rotation by rename and create: the old file is finished first") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids, immediate_rotation());

    append(log, rec("a") + rec("b"));
    tail.poll_once();
    REQUIRE(sink.delivered() == Ids{"a", "b"});

    SECTION("new file already there at the next poll") {
        append(log, rec("c") + rec("d"));  // written after the last poll, before rotation
        fs::rename(log, dir / "app.ndjson.1");
        append(log, rec("e"));
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b", "c", "d", "e"});
    }
    SECTION("a poll between the rename and the create") {
        append(log, rec("c"));
        fs::rename(log, dir / "app.ndjson.1");
        append(dir / "app.ndjson.1", rec("d"));  // the writer has not reopened yet
        CHECK(tail.poll_once().error.empty());
        CHECK(sink.delivered() == Ids{"a", "b", "c", "d"});
        append(log, rec("e"));
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b", "c", "d", "e"});
    }
    SECTION("an unterminated last line of the old file is delivered at the switch") {
        append(log, "{\"id\":\"c\"}");
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b"});
        fs::rename(log, dir / "app.ndjson.1");
        append(log, rec("e"));
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b", "c", "e"});
    }

    CHECK(tail.counters().rotations == 1);
    append(log, rec("f"));
    tail.poll_once();
    CHECK(sink.delivered().back() == "f");
    CHECK(tail.counters().lines_delivered == sink.delivered().size());
}

TEST_CASE("a rotated file is still read for rotate_wait_ms, for a writer that reopens late") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    const std::string rotated = dir / "app.ndjson.1";
    RecordingSink sink;
    auto now = std::chrono::steady_clock::time_point{};
    mw::FileTailLimits limits;
    limits.rotate_wait_ms = 5000;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids, limits, [&now] { return now; });

    append(log, rec("a"));
    tail.poll_once();
    fs::rename(log, rotated);
    append(log, rec("e"));      // logrotate created the new file
    append(rotated, rec("b"));  // the writer has not reopened yet
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a", "b"});

    now += std::chrono::milliseconds(4999);
    append(rotated, rec("c") + "{\"id\":\"d\"}");  // its last line without a newline
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a", "b", "c"});
    CHECK(tail.counters().rotations == 0);

    now += std::chrono::milliseconds(1);
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a", "b", "c", "d", "e"});
    CHECK(tail.counters().rotations == 1);

    append(rotated, rec("late"));  // past the wait the old file is no longer read
    append(log, rec("f"));
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a", "b", "c", "d", "e", "f"});
}

TEST_CASE("truncation in place (copytruncate) restarts at the beginning") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids);

    append(log, rec("a1") + rec("b1"));
    tail.poll_once();
    REQUIRE(sink.delivered() == Ids{"a1", "b1"});

    SECTION("the file is shorter than what was read") {
        fs::copy_file(log, dir / "app.ndjson.1");
        fs::resize_file(log, 0);
        append(log, rec("c"));
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a1", "b1", "c"});
    }
    SECTION("the file grew past the old offset before the poll") {
        fs::resize_file(log, 0);
        append(log, rec("c1") + rec("d1") + rec("e1"));
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a1", "b1", "c1", "d1", "e1"});
    }
    CHECK(tail.counters().truncations == 1);
    CHECK(tail.counters().rotations == 0);
    tail.poll_once();
    CHECK(tail.counters().truncations == 1);
}

TEST_CASE("a new FileTail resumes from the checkpoint and never re-delivers") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    const std::string state = dir / "state";
    RecordingSink sink;
    {
        mw::FileTail tail(options_for(log), churn_model(), state, sink, parse_ids);
        append(log, rec("a") + rec("b") + "{\"id\":\"c");
        tail.poll_once();
    }
    REQUIRE(sink.delivered() == Ids{"a", "b"});

    SECTION("same file") {
        append(log, "\"}\n" + rec("d"));
        mw::FileTail tail(options_for(log), churn_model(), state, sink, parse_ids);
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b", "c", "d"});
    }
    SECTION("the file was rotated while no tail ran: its rest is read first") {
        append(log, "\"}\n" + rec("d"));
        fs::rename(log, dir / "app.ndjson.1");
        append(log, rec("e"));
        mw::FileTail tail(options_for(log), churn_model(), state, sink, parse_ids, immediate_rotation());
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b", "c", "d", "e"});
        CHECK(tail.counters().rotations == 1);
    }
    SECTION("the file is missing for a while: the checkpoint waits for it") {
        const std::string away = dir / "elsewhere.ndjson";
        fs::create_directory(away);
        fs::rename(log, away + "/app.ndjson");
        mw::FileTail tail(options_for(log), churn_model(), state, sink, parse_ids);
        CHECK(tail.poll_once().error.empty());
        fs::rename(away + "/app.ndjson", log);
        append(log, "\"}\n");
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b", "c"});
    }
    SECTION("the file was replaced by another with the same size while no tail ran") {
        fs::remove(log);
        append(log, rec("x") + rec("y") + "{\"id\":\"z");
        mw::FileTail tail(options_for(log), churn_model(), state, sink, parse_ids);
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b", "x", "y"});
    }
}

TEST_CASE("a refused batch does not move the checkpoint and is delivered later") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    const std::string state = dir / "state";
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), state, sink, parse_ids);
    append(log, rec("a"));
    tail.poll_once();
    const auto checkpoint_after_a = mw::load_checkpoint(tail.checkpoint_path());
    REQUIRE(checkpoint_after_a.checkpoint);
    CHECK(checkpoint_after_a.checkpoint->offset == rec("a").size());

    append(log, rec("b") + rec("c"));
    sink.refuse = true;
    auto refused = tail.poll_once();
    CHECK_FALSE(refused.error.empty());
    CHECK(refused.error.find("spool_full") != std::string::npos);
    CHECK(sink.refused == 1);
    CHECK(sink.delivered() == Ids{"a"});
    CHECK(mw::load_checkpoint(tail.checkpoint_path()).checkpoint == checkpoint_after_a.checkpoint);
    CHECK(tail.counters().errors == 1);

    SECTION("the same tail retries at its next poll") {
        sink.refuse = false;
        CHECK(tail.poll_once().error.empty());
        CHECK(sink.delivered() == Ids{"a", "b", "c"});
        tail.poll_once();
        CHECK(sink.delivered().size() == 3);
    }
    SECTION("a restarted tail retries from the checkpoint") {
        sink.refuse = false;
        mw::FileTail restarted(options_for(log), churn_model(), state, sink, parse_ids);
        restarted.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b", "c"});
        restarted.poll_once();
        CHECK(sink.delivered().size() == 3);
    }
}

TEST_CASE("rejected lines are logged with file:line, counted and not retried") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids);

    // Line 3 is blank and line 4 is CRLF-terminated: neither is a rejection.
    append(log, rec("a") + "not json\n" + "\n" + "{\"id\":\"b\"}\r\n" + "{\"x\":1}\n");
    std::string logged;
    {
        StderrCapture capture(dir / "stderr.txt");
        tail.poll_once();
        logged = capture.text();
    }
    CHECK(sink.delivered() == Ids{"a", "b"});
    CHECK(tail.counters().lines_rejected == 2);
    CHECK(logged.find("file_tail_line_rejected path=" + log + " line=2 field=id") != std::string::npos);
    CHECK(logged.find("file_tail_line_rejected path=" + log + " line=5 field=id") != std::string::npos);

    append(log, rec("c"));
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"a", "b", "c"});
    CHECK(tail.counters().lines_rejected == 2);
}

TEST_CASE("a chunk the parser refuses whole costs only its bad lines") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids);

    append(log, "[1]\n" + rec("a") + rec("b") + "oops\n" + rec("c") + "[2]\n" + rec("d"));
    std::string logged;
    {
        StderrCapture capture(dir / "stderr.txt");
        tail.poll_once();
        logged = capture.text();
    }
    CHECK(sink.delivered() == Ids{"a", "b", "c", "d"});
    CHECK(sink.models.size() == 1);  // still one submit for the whole chunk
    CHECK(tail.counters().lines_rejected == 3);
    CHECK(logged.find("line=1 field= reason=\"expected NDJSON objects\"") != std::string::npos);
    CHECK(logged.find("line=4 field=") != std::string::npos);
    CHECK(logged.find("line=6 field= reason=\"expected NDJSON objects\"") != std::string::npos);
}

TEST_CASE("lines longer than the limit are skipped, counted, and the next line is read") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTailLimits limits;
    limits.max_line_bytes = 32;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids, limits);

    SECTION("a complete long line") {
        append(log, rec("a") + rec(std::string(40, 'x')) + rec("b"));
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b"});
    }
    SECTION("a long line still being written, across polls and a restart") {
        append(log, rec("a") + "{\"id\":\"" + std::string(40, 'y'));
        tail.poll_once();
        CHECK(sink.delivered() == Ids{"a"});
        CHECK(tail.counters().lines_too_long == 1);
        append(log, std::string(100, 'y'));
        tail.poll_once();
        mw::FileTail restarted(options_for(log), churn_model(), dir / "state", sink, parse_ids, limits);
        append(log, "\"}\n" + rec("b"));
        restarted.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b"});
        CHECK(restarted.counters().lines_too_long == 0);  // counted once, by the tail that saw it start
    }
    CHECK(tail.counters().lines_too_long == 1);
    CHECK(tail.counters().lines_rejected == 0);
}

TEST_CASE("batches are bounded by lines and bytes, and every line still arrives once") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTailLimits limits;
    limits.max_line_bytes = 64;
    limits.max_batch_lines = 3;
    limits.max_batch_bytes = 100;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids, limits);

    Ids expected;
    std::string text;
    for (int i = 0; i < 50; ++i) {
        expected.push_back("r" + std::to_string(i));
        text += rec(expected.back());
    }
    append(log, text);
    CHECK(tail.poll_once().lines_delivered == 50);
    CHECK(sink.delivered() == expected);
    CHECK(sink.models.size() == 17);  // ceil(50 / 3) batches of at most 3 lines
}

TEST_CASE("outcome batches reach the sink's outcome path") {
    TempDir dir;
    const std::string log = dir / "labels.ndjson";
    RecordingSink sink;
    auto options = options_for(log);
    options.kind = mw::RecordKind::outcome;
    auto parse_outcome_ids = [](std::string_view chunk, const std::shared_ptr<const mw::ModelSchema>& schema) {
        auto parsed = parse_ids(chunk, schema);
        mw::OutcomeBatch outcomes;
        for (auto& prediction : std::get<mw::PredictionBatch>(parsed.batch).records)
            outcomes.records.push_back({prediction.id, 0, std::nullopt, 1.0});
        parsed.batch = std::move(outcomes);
        return parsed;
    };
    mw::FileTail tail(options, churn_model(), dir / "state", sink, parse_outcome_ids);
    append(log, rec("a"));
    tail.poll_once();
    CHECK(sink.delivered() == Ids{"outcome:a"});
}

TEST_CASE("run() polls until stopped") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids);
    append(log, rec("a"));
    std::jthread runner([&tail](std::stop_token stop) { tail.run(stop); });
    // Waits for delivery by the background loop; the bound only keeps a
    // broken loop from hanging the test, it asserts nothing about speed.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (sink.delivered().size() < 1 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    append(log, rec("b"));
    while (sink.delivered().size() < 2 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    runner.request_stop();
    runner.join();
    CHECK(sink.delivered() == Ids{"a", "b"});
}

TEST_CASE("checkpoints round-trip and are replaced atomically") {
    TempDir dir;
    const std::string path = dir / "tail.checkpoint";
    mw::TailCheckpoint first{1, 2, 300, 4, false, 300, 0xdeadbeefcafef00dull};
    mw::TailCheckpoint second{1, 2, 900, 12, true, 900, 42};

    CHECK_FALSE(mw::load_checkpoint(path).checkpoint);  // none yet is not an error
    CHECK(mw::load_checkpoint(path).error.empty());

    REQUIRE(mw::write_checkpoint(path, first).empty());
    CHECK(mw::load_checkpoint(path).checkpoint == first);
    CHECK_FALSE(fs::exists(path + ".tmp"));

    // A crash during the next write leaves at most a partial temporary file;
    // the checkpoint itself is still the previous one, complete.
    append(path + ".tmp", "modelwatch-file-tail-checkpoint 1\ndevice=1\ninode=2\noff");
    CHECK(mw::load_checkpoint(path).checkpoint == first);

    REQUIRE(mw::write_checkpoint(path, second).empty());
    CHECK(mw::load_checkpoint(path).checkpoint == second);
    CHECK_FALSE(fs::exists(path + ".tmp"));

    SECTION("a torn or foreign file is reported, naming the file") {
        const std::string text = mw::testing::read_text(path);
        std::ofstream(path, std::ios::binary | std::ios::trunc) << text.substr(0, text.size() - 3);
        auto torn = mw::load_checkpoint(path);
        CHECK_FALSE(torn.checkpoint);
        CHECK(torn.error.find(path) != std::string::npos);

        std::ofstream(path, std::ios::binary | std::ios::trunc) << "offset=3\n";
        CHECK(mw::load_checkpoint(path).error.find("line 1") != std::string::npos);
    }
    SECTION("a missing key is reported") {
        std::string text = mw::testing::read_text(path);
        auto at = text.find("line=");
        text.erase(at, text.find('\n', at) + 1 - at);
        std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
        auto incomplete = mw::load_checkpoint(path);
        CHECK_FALSE(incomplete.checkpoint);
        CHECK(incomplete.error.find("missing") != std::string::npos);
    }
}

TEST_CASE("the tail's checkpoint file says where it is") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids);
    append(log, rec("a") + rec("b") + "{\"id\":");
    tail.poll_once();
    auto saved = mw::load_checkpoint(tail.checkpoint_path());
    REQUIRE(saved.checkpoint);
    CHECK(saved.checkpoint->offset == (rec("a") + rec("b")).size());
    CHECK(saved.checkpoint->line == 2);
    struct stat log_stat {};
    REQUIRE(::stat(log.c_str(), &log_stat) == 0);
    CHECK(saved.checkpoint->inode == static_cast<std::uint64_t>(log_stat.st_ino));
    CHECK(saved.checkpoint->device == static_cast<std::uint64_t>(log_stat.st_dev));
    CHECK(saved.checkpoint->fingerprint_bytes == saved.checkpoint->offset);
    CHECK_FALSE(fs::exists(tail.checkpoint_path() + ".tmp"));
    CHECK(fs::path(tail.checkpoint_path()).parent_path() == fs::path(dir / "state"));

    SECTION("an unreadable checkpoint means reading from the start, not skipping") {
        std::ofstream(tail.checkpoint_path(), std::ios::trunc) << "garbage\n";
        mw::FileTail restarted(options_for(log), churn_model(), dir / "state", sink, parse_ids);
        restarted.poll_once();
        CHECK(sink.delivered() == Ids{"a", "b", "a", "b"});
        CHECK(restarted.counters().errors == 1);
    }
}

// The path is configuration, but what it names is whatever is there now: a
// FIFO (open() would wait for a writer forever, and the tail's stop with it)
// or a device (/dev/zero would be read forever) is refused as an error, each
// poll, until a regular file is there again.
TEST_CASE("a FIFO or a device at the path is refused, not waited on or read") {
    TempDir dir;
    const std::string log = dir / "app.ndjson";
    REQUIRE(::mkfifo(log.c_str(), 0600) == 0);
    RecordingSink sink;
    mw::FileTail tail(options_for(log), churn_model(), dir / "state", sink, parse_ids);
    auto polled = std::async(std::launch::async, [&tail] { return tail.poll_once(); });
    // The bound only keeps a blocked poll from hanging the test; it asserts nothing about speed.
    if (polled.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
        // A writer releases the open() blocked on the FIFO, so the test can end.
        const int writer = ::open(log.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (writer >= 0) ::close(writer);
        polled.wait();
        FAIL("poll_once() blocked in open() on a FIFO at the tailed path");
    }
    polled.get();
    CHECK(tail.counters().errors == 1);
    CHECK(sink.delivered().empty());

    // A regular file in its place is read as usual.
    fs::remove(log);
    append(log, rec("a"));
    CHECK(tail.poll_once().error.empty());
    CHECK(sink.delivered() == Ids{"a"});

    // Replaced by a symlink to /dev/zero: refused, not read without end.
    fs::remove(log);
    fs::create_symlink("/dev/zero", log);
    mw::FileTail fresh(options_for(log), churn_model(), dir / "state2", sink, parse_ids);
    fresh.poll_once();
    CHECK(fresh.counters().errors == 1);
    CHECK(sink.delivered() == Ids{"a"});
}
