// The example programs' command lines (elec2_server, elec2_simulate): read
// against their option tables with core/command_line.h.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "examples/elec2/command_line.h"
#include "examples/elec2/stream_server.h"

namespace {

namespace cl = mw::command_line;

constexpr cl::Option elec2_test_options[] = {
    {"--batch", "N", "rows per POST", false, cl::stores<&mw::elec2::ServerOptions::batch_rows>},
    {"--holdout-share", "S", "a share", false, cl::stores<&mw::elec2::ServerOptions::holdout_share>},
    {"--dry-run", "", "a switch", false, cl::stores<&mw::elec2::ServerOptions::dry_run>},
    {"--grid", "", "read by the program"},
};

struct Elec2CommandLine {
    mw::elec2::CommandLine command;
    mw::elec2::ServerOptions options;
};

Elec2CommandLine read_elec2_words(std::vector<std::string> words) {
    std::vector<char*> args;
    for (auto& word : words) args.push_back(word.data());
    Elec2CommandLine read;
    read.command = mw::elec2::read_command_line(args, elec2_test_options, &read.options, "elec2_test",
                                                "usage: elec2_test [OPTION...]\n");
    return read;
}

}  // namespace

TEST_CASE("an example program's options are applied to its options struct, the others left to the program") {
    const auto read = read_elec2_words({"--batch", "25", "--grid", "--holdout-share=0.5", "--dry-run"});
    CHECK_FALSE(read.command.exit_status.has_value());
    CHECK(read.options.batch_rows == 25);
    CHECK(read.options.holdout_share == 0.5);
    CHECK(read.options.dry_run);
    CHECK(read.command.parsed.has("--grid"));
    CHECK(read.options.initial_rows == mw::elec2::ServerOptions{}.initial_rows);
    CHECK(read.command.usage.starts_with("usage: elec2_test [OPTION...]\n  --batch N "));
    CHECK(read.command.usage.find("  -h, --help") != std::string::npos);
}

TEST_CASE("an example program's help exits 0, its bad usage 2") {
    CHECK(read_elec2_words({"--batch", "x", "--help"}).command.exit_status == 0);
    for (const auto& words : std::vector<std::vector<std::string>>{
             {"--batch"}, {"--batch", "-1"}, {"--batch", "1x"}, {"--holdout-share", "nan"}, {"--bogus"},
             {"data.csv"}, {"--dry-run=yes"}}) {
        INFO(words.front());
        CHECK(read_elec2_words(words).command.exit_status == 2);
    }
}
