// The quarantine census (store/quarantine.h) over a real directory: which
// files count, how their records are counted, and that a file deleted by
// the operator drops out at the next count.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/copy_encoding.h"
#include "store/quarantine.h"
#include "tests/support/temp_dir.h"

using namespace mw;
using mw::testing::TempDir;

namespace {

void write_quarantine_test_file(const std::filesystem::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
}

// Rows as the drain quarantines them: the encoder's (store/copy_encoding.h).
std::string prediction_rows(const std::vector<std::string>& ids) {
    auto schema = std::make_shared<ModelSchema>();
    schema->name = "adult";
    schema->features = {{"x", FeatureType::numeric}};
    PredictionBatch batch{"adult", {}, schema};
    for (const auto& id : ids) {
        Prediction record;
        record.id = id;
        record.ts_us = 1'700'000'000'000'000;
        record.features = {Value{1.5}};
        batch.records.push_back(std::move(record));
    }
    std::string rows;
    store::append_prediction_rows(batch, *schema, 1'700'000'000'000'000, rows);
    return rows;
}

std::string outcome_rows(const std::vector<std::string>& ids) {
    OutcomeBatch batch{"adult", {}, {}};
    for (const auto& id : ids) batch.records.push_back({id, 1'700'000'000'000'000, "UP", std::nullopt});
    std::string rows;
    store::append_outcome_rows(batch, 1'700'000'000'000'000, rows);
    return rows;
}

}  // namespace

TEST_CASE("the quarantine census counts quarantine files and their rows, and drops deleted ones", "[quarantine]") {
    TempDir dir("mw-quarantine");
    store::QuarantineCensus census(dir.path().string());
    CHECK(census.count().files == 0);

    const auto first = dir.path() / store::quarantine_file_name(1'700'000'000'000'000, 0, "predictions");
    // COPY text escapes a newline inside a value as \n: one line, one record.
    write_quarantine_test_file(first, "-- not stored: privacy_key_mismatch model=adult key_id=473a000a\n" +
                                          prediction_rows({"id-1", "line\nbreak"}));
    const auto second = dir.path() / store::quarantine_file_name(1'700'000'000'000'100, 7, "outcomes");
    auto second_rows = outcome_rows({"id-3", "id-4"});
    second_rows.pop_back();  // no newline after the last row
    write_quarantine_test_file(second, "-- not stored: value too long\n" + second_rows);
    // Not quarantine files: a spool segment, a name that only looks like one, a link to a real one.
    write_quarantine_test_file(dir.path() / "segment-000001.spool", "x\ny\n");
    write_quarantine_test_file(dir.path() / "quarantine-12-x-predictions.copy", "-- no\nrow\n");
    std::filesystem::create_symlink(first, dir.path() / store::quarantine_file_name(1, 1, "predictions"));

    auto counted = census.count();
    CHECK(counted.files == 2);
    CHECK(counted.records == 4);
    CHECK(counted.oldest_us == 1'700'000'000'000'000);
    CHECK(counted.newest_us == 1'700'000'000'000'100);
    CHECK(counted.bytes == std::filesystem::file_size(first) + std::filesystem::file_size(second));
    CHECK(census.last().records == 4);

    const auto listed = store::list_quarantine(dir.path().string());
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].name == first.filename().string());
    CHECK(listed[0].kind == "predictions");
    CHECK(listed[0].reason == "not stored: privacy_key_mismatch model=adult key_id=473a000a");
    CHECK(listed[0].records == 2);
    CHECK(listed[1].kind == "outcomes");
    CHECK(listed[1].records == 2);

    // Deleted by the operator: gone at the next count, not before.
    std::filesystem::remove(first);
    CHECK(census.last().files == 2);
    counted = census.count();
    CHECK(counted.files == 1);
    CHECK(counted.records == 2);
    CHECK(counted.oldest_us == 1'700'000'000'000'100);
    std::filesystem::remove(second);
    CHECK(census.count().files == 0);
    CHECK(census.last().oldest_us == 0);
}

TEST_CASE("a quarantine file's reason is its first line, cut at max_reason_bytes", "[quarantine]") {
    TempDir dir("mw-quarantine");
    const auto path = dir.path() / store::quarantine_file_name(5, 0, "predictions");
    write_quarantine_test_file(path, "-- " + std::string(store::max_reason_bytes * 2, 'r') + "\n" +
                                         prediction_rows({"id-1"}));
    const auto file = store::read_quarantine_file(path);
    REQUIRE(file);
    CHECK(file->reason.size() == store::max_reason_bytes - 3);
    CHECK(file->records == 1);
    CHECK(file->written_us == 5);
    CHECK_FALSE(store::read_quarantine_file(dir.path() / "missing"));
    CHECK(store::list_quarantine((dir.path() / "no-such-directory").string()).empty());
}

TEST_CASE("a quarantine header is one line whatever the reason holds, and reads back as that reason", "[quarantine]") {
    TempDir dir("mw-quarantine");
    // PostgreSQL's errors end in a newline and carry DETAIL and CONTEXT lines.
    const std::string header =
        store::quarantine_header("refused by PostgreSQL: ERROR:  value too long\nCONTEXT:  COPY x, line 1\n");
    CHECK(header == "-- refused by PostgreSQL: ERROR:  value too long CONTEXT:  COPY x, line 1\n");
    const auto path = dir.path() / store::quarantine_file_name(9, 0, "outcomes");
    write_quarantine_test_file(path, header + outcome_rows({"a", "b"}));
    const auto file = store::read_quarantine_file(path);
    REQUIRE(file);
    CHECK(file->reason == "refused by PostgreSQL: ERROR:  value too long CONTEXT:  COPY x, line 1");
    CHECK(file->records == 2);
}

TEST_CASE("an older quarantine file's reason over several lines is read as its reason, not as records",
          "[quarantine]") {
    // Written before quarantine_header: "-- ", PostgreSQL's error as it came
    // (ending in a newline, with DETAIL and CONTEXT lines), then the rows.
    TempDir dir("mw-quarantine");
    const auto path = dir.path() / store::quarantine_file_name(11, 0, "predictions");
    write_quarantine_test_file(path, "-- refused by PostgreSQL: ERROR:  value too long for type character varying(64)\n"
                                     "DETAIL:  Failing row contains (adult, id-1, ...).\n"
                                     "CONTEXT:  COPY staging_predictions, line 1\n"
                                     "\n" +
                                         prediction_rows({"id-1", "id-2", "id-3"}));
    const auto file = store::read_quarantine_file(path);
    REQUIRE(file);
    CHECK(file->not_quarantine.empty());
    CHECK(file->records == 3);
    CHECK(file->unframed_lines == 0);
    CHECK(file->reason ==
          "refused by PostgreSQL: ERROR:  value too long for type character varying(64) "
          "DETAIL:  Failing row contains (adult, id-1, ...). CONTEXT:  COPY staging_predictions, line 1");
    store::QuarantineCensus census(dir.path().string());
    CHECK(census.count().records == 3);
}

TEST_CASE("lines after the records that are not records of the file's kind are counted apart", "[quarantine]") {
    TempDir dir("mw-quarantine");
    const auto path = dir.path() / store::quarantine_file_name(12, 0, "predictions");
    // Two prediction rows, then an outcome row and a line cut short.
    write_quarantine_test_file(path, "-- not stored: x\n" + prediction_rows({"a", "b"}) + outcome_rows({"c"}) +
                                         "adult\tcut");
    const auto file = store::read_quarantine_file(path);
    REQUIRE(file);
    CHECK(file->records == 2);
    CHECK(file->unframed_lines == 2);
}

TEST_CASE("a file named as a quarantine file without a reason line is not one, and is not counted", "[quarantine]") {
    TempDir dir("mw-quarantine");
    const auto headless = dir.path() / store::quarantine_file_name(20, 0, "predictions");
    write_quarantine_test_file(headless, prediction_rows({"a", "b", "c"}));
    const auto empty = dir.path() / store::quarantine_file_name(21, 0, "outcomes");
    write_quarantine_test_file(empty, "");
    const auto real = dir.path() / store::quarantine_file_name(22, 0, "outcomes");
    write_quarantine_test_file(real, "-- not stored: x\n" + outcome_rows({"a"}));

    const auto listed = store::list_quarantine(dir.path().string());
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].not_quarantine == "its first line does not start with \"-- \" (a reason line)");
    CHECK(listed[0].records == 0);
    CHECK(listed[0].reason.empty());
    CHECK(listed[0].bytes == std::filesystem::file_size(headless));
    CHECK(listed[1].not_quarantine == "it is empty");
    CHECK(listed[2].not_quarantine.empty());
    CHECK(listed[2].records == 1);

    store::QuarantineCensus census(dir.path().string());
    const auto counted = census.count();
    CHECK(counted.files == 1);
    CHECK(counted.records == 1);
    CHECK(counted.oldest_us == 22);
    CHECK(counted.bytes == std::filesystem::file_size(real));
}
