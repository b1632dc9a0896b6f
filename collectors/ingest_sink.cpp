#include "collectors/ingest_sink.h"

#include <future>

#include "core/time.h"

namespace mw {
namespace {

template <typename Batch>
IngestResult wait_for(IngestSink& sink, Batch batch) {
    std::promise<IngestResult> promise;
    auto future = promise.get_future();
    sink.submit(std::move(batch), [&promise](IngestResult result) { promise.set_value(std::move(result)); });
    return future.get();
}

}  // namespace

Arrival IngestSink::arrive() { return Arrival(now_us(), nullptr); }

void IngestSink::submit(PredictionBatch batch, Arrival, std::function<void(IngestResult)> done) {
    submit(std::move(batch), std::move(done));
}

void IngestSink::submit(OutcomeBatch batch, Arrival, std::function<void(IngestResult)> done) {
    submit(std::move(batch), std::move(done));
}

IngestResult submit_and_wait(IngestSink& sink, PredictionBatch batch) { return wait_for(sink, std::move(batch)); }
IngestResult submit_and_wait(IngestSink& sink, OutcomeBatch batch) { return wait_for(sink, std::move(batch)); }

}  // namespace mw
