#include "daemon/ingest_pipeline.h"

#include <memory>

#include "store/copy_encoding.h"

namespace mw::daemon {

IngestPipeline::IngestPipeline(store::Spool& spool, prometheus::Family<prometheus::Counter>& id_conflicts,
                               std::size_t recent_ids_capacity, std::uint64_t seed)
    : spool_(spool), id_conflicts_(id_conflicts), recent_ids_(std::make_shared<RecentIds>(recent_ids_capacity, seed)) {}

Arrival IngestPipeline::arrive() {
    auto receipt = std::make_shared<store::Spool::Receipt>(spool_.receive());
    const std::int64_t received_us = receipt->received_us();
    return Arrival(received_us, std::move(receipt));
}

store::Spool::Receipt IngestPipeline::receipt_of(Arrival& arrival) {
    // Only this pipeline's arrive() puts a hold in an Arrival given to it.
    if (const auto held = std::static_pointer_cast<store::Spool::Receipt>(arrival.hold())) return std::move(*held);
    return spool_.receive();
}

void IngestPipeline::set_key_refusal(KeyRefusal refusal) { key_refusal_ = std::move(refusal); }

template <typename Batch, typename Encode>
void IngestPipeline::submit_batch(Batch batch, std::string key_id, std::vector<RecordDigest> digests,
                                  RecordKind kind, Encode encode, store::Spool::Receipt receipt,
                                  std::function<void(IngestResult)> done) {
    // Never acknowledged: the drain would only quarantine them.
    if (key_refusal_ && !key_id.empty())
        if (auto refused = key_refusal_(batch.model, key_id); !refused.empty())
            return done({IngestStatus::failed, std::move(refused), {}});
    auto conflicts = recent_ids_->conflicts(digests);
    if (!conflicts.empty()) {
        id_conflicts_.Add({{"model", batch.model}, {"kind", to_string(kind)}})
            .Increment(static_cast<double>(conflicts.size()));
        // Leave the conflicting records out, keeping the others in order.
        std::size_t kept = 0;
        for (std::size_t i = 0, next = 0; i < batch.records.size(); ++i) {
            if (next < conflicts.size() && conflicts[next] == i) {
                ++next;
                continue;
            }
            if (kept != i) {
                batch.records[kept] = std::move(batch.records[i]);
                digests[kept] = digests[i];
            }
            ++kept;
        }
        batch.records.resize(kept);
        digests.resize(kept);
    }
    if (batch.records.empty()) return done({IngestStatus::durable, {}, std::move(conflicts)});

    store::EncodedBatch encoded;
    encoded.kind = kind;
    encoded.record_count = static_cast<std::uint32_t>(batch.records.size());
    encoded.model = batch.model;
    encoded.privacy_key_id = std::move(key_id);
    // Stamped before the rows are encoded with it, so that the spool's
    // watermark never passes a received_at still on its way to the spool.
    encode(batch, receipt.received_us(), encoded.copy_rows);
    spool_.append(std::move(encoded), std::move(receipt), [recent_ids = recent_ids_, digests = std::move(digests),
                                       conflicts = std::move(conflicts),
                                       done = std::move(done)](IngestResult result) mutable {
        // Only what is durable is known: a failed append leaves no trace.
        if (result.status == IngestStatus::durable) recent_ids->remember(digests);
        result.conflicts = std::move(conflicts);
        done(std::move(result));
    });
}

void IngestPipeline::submit(PredictionBatch batch, std::function<void(IngestResult)> done) {
    submit(std::move(batch), Arrival(), std::move(done));
}

void IngestPipeline::submit(OutcomeBatch batch, std::function<void(IngestResult)> done) {
    submit(std::move(batch), Arrival(), std::move(done));
}

void IngestPipeline::submit(PredictionBatch batch, Arrival arrival, std::function<void(IngestResult)> done) {
    if (batch.records.empty()) return done({IngestStatus::durable, {}, {}});
    // Every collector parses with parse_predictions, which sets the schema.
    if (!batch.schema) return done({IngestStatus::failed, "internal error: a prediction batch without its schema", {}});
    std::vector<RecordDigest> digests;
    digests.reserve(batch.records.size());
    for (const auto& record : batch.records) digests.push_back(recent_ids_->digest(batch.model, *batch.schema, record));
    std::string key_id = batch.schema->privacy.key_id();
    submit_batch(std::move(batch), std::move(key_id), std::move(digests), RecordKind::prediction,
                 [](const PredictionBatch& records, std::int64_t received_us, std::string& out) {
                     store::append_prediction_rows(records, *records.schema, received_us, out);
                 },
                 receipt_of(arrival), std::move(done));
}

void IngestPipeline::submit(OutcomeBatch batch, Arrival arrival, std::function<void(IngestResult)> done) {
    if (batch.records.empty()) return done({IngestStatus::durable, {}, {}});
    std::vector<RecordDigest> digests;
    digests.reserve(batch.records.size());
    for (const auto& record : batch.records) digests.push_back(recent_ids_->digest(batch.model, record));
    std::string key_id = batch.privacy_key_id;
    submit_batch(std::move(batch), std::move(key_id), std::move(digests), RecordKind::outcome,
                 [](const OutcomeBatch& records, std::int64_t received_us, std::string& out) {
                     store::append_outcome_rows(records, received_us, out);
                 },
                 receipt_of(arrival), std::move(done));
}

}  // namespace mw::daemon
