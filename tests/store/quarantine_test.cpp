// The quarantine census (store/quarantine.h) over a real directory: which
// files count, how their records are counted, and that a file deleted by
// the operator drops out at the next count.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "store/quarantine.h"
#include "tests/support/temp_dir.h"

using namespace mw;
using mw::testing::TempDir;

namespace {

void write_quarantine_test_file(const std::filesystem::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
}

}  // namespace

TEST_CASE("the quarantine census counts quarantine files and their rows, and drops deleted ones", "[quarantine]") {
    TempDir dir("mw-quarantine");
    store::QuarantineCensus census(dir.path().string());
    CHECK(census.count().files == 0);

    const auto first = dir.path() / store::quarantine_file_name(1'700'000'000'000'000, 0, "predictions");
    // COPY text escapes a newline inside a value as \n: one line, one record.
    write_quarantine_test_file(first, "-- not stored: privacy_key_mismatch model=adult key_id=473a000a\n"
                                      "adult\tid-1\tline\\nbreak\n"
                                      "adult\tid-2\tx\n");
    const auto second = dir.path() / store::quarantine_file_name(1'700'000'000'000'100, 7, "outcomes");
    write_quarantine_test_file(second, "-- not stored: value too long\nadult\tid-3\n");  // no newline after the last row
    std::ofstream(second, std::ios::binary | std::ios::app) << "adult\tid-4";
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
    write_quarantine_test_file(path, "-- " + std::string(store::max_reason_bytes * 2, 'r') + "\nrow\n");
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
    write_quarantine_test_file(path, header + "m\ta\nm\tb\n");
    const auto file = store::read_quarantine_file(path);
    REQUIRE(file);
    CHECK(file->reason == "refused by PostgreSQL: ERROR:  value too long CONTEXT:  COPY x, line 1");
    CHECK(file->records == 2);
}
