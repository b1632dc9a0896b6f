// Throughput of the ingest parser on 10k-record bodies of 10-feature
// predictions, as a JSON array and as NDJSON, next to two floors for
// comparison: simdjson's DOM parse alone (what the parser builds on) and
// nlohmann::json::parse alone (a common JSON library, no validation at all).
// The daemon's budget is 150k records/s on one core for everything, so the
// parser should be well above that. Usage: ingest_parser_bench [repetitions]
#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "collectors/ingest_parser.h"

namespace {

constexpr int record_count = 10000;
constexpr std::int64_t now_us = 1714564800LL * 1'000'000;  // 2024-05-01T12:00:00Z

mw::ModelSchema bench_schema() {
    mw::ModelSchema schema;
    schema.name = "bench";
    for (int i = 0; i < 7; ++i) schema.features.push_back({fmt::format("num_{}", i), mw::FeatureType::numeric});
    for (int i = 0; i < 2; ++i) schema.features.push_back({fmt::format("cat_{}", i), mw::FeatureType::categorical});
    schema.features.push_back({"flag", mw::FeatureType::boolean});
    schema.attributes = {"sex", "region"};
    return schema;
}

// A prediction as a model server would send it: 7 numeric, 2 categorical and
// 1 boolean feature, a timestamp, a score and two attributes (about 330 bytes).
std::string bench_record(int i) {
    return fmt::format(
        R"({{"id":"req-{:08d}","ts":"2024-05-01T11:{:02d}:{:02d}.{:06d}Z","model_version":"v12","features":{{)"
        R"("num_0":{:.6f},"num_1":{},"num_2":{:.3f},"num_3":{:.6f},"num_4":{},"num_5":{:.2f},"num_6":{:.6f},)"
        R"("cat_0":"{}","cat_1":"segment-{}","flag":{}}},"prediction":"{}","score":{:.6f},)"
        R"("attributes":{{"sex":"{}","region":"{}"}}}})",
        i, i / 60 % 60, i % 60, i * 37 % 1000000, i * 0.001, i % 97, 1000.0 / (i + 1), -0.5 * i, i * 13 % 1000,
        i * 0.25, 3.14159 * i, (i % 3 == 0 ? "paris" : i % 3 == 1 ? "lyon" : "nice"), i % 12,
        i % 2 == 0 ? "true" : "false", i % 5 == 0 ? "churn" : "stay", (i % 1000) / 1000.0, i % 2 ? "f" : "m",
        i % 4 == 0 ? "north" : "south");
}

// The CPU time of this thread: the budget is "one core", and on a machine
// shared with other work wall-clock time measures the neighbours too.
double thread_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) * 1e-9;
}

// Best of `repetitions` runs, in records per CPU second.
double records_per_second(int repetitions, const std::function<std::size_t()>& run) {
    double best_seconds = 1e300;
    for (int r = 0; r < repetitions; ++r) {
        const double start = thread_cpu_seconds();
        const std::size_t records = run();
        const double seconds = thread_cpu_seconds() - start;
        if (records != record_count) {
            std::fprintf(stderr, "ingest_parser_bench: expected %d records, got %zu\n", record_count, records);
            std::exit(1);
        }
        best_seconds = std::min(best_seconds, seconds);
    }
    return record_count / best_seconds;
}

}  // namespace

int main(int argc, char** argv) {
    const int repetitions = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
    const auto schema = std::make_shared<const mw::ModelSchema>(bench_schema());
    const mw::ParseLimits limits;

    std::string array = "[";
    std::string ndjson;
    for (int i = 0; i < record_count; ++i) {
        const std::string record = bench_record(i);
        array += (i ? ",\n" : "") + record;
        ndjson += record + "\n";
    }
    array += "]";

    const auto check = [](const mw::ParsedPredictions& parsed) {
        if (!parsed.body_error.empty() || !parsed.rejections.empty()) {
            std::fprintf(stderr, "ingest_parser_bench: %s%s\n", parsed.body_error.c_str(),
                         parsed.rejections.empty() ? "" : parsed.rejections[0].reason.c_str());
            std::exit(1);
        }
        return parsed.batch.records.size();
    };

    simdjson::dom::parser dom_parser;
    const simdjson::padded_string padded_array(array);
    const simdjson::padded_string padded_ndjson(ndjson);

    std::printf("ingest_parser_bench: %d records of 10 features, %.0f bytes/record, best of %d, thread CPU time\n",
                record_count,
                double(ndjson.size()) / record_count, repetitions);
    std::printf("%-44s %14s\n", "", "records/cpu-s");
    std::printf("%-44s %14.0f\n", "modelwatch parse_predictions, JSON array",
                records_per_second(repetitions, [&] { return check(mw::parse_predictions(array, schema, limits, now_us)); }));
    std::printf("%-44s %14.0f\n", "modelwatch parse_predictions, NDJSON",
                records_per_second(repetitions, [&] { return check(mw::parse_predictions(ndjson, schema, limits, now_us)); }));
    std::printf("%-44s %14.0f\n", "simdjson DOM parse only, JSON array", records_per_second(repetitions, [&] {
                    simdjson::dom::array records;
                    if (dom_parser.parse(padded_array).get(records)) std::exit(1);
                    return records.size();
                }));
    std::printf("%-44s %14.0f\n", "simdjson DOM parse_many only, NDJSON", records_per_second(repetitions, [&] {
                    simdjson::dom::document_stream stream;
                    if (dom_parser.parse_many(padded_ndjson).get(stream)) std::exit(1);
                    std::size_t records = 0;
                    for (auto document : stream)
                        if (!document.error()) ++records;
                    return records;
                }));
    std::printf("%-44s %14.0f\n", "nlohmann::json::parse only, JSON array",
                records_per_second(repetitions, [&] { return nlohmann::json::parse(array).size(); }));
    return 0;
}
