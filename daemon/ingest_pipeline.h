// The IngestSink the collectors hand their batches to: it encodes each batch
// once as COPY rows (what the spool keeps and the store writes) and appends it
// to the spool, whose fdatasync makes it durable.
#pragma once

#include "collectors/ingest_sink.h"
#include "daemon/live_config.h"
#include "store/spool.h"

namespace mw::daemon {

class IngestPipeline : public IngestSink {
public:
    IngestPipeline(store::Spool& spool, const LiveConfig& config) : spool_(spool), config_(config) {}

    void submit(PredictionBatch batch, std::function<void(IngestResult)> done) override;
    void submit(OutcomeBatch batch, std::function<void(IngestResult)> done) override;

private:
    store::Spool& spool_;
    const LiveConfig& config_;
};

}  // namespace mw::daemon
