// The ingest pipeline against a real spool in a temporary directory: a batch
// is encoded under the schema it was validated with, whatever configuration
// is in force when it reaches the spool, and an id re-sent with another
// payload is left out and reported instead of vanishing in the store.
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include "collectors/ingest_parser.h"
#include "daemon/ingest_pipeline.h"
#include "daemon/metrics.h"
#include "daemon/recent_ids.h"
#include "store/spool.h"
#include "tests/support/temp_dir.h"

using namespace mw;

namespace {

constexpr std::int64_t now = 1714564800LL * 1'000'000;  // 2024-05-01T12:00:00Z

std::shared_ptr<const ModelSchema> schema_of(std::vector<FeatureSpec> features) {
    auto schema = std::make_shared<ModelSchema>();
    schema->name = "m";
    schema->features = std::move(features);
    schema->prediction_type = PredictionType::binary;
    return schema;
}

config::SpoolOptions spool_options(const testing::TempDir& dir) {
    config::SpoolOptions options;
    options.dir = (dir.path() / "spool").string();
    options.max_bytes = 64ull << 20;
    return options;
}

PredictionBatch parse(std::string_view body, const std::shared_ptr<const ModelSchema>& schema) {
    auto parsed = parse_predictions(body, schema, {}, now);
    REQUIRE(parsed.body_error.empty());
    REQUIRE(parsed.rejections.empty());
    return std::move(parsed.batch);
}

template <typename Batch>
IngestResult submit(daemon::IngestPipeline& pipeline, Batch batch) {
    return submit_and_wait(pipeline, std::move(batch));
}

// Every spooled prediction's id and features (columns 2 and 5 of its row),
// the features parsed as JSON after undoing COPY's doubling of backslashes.
std::vector<std::pair<std::string, nlohmann::json>> spooled_rows(store::Spool& spool) {
    std::vector<std::pair<std::string, nlohmann::json>> rows;
    store::SpoolPosition end;
    for (auto& frame : spool.read(100000, 0, end)) {
        if (frame.kind != RecordKind::prediction) continue;
        std::string_view text = frame.copy_rows;
        while (!text.empty()) {
            const auto line = text.substr(0, text.find('\n'));
            text.remove_prefix(line.size() + 1);
            std::vector<std::string_view> fields;
            for (std::size_t start = 0;;) {
                const auto tab = line.find('\t', start);
                fields.push_back(line.substr(start, tab - start));
                if (tab == std::string_view::npos) break;
                start = tab + 1;
            }
            std::string json;
            for (std::size_t i = 0; i < fields.at(4).size(); ++i) {
                json.push_back(fields[4][i]);
                if (fields[4][i] == '\\') ++i;
            }
            rows.emplace_back(std::string(fields.at(1)), nlohmann::json::parse(json));
        }
    }
    return rows;
}

}  // namespace

TEST_CASE("a batch is spooled under the schema it was validated with, and a restart keeps it so") {
    testing::TempDir dir("mw-pipeline");
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    const auto before = schema_of({{"x", FeatureType::categorical}, {"c", FeatureType::numeric}});
    // The reload between parse and spool: reordered, one feature added, one removed.
    const auto after = schema_of({{"z", FeatureType::numeric}, {"c", FeatureType::numeric}});
    {
        store::Spool spool(spool_options(dir));
        spool.start();
        daemon::IngestPipeline pipeline(spool, metrics.id_conflicts, 1024, 1);
        auto batch = parse(R"([{"id":"r1","features":{"x":"a","c":0.5},"prediction":"p"}])", before);
        // The configuration in force is `after` by now; the batch says what it was accepted under.
        CHECK(submit(pipeline, std::move(batch)).status == IngestStatus::durable);
        auto reordered = parse(R"([{"id":"r2","features":{"c":2,"z":1,"x":"b"},"prediction":"p"}])", after);
        CHECK(submit(pipeline, std::move(reordered)).status == IngestStatus::durable);
        spool.stop();
    }
    // A new process, under whatever configuration: the spooled rows name their features.
    store::Spool reopened(spool_options(dir));
    const auto rows = spooled_rows(reopened);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].first == "r1");
    CHECK(rows[0].second == nlohmann::json::parse(R"({"x":"a","c":0.5})"));
    CHECK(rows[1].first == "r2");
    CHECK(rows[1].second == nlohmann::json::parse(R"({"z":1,"c":2,"x":"b"})"));
}

TEST_CASE("an id re-sent with another payload is left out and counted; a retry of the same payload is not") {
    testing::TempDir dir("mw-pipeline");
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    store::Spool spool(spool_options(dir));
    spool.start();
    daemon::IngestPipeline pipeline(spool, metrics.id_conflicts, 1024, 7);
    const auto schema = schema_of({{"x", FeatureType::categorical}, {"c", FeatureType::numeric}});
    auto& conflicts = metrics.id_conflicts.Add({{"model", "m"}, {"kind", "prediction"}});

    auto first = submit(pipeline, parse(R"([{"id":"a","features":{"x":"u","c":1},"prediction":"p"}])", schema));
    CHECK(first.status == IngestStatus::durable);
    CHECK(first.conflicts.empty());
    // The same record again, without ts (so another arrival time), with its
    // features in another order and a null added: a retry, not a conflict.
    const auto reordered = schema_of({{"c", FeatureType::numeric}, {"x", FeatureType::categorical},
                                      {"n", FeatureType::numeric}});
    auto retry = submit(pipeline,
                        parse(R"([{"id":"a","features":{"c":1,"x":"u","n":null},"prediction":"p"}])", reordered));
    CHECK(retry.status == IngestStatus::durable);
    CHECK(retry.conflicts.empty());
    CHECK(conflicts.Value() == 0);

    auto mixed = submit(pipeline, parse(R"([{"id":"b","features":{"x":"v","c":2},"prediction":"p"},
                                           {"id":"a","features":{"x":"u","c":1.5},"prediction":"p"},
                                           {"id":"c","features":{"x":"w","c":3},"prediction":"p"}])",
                                        schema));
    CHECK(mixed.status == IngestStatus::durable);
    CHECK(mixed.conflicts == std::vector<std::size_t>{1});
    CHECK(conflicts.Value() == 1);
    // A changed prediction is another payload too; nothing is spooled then.
    auto only = submit(pipeline, parse(R"([{"id":"b","features":{"x":"v","c":2},"prediction":"q"}])", schema));
    CHECK(only.status == IngestStatus::durable);
    CHECK(only.conflicts == std::vector<std::size_t>{0});
    CHECK(conflicts.Value() == 2);

    // Outcomes: same rule, counted apart.
    OutcomeBatch labels{"m", {{"a", now, "yes", std::nullopt}}};
    CHECK(submit(pipeline, labels).conflicts.empty());
    labels.records[0].label = "no";
    CHECK(submit(pipeline, labels).conflicts == std::vector<std::size_t>{0});
    CHECK(metrics.id_conflicts.Add({{"model", "m"}, {"kind", "outcome"}}).Value() == 1);

    std::vector<std::string> ids;
    for (const auto& [id, features] : spooled_rows(spool)) ids.push_back(id);
    CHECK(ids == std::vector<std::string>{"a", "a", "b", "c"});
}

TEST_CASE("recent ids are bounded: the oldest are forgotten") {
    daemon::RecentIds recent(8, 3);
    const auto schema = schema_of({{"x", FeatureType::numeric}});
    Prediction record;
    record.features = {Value{1.0}};
    record.label = "p";
    std::vector<daemon::RecordDigest> digests;
    for (int i = 0; i < 20; ++i) {
        record.id = "id-" + std::to_string(i);
        digests.push_back(recent.digest("m", *schema, record));
    }
    recent.remember(digests);
    record.features = {Value{2.0}};
    std::vector<daemon::RecordDigest> changed;
    for (int i = 0; i < 20; ++i) {
        record.id = "id-" + std::to_string(i);
        changed.push_back(recent.digest("m", *schema, record));
    }
    const auto found = recent.conflicts(changed);
    // Two generations of 4: at most 8 remembered, the newest among them.
    CHECK(found.size() <= 8);
    CHECK(found.size() >= 4);
    CHECK(found.back() == 19);
    CHECK(std::find(found.begin(), found.end(), 0) == found.end());
    // Another model's id is another record.
    record.id = "id-19";
    CHECK(recent.conflicts(std::vector{recent.digest("other", *schema, record)}).empty());
}

TEST_CASE("recent ids remember exactly the last full generation and the one filling, each id's first payload") {
    // Generations of 1,000 (daemon/recent_ids.h): after 5,500 ids the older
    // holds ids 4000-4999 and the newer 5000-5499, whatever the tables' slots.
    daemon::RecentIds recent(2000, 11);
    const auto schema = schema_of({{"x", FeatureType::numeric}});
    const auto digests_of = [&](double x) {
        Prediction record;
        record.features = {Value{x}};
        record.label = "p";
        std::vector<daemon::RecordDigest> digests;
        for (int i = 0; i < 5500; ++i) {
            record.id = "id-" + std::to_string(i);
            digests.push_back(recent.digest("m", *schema, record));
        }
        return digests;
    };
    const auto original = digests_of(1.0);
    for (std::size_t at = 0; at < original.size(); at += 700)
        recent.remember(std::span(original).subspan(at, std::min<std::size_t>(700, original.size() - at)));
    const auto changed = digests_of(2.0);
    std::vector<std::size_t> expected(1500);
    std::iota(expected.begin(), expected.end(), std::size_t{4000});
    CHECK(recent.conflicts(changed) == expected);
    CHECK(recent.conflicts(original).empty());
    // Remembering another payload for a remembered id keeps the first.
    recent.remember(std::span(changed).subspan(4000, 1500));
    CHECK(recent.conflicts(original).empty());
    CHECK(recent.conflicts(changed) == expected);
}

TEST_CASE("an arrival holds the spool's watermark from before the parse until its rows are stored, and is their "
          "received_at") {
    testing::TempDir dir("mw-pipeline");
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    std::atomic<std::int64_t> receipt_clock{now};
    store::Spool spool(spool_options(dir), [&receipt_clock] { return receipt_clock.load(); });
    spool.start();
    daemon::IngestPipeline pipeline(spool, metrics.id_conflicts, 1024, 3);
    const auto schema = schema_of({{"c", FeatureType::numeric}});

    // A request arrives, and while it is parsed a later one is received and spooled.
    Arrival slow = pipeline.arrive();
    CHECK(slow.us() == now);
    receipt_clock = now + 1'000'000;
    auto quick_batch = parse(R"([{"id":"q","features":{"c":1},"prediction":"p"}])", schema);
    REQUIRE(submit(pipeline, std::move(quick_batch)).status == IngestStatus::durable);
    receipt_clock = now + 2'000'000;
    CHECK(spool.stored_before_us() == now);

    // Submitted: its rows say they were received at the arrival, and still hold it.
    auto slow_batch = parse(R"([{"id":"s","features":{"c":2},"prediction":"p"}])", schema);
    std::promise<IngestResult> promise;
    pipeline.submit(std::move(slow_batch), std::move(slow), [&](IngestResult result) { promise.set_value(result); });
    REQUIRE(promise.get_future().get().status == IngestStatus::durable);
    CHECK(spool.stored_before_us() == now);
    store::SpoolPosition end;
    const auto frames = spool.read(100, 0, end);
    REQUIRE(frames.size() == 2);
    CHECK(frames[1].copy_rows.ends_with("\t2024-05-01T12:00:00.000000Z\n"));
    spool.commit_drained(end);
    CHECK(spool.stored_before_us() == now + 2'000'000);

    // An arrival dropped unsubmitted (a body refused whole) holds nothing.
    { Arrival refused = pipeline.arrive(); }
    CHECK(spool.stored_before_us() > now + 2'000'000);
}

TEST_CASE("a batch is spooled with its model and key id; a model whose key the store refuses is never acknowledged") {
    testing::TempDir dir("mw-pipeline");
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    store::Spool spool(spool_options(dir));
    spool.start();
    daemon::IngestPipeline pipeline(spool, metrics.id_conflicts, 1024, 7);
    const std::string conflict = "privacy_key_conflict model=adult key_id=99887766 recorded_key_id=1a2b3c4d";
    pipeline.set_key_refusal([&](const std::string& model, const std::string&) {
        return model == "adult" ? conflict : std::string();
    });
    const auto outcomes = [](const std::string& model, const std::string& key_id) {
        OutcomeBatch batch{model, {Outcome{.id = "o-1", .ts_us = now, .label = "yes", .value = std::nullopt}}, key_id};
        return batch;
    };

    const auto refused = submit(pipeline, outcomes("adult", "99887766"));
    CHECK(refused.status == IngestStatus::failed);
    CHECK(refused.message == conflict);
    CHECK(submit(pipeline, outcomes("elec2", "")).status == IngestStatus::durable);
    CHECK(submit(pipeline, outcomes("churn", "0badc0de")).status == IngestStatus::durable);
    const auto predictions = submit(pipeline, parse(R"([{"id":"a","features":{},"prediction":"p"}])", schema_of({})));
    CHECK(predictions.status == IngestStatus::durable);

    store::SpoolPosition end;
    const auto frames = spool.read(1000, 0, end);
    REQUIRE(frames.size() == 3);  // nothing of adult
    CHECK(frames[0].model == "elec2");
    CHECK(frames[0].privacy_key_id.empty());
    CHECK(frames[1].model == "churn");
    CHECK(frames[1].privacy_key_id == "0badc0de");
    CHECK(frames[2].model == "m");
    CHECK(frames[2].privacy_key_id.empty());  // its policy hashes nothing
}
