#include "daemon/ingest_pipeline.h"

#include "core/time.h"
#include "store/copy_encoding.h"

namespace mw::daemon {

void IngestPipeline::submit(PredictionBatch batch, std::function<void(IngestResult)> done) {
    if (batch.records.empty()) return done({IngestStatus::durable, {}});
    const auto config = config_.get();
    const auto* model = config->find_model(batch.model);
    if (!model) return done({IngestStatus::failed, "unknown model '" + batch.model + "'"});
    store::EncodedBatch encoded;
    encoded.kind = RecordKind::prediction;
    encoded.record_count = static_cast<std::uint32_t>(batch.records.size());
    store::append_prediction_rows(batch, model->schema, now_us(), encoded.copy_rows);
    spool_.append(std::move(encoded), std::move(done));
}

void IngestPipeline::submit(OutcomeBatch batch, std::function<void(IngestResult)> done) {
    if (batch.records.empty()) return done({IngestStatus::durable, {}});
    store::EncodedBatch encoded;
    encoded.kind = RecordKind::outcome;
    encoded.record_count = static_cast<std::uint32_t>(batch.records.size());
    store::append_outcome_rows(batch, now_us(), encoded.copy_rows);
    spool_.append(std::move(encoded), std::move(done));
}

}  // namespace mw::daemon
