#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/durable_file.h"

namespace fs = std::filesystem;

namespace {
std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}
}  // namespace

TEST_CASE("write_file_durably replaces the file whole and leaves no temporary") {
    const fs::path dir = fs::temp_directory_path() / ("mw-durable-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir);
    const fs::path path = dir / "state";
    CHECK(mw::write_file_durably(path.string(), "first\n").empty());
    CHECK(read_all(path) == "first\n");
    CHECK(mw::write_file_durably(path.string(), std::string(100000, 'x')).empty());
    CHECK(read_all(path) == std::string(100000, 'x'));
    CHECK_FALSE(fs::exists(dir / "state.tmp"));
    CHECK((fs::status(path).permissions() & fs::perms::others_read) == fs::perms::none);
    fs::remove_all(dir);
}

TEST_CASE("write_file_durably names the file and the step that failed") {
    const std::string error = mw::write_file_durably("/nonexistent-dir-for-test/state", "x");
    CHECK_THAT(error, Catch::Contains("/nonexistent-dir-for-test/state.tmp") && Catch::Contains("open"));
}
