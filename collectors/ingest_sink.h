// Where collectors hand validated batches. The implementation is the spool:
// `done` runs exactly once, on the spool's thread, after the batch is on disk
// and fdatasync'd (status durable), or with the reason it is not. Callers must
// not acknowledge a record to its source before `done` says durable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/record.h"

namespace mw {

enum class IngestStatus { durable, spool_full, failed };

struct IngestResult {
    IngestStatus status = IngestStatus::failed;
    std::string message;  // empty when durable
    // Positions in the batch of the records left out because their id was
    // acknowledged before with a different payload: the first one is kept.
    // With status durable, every other record is durable.
    std::vector<std::size_t> conflicts;
    // With spool_full: when to try again, if the spool can tell (admission
    // control, store/backlog_admission.h); 0 leaves it to the collector.
    std::uint32_t retry_after_seconds = 0;
};

// What a collector's parse step returns for one chunk of input (NDJSON lines
// of a file tail, one NATS message's body).
struct ParsedLines {
    std::variant<PredictionBatch, OutcomeBatch> batch;
    // Rejection::index is the 0-based record within the chunk (for a file
    // tail: the non-empty line, blank lines already removed).
    std::vector<Rejection> rejections;
    // Non-empty when the chunk as a whole was refused (the real parser does
    // when the first byte is not '{' or '['). The file tail then parses halves
    // apart, so a bad line costs only itself; a NATS message is rejected whole.
    std::string chunk_error;
};

// When a batch arrived, taken before it is parsed (microseconds since the
// Unix epoch): the ts of its records that carry none and, submitted with the
// batch, their received_at. The sink may hold it from arrive() on (the
// spool's watermark, store/spool.h, then waits for it): a record without a
// ts is then never behind a row the monitor already read, however long its
// request takes to parse beside others.
class Arrival {
public:
    Arrival() = default;
    Arrival(std::int64_t us, std::shared_ptr<void> hold) : us_(us), hold_(std::move(hold)) {}
    std::int64_t us() const { return us_; }
    // What the sink that made it holds; for that sink only.
    const std::shared_ptr<void>& hold() const { return hold_; }

private:
    std::int64_t us_ = 0;
    std::shared_ptr<void> hold_;
};

class IngestSink {
public:
    virtual ~IngestSink() = default;
    virtual void submit(PredictionBatch batch, std::function<void(IngestResult)> done) = 0;
    virtual void submit(OutcomeBatch batch, std::function<void(IngestResult)> done) = 0;
    // An arrival now; the default holds nothing.
    virtual Arrival arrive();
    // A batch parsed with `arrival.us()` as its arrival time, received then;
    // the default submits it as the above.
    virtual void submit(PredictionBatch batch, Arrival arrival, std::function<void(IngestResult)> done);
    virtual void submit(OutcomeBatch batch, Arrival arrival, std::function<void(IngestResult)> done);
    // The refusal a batch submitted now would get from admission control
    // (store/backlog_admission.h), asked before the work of parsing it: a
    // client pushing on past its 503s then costs no parse. None by default.
    virtual std::optional<IngestResult> admission_refusal() { return std::nullopt; }
};

// For collectors that own a thread (file tail, table poller): blocks until `done`.
IngestResult submit_and_wait(IngestSink& sink, PredictionBatch batch);
IngestResult submit_and_wait(IngestSink& sink, OutcomeBatch batch);

}  // namespace mw
