// The IngestSink the collectors hand their batches to: it encodes each batch
// once as COPY rows (what the spool keeps and the store writes) and appends it
// to the spool, whose fdatasync makes it durable.
//
// A prediction batch is encoded with the schema it was validated under
// (PredictionBatch::schema), never with the configuration in force now: the
// rows then hold every value under the name it was sent with, so neither a
// reload before the spool write nor a restart with another configuration
// before the drain can move a value under another feature's name.
//
// Each batch is received under a spool receipt (store/spool.h): the one
// arrive() took before it was parsed, or one taken at submit. Its time is
// the rows' received_at, and the spool's watermark waits for it until the
// rows are stored.
//
// Records whose id this process acknowledged before with another payload are
// left out and reported (daemon/recent_ids.h), and counted in
// modelwatch_ingest_id_conflicts_total{model, kind}.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include "collectors/ingest_sink.h"
#include "daemon/recent_ids.h"
#include "store/spool.h"

namespace mw::daemon {

class IngestPipeline : public IngestSink {
public:
    IngestPipeline(store::Spool& spool, prometheus::Family<prometheus::Counter>& id_conflicts,
                   std::size_t recent_ids_capacity, std::uint64_t seed);

    void submit(PredictionBatch batch, std::function<void(IngestResult)> done) override;
    void submit(OutcomeBatch batch, std::function<void(IngestResult)> done) override;
    // A spool receipt, held from now on.
    Arrival arrive() override;
    void submit(PredictionBatch batch, Arrival arrival, std::function<void(IngestResult)> done) override;
    void submit(OutcomeBatch batch, Arrival arrival, std::function<void(IngestResult)> done) override;
    std::optional<IngestResult> admission_refusal() override { return spool_.admission_refusal(); }

    // Why a batch of `model` hashed under `key_id` is not accepted now, or
    // "": the drain's claim of that key was refused (store/spool_drain.h,
    // DrainStats::key_conflicts), so its records could never be stored.
    // They are answered as failed (503) instead of acknowledged; the other
    // models' batches are not affected. Set before the first submit.
    using KeyRefusal = std::function<std::string(const std::string& model, const std::string& key_id)>;
    void set_key_refusal(KeyRefusal refusal);

private:
    template <typename Batch, typename Encode>
    void submit_batch(Batch batch, std::string key_id, std::vector<RecordDigest> digests, RecordKind kind,
                      Encode encode, store::Spool::Receipt receipt, std::function<void(IngestResult)> done);
    // The receipt arrive() made for `arrival`, or a new one.
    store::Spool::Receipt receipt_of(Arrival& arrival);

    store::Spool& spool_;
    prometheus::Family<prometheus::Counter>& id_conflicts_;
    // Shared with the spool's callbacks, which may outlive the pipeline.
    std::shared_ptr<RecentIds> recent_ids_;
    KeyRefusal key_refusal_;
};

}  // namespace mw::daemon
