// TextColumn (detectors/text_column.h): texts as dictionary codes that read
// like a vector of texts, and copies that do not point into the original.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "detectors/text_column.h"

using mw::drift::TextColumn;

TEST_CASE("text column: each distinct text once, rows as codes in first-seen order", "[drift][text_column]") {
    TextColumn column;
    for (const char* text : {"red", "blue", "red", "", "blue", "red"}) column.push_back(text);
    CHECK(column.size() == 6);
    CHECK(column.distinct() == 3);
    CHECK(column.codes() == std::vector<std::uint32_t>{0, 1, 0, 2, 1, 0});
    CHECK(column.text(1) == "blue");
    CHECK(column[3].empty());
    CHECK(column == std::vector<std::string>{"red", "blue", "red", "", "blue", "red"});
    CHECK(std::count(column.begin(), column.end(), "red") == 3);

    column.set(0, "green");  // a new text after the others
    CHECK(column.codes().front() == 3);
    CHECK(column[0] == "green");
    column.assign(2, "blue");
    CHECK(column == std::vector<std::string>{"blue", "blue"});
}

TEST_CASE("text column: a copy owns its texts, and many distinct texts stay readable", "[drift][text_column]") {
    auto original = std::make_unique<TextColumn>();
    for (int i = 0; i < 5000; ++i) original->push_back("value number " + std::to_string(i % 1500));
    const TextColumn copy = *original;
    TextColumn assigned;
    assigned = *original;
    original.reset();
    for (const TextColumn* column : std::vector<const TextColumn*>{&copy, &assigned}) {
        REQUIRE(column->size() == 5000);
        CHECK(column->distinct() == 1500);
        CHECK((*column)[4999] == "value number " + std::to_string(4999 % 1500));
    }
    // Appending to the copy finds the texts it already has (its own index).
    TextColumn grown = copy;
    grown.push_back("value number 7");
    CHECK(grown.distinct() == 1500);
    CHECK(grown.codes().back() == 7);
}
