#include <catch2/catch.hpp>

#include <string>

#include "core/json_nesting.h"

using mw::json_nesting_exceeds;

TEST_CASE("json_nesting_exceeds counts arrays and objects, not brackets in strings") {
    CHECK_FALSE(json_nesting_exceeds("", 0));
    CHECK_FALSE(json_nesting_exceeds("1.5", 0));
    CHECK(json_nesting_exceeds("[]", 0));
    CHECK_FALSE(json_nesting_exceeds("[]", 1));
    CHECK_FALSE(json_nesting_exceeds(R"({"a": [1, {"b": 2}], "c": []})", 3));
    CHECK(json_nesting_exceeds(R"({"a": [1, {"b": 2}], "c": []})", 2));
    // Siblings do not add up: depth is how far one path goes.
    CHECK_FALSE(json_nesting_exceeds("[[],[],[],[]]", 2));
    // Brackets in strings, escaped quotes and backslashes included, are text.
    CHECK_FALSE(json_nesting_exceeds(R"(["[[[[", "\"[[[[", "\\", "{{{{"])", 1));
    CHECK(json_nesting_exceeds(R"(["\\", [[]]])", 2));
    // Stray closers do not earn depth for what follows.
    CHECK(json_nesting_exceeds("]]]][[", 1));
    CHECK(json_nesting_exceeds(std::string(1'000'000, '['), 64));
}
