// The argument parser every modelwatch subcommand and modelwatchd use.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/command_line.h"

namespace cl = mw::command_line;

namespace {

constexpr cl::Option options[] = {
    {"--input", "FILE", "the input", true},
    {"--param", "KEY=VALUE", "repeatable"},
    {"--verbose", "", "a switch"},
    {"--long-option-name", "SOME-LONG-VALUE", "first line\nsecond line"},
};

// The result copies what it keeps, so the words may go when it returns.
cl::ParseResult parse(std::vector<std::string> words) {
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    return cl::parse(argv, options);
}

}  // namespace

TEST_CASE("--opt value and --opt=value give the same value") {
    const auto spaced = parse({"--input", "a=b.csv"});
    const auto joined = parse({"--input=a=b.csv"});
    REQUIRE(spaced.ok());
    REQUIRE(joined.ok());
    CHECK(spaced.parsed.value("--input") == "a=b.csv");
    CHECK(joined.parsed.value("--input") == "a=b.csv");
    // An empty value is a value (`--exclude ''` and `--exclude=` mean "none").
    CHECK(parse({"--input="}).parsed.value("--input") == "");
    CHECK(parse({"--input", ""}).parsed.value("--input") == "");
}

TEST_CASE("positionals anywhere, repeated options in order, the last value wins, -- ends the options") {
    const auto result = parse({"first", "--param", "a=1", "--input", "x", "second", "--param=b=2", "--input", "y",
                               "-", "--", "--verbose", "-h"});
    REQUIRE(result.ok());
    CHECK(result.parsed.positionals == std::vector<std::string>{"first", "second", "-", "--verbose", "-h"});
    CHECK(result.parsed.values("--param") == std::vector<std::string>{"a=1", "b=2"});
    CHECK(result.parsed.value("--input") == "y");
    CHECK_FALSE(result.parsed.has("--verbose"));
    CHECK_FALSE(result.parsed.help);
    CHECK_FALSE(result.parsed.value("--long-option-name").has_value());
}

TEST_CASE("-h and --help anywhere win over every other word, even malformed ones") {
    for (const auto& words : std::vector<std::vector<std::string>>{
             {"--help"}, {"-h"}, {"--bogus", "--help"}, {"--input", "-h"}, {"x", "y", "--help", "--param"}}) {
        const auto result = parse(words);
        INFO(words.back());
        CHECK(result.ok());
        CHECK(result.parsed.help);
    }
    // ... but not as a value given with '=' or after --.
    CHECK_FALSE(parse({"--input=--help"}).parsed.help);
    CHECK(parse({"--input=--help"}).parsed.value("--input") == "--help");
}

TEST_CASE("errors name the option at fault") {
    CHECK(parse({"--input", "x", "--bogus"}).error == "unknown option '--bogus'");
    CHECK(parse({"--input", "x", "--bogus=1"}).error == "unknown option '--bogus'");
    CHECK(parse({"--input", "x", "-x"}).error == "unknown option '-x'");
    CHECK(parse({"--input"}).error == "--input needs a value (FILE)");
    // A word starting with "--" is not taken as a value: it is the next option.
    CHECK(parse({"--input", "--verbose"}).error == "--input needs a value (FILE)");
    CHECK(parse({"--input", "x", "--verbose=yes"}).error == "--verbose takes no value, got 'yes'");
    CHECK(parse({"--verbose"}).error == "--input is required");
    // A value may start with one dash (a negative number, '-' for standard input).
    CHECK(parse({"--input", "-1"}).parsed.value("--input") == "-1");
}

TEST_CASE("describe lists every option, aligns continuation lines, and ends with -h, --help") {
    const std::string text = cl::describe(options);
    CHECK(text.find("  --input FILE ") == 0);
    CHECK(text.find("  --verbose ") != std::string::npos);
    // The longest label is wider than the column: its help starts on the next line.
    CHECK(text.find("  --long-option-name SOME-LONG-VALUE\n") != std::string::npos);
    const auto first = text.find("first line\n");
    REQUIRE(first != std::string::npos);
    const auto line_start = text.rfind('\n', first) + 1;
    const auto second = text.find("second line");
    CHECK(second - (first + 11) == first - line_start);  // same indentation
    CHECK(text.find("  -h, --help") != std::string::npos);
    CHECK(text.back() == '\n');
}

TEST_CASE("a comma-separated value gives its names; an empty name is an error saying which") {
    std::vector<std::string> names{"left over"};
    CHECK(cl::parse_name_list("", "column", names).empty());
    CHECK(names.empty());
    CHECK(cl::parse_name_list("a,b c,d", "column", names).empty());
    CHECK(names == std::vector<std::string>{"a", "b c", "d"});
    for (const char* text : {"a,,b", "a,", ",a", ","}) {
        std::vector<std::string> kept{"x"};
        const std::string error = cl::parse_name_list(text, "column", kept);
        CHECK_THAT(error, Catch::Contains("column name") && Catch::Contains("is empty") && Catch::Contains(text));
        CHECK(kept == std::vector<std::string>{"x"});  // untouched on error
    }
    CHECK(cl::parse_name_list("a,,b", "column", names) == "column name 2 of 'a,,b' is empty");
}

TEST_CASE("an unsigned value is a whole decimal number and nothing else") {
    std::uint64_t value = 0;
    CHECK(cl::parse_unsigned("0", value));
    CHECK(value == 0);
    CHECK(cl::parse_unsigned("18446744073709551615", value));
    CHECK(value == 18446744073709551615ULL);
    for (const char* text : {"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0", "18446744073709551616"})
        CHECK_FALSE(cl::parse_unsigned(text, value));
}

namespace {

struct NumberArguments {
    std::size_t rows = 7;
    int windows = 7;
    double share = 0.5;
    std::optional<double> drop;
};

constexpr cl::Option number_options[] = {
    {"--rows", "N", "a count", false, cl::stores<&NumberArguments::rows>},
    {"--windows", "N", "a signed number", false, cl::stores<&NumberArguments::windows>},
    {"--share", "S", "a real number", false, cl::stores<&NumberArguments::share>},
    {"--drop", "D", "an optional real number", false, cl::stores<&NumberArguments::drop>},
};

// What applying `words` to fresh arguments gives: the error, and the arguments.
std::pair<std::string, NumberArguments> apply_numbers(std::vector<std::string> words) {
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    const auto result = cl::parse(argv, number_options);
    REQUIRE(result.ok());
    NumberArguments arguments;
    std::string error = cl::apply(result.parsed, number_options, &arguments);
    return {error, arguments};
}

}  // namespace

TEST_CASE("a number member's row reads its value whole or names what is wrong, leaving the member as it was") {
    const auto [error, given] = apply_numbers({"--rows", "12", "--windows=-3", "--share", "0.25", "--drop", "1e-3"});
    CHECK(error.empty());
    CHECK(given.rows == 12);
    CHECK(given.windows == -3);
    CHECK(given.share == 0.25);
    CHECK(given.drop == 1e-3);
    const std::pair<std::vector<std::string>, std::string> wrong[] = {
        {{"--rows", "-1"}, "--rows: expected a non-negative integer, got '-1'"},
        {{"--rows", "+1"}, "--rows: expected a non-negative integer, got '+1'"},
        {{"--rows", " 1"}, "--rows: expected a non-negative integer, got ' 1'"},
        {{"--rows", "1.5"}, "--rows: expected a non-negative integer, got '1.5'"},
        {{"--rows="}, "--rows: expected a non-negative integer, got ''"},
        {{"--rows", "18446744073709551616"}, "--rows: '18446744073709551616' is out of range"},
        {{"--windows", "2147483648"}, "--windows: '2147483648' is out of range"},
        {{"--windows", "3x"}, "--windows: expected an integer, got '3x'"},
        {{"--share", "nan"}, "--share: expected a finite number, got 'nan'"},
        {{"--share", "inf"}, "--share: expected a finite number, got 'inf'"},
        {{"--share", "1e999"}, "--share: '1e999' is out of range"},
        {{"--share", "0.5 "}, "--share: expected a finite number, got '0.5 '"},
        {{"--drop", "none"}, "--drop: expected a finite number, got 'none'"},
    };
    for (const auto& [words, expected] : wrong) {
        const auto [message, arguments] = apply_numbers(words);
        INFO(words.back());
        CHECK(message == expected);
        CHECK(arguments.rows == 7);
        CHECK(arguments.windows == 7);
        CHECK(arguments.share == 0.5);
        CHECK_FALSE(arguments.drop.has_value());
    }
}

namespace {

struct Inner {
    std::string label;
    std::optional<std::string> column;
    std::size_t rows = 0;
};
struct NestedArguments {
    Inner inner;
    std::string top;
};

constexpr cl::Option nested_options[] = {
    {"--label", "L", "a string two members down", false, cl::stores<&NestedArguments::inner, &Inner::label>},
    {"--column", "C", "an optional string two members down", false,
     cl::stores<&NestedArguments::inner, &Inner::column>},
    {"--rows", "N", "a count two members down", false, cl::stores<&NestedArguments::inner, &Inner::rows>},
    {"--top", "T", "a string member", false, cl::stores<&NestedArguments::top>},
};

}  // namespace

TEST_CASE("a row given a path of members stores into the member the path ends at") {
    std::vector<std::string> words{"--label=UP", "--column", "score", "--rows", "12", "--top", "t"};
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    const auto result = cl::parse(argv, nested_options);
    REQUIRE(result.ok());
    NestedArguments arguments;
    CHECK(cl::apply(result.parsed, nested_options, &arguments).empty());
    CHECK(arguments.inner.label == "UP");
    CHECK(arguments.inner.column == "score");
    CHECK(arguments.inner.rows == 12);
    CHECK(arguments.top == "t");

    std::vector<std::string> bad_words{"--rows", "many"};
    std::vector<char*> bad_argv;
    for (auto& word : bad_words) bad_argv.push_back(word.data());
    const auto bad = cl::parse(bad_argv, nested_options);
    REQUIRE(bad.ok());
    NestedArguments untouched;
    CHECK(cl::apply(bad.parsed, nested_options, &untouched) == "--rows: expected a non-negative integer, got 'many'");
    CHECK(untouched.inner.rows == 0);
}
