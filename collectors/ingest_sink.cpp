#include "collectors/ingest_sink.h"

#include <future>

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

IngestResult submit_and_wait(IngestSink& sink, PredictionBatch batch) { return wait_for(sink, std::move(batch)); }
IngestResult submit_and_wait(IngestSink& sink, OutcomeBatch batch) { return wait_for(sink, std::move(batch)); }

}  // namespace mw
