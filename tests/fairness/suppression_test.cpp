// Complementary suppression (fairness/suppression.h): whatever a report
// shows, a hidden small group cannot be worked out by subtracting the shown
// groups from a line's total.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "fairness/suppression.h"

using mw::fairness::complementary_suppression;

namespace {

// For every line (groups sharing all values but one) with a hidden group:
// the smallest thing subtraction reveals is the sum of the hidden groups.
void check_no_small_group_recoverable(const std::vector<std::vector<std::string>>& values,
                                      const std::vector<std::uint64_t>& counts, const std::vector<bool>& hidden,
                                      std::uint64_t min_count) {
    const std::size_t attributes = values.front().size();
    for (std::size_t k = 0; k < attributes; ++k) {
        std::map<std::vector<std::string>, std::vector<std::size_t>> lines;
        for (std::size_t g = 0; g < values.size(); ++g) {
            auto key = values[g];
            key.erase(key.begin() + static_cast<std::ptrdiff_t>(k));
            lines[key].push_back(g);
        }
        for (const auto& [key, members] : lines) {
            std::size_t hidden_groups = 0;
            std::uint64_t hidden_rows = 0;
            for (const auto g : members)
                if (hidden[g]) {
                    ++hidden_groups;
                    hidden_rows += counts[g];
                }
            if (hidden_groups == 0 || hidden_groups == members.size()) continue;
            CHECK(hidden_groups >= 2);
            CHECK(hidden_rows >= min_count);
        }
    }
}

}  // namespace

TEST_CASE("one small group: the next smallest is hidden with it, never the reference group") {
    const std::vector<std::vector<std::string>> values = {{"Female"}, {"Male"}, {"Tiny"}};
    const std::vector<std::uint64_t> counts = {190, 400, 5};
    auto hidden = complementary_suppression(values, {counts}, {false, false, true}, 30);
    CHECK(hidden == std::vector<bool>{true, false, true});
    check_no_small_group_recoverable(values, counts, hidden, 30);
    // The reference group is taken last.
    hidden = complementary_suppression(values, {counts}, {false, false, true}, 30, 0);
    CHECK(hidden == std::vector<bool>{false, true, true});
    // Two small groups that together reach the minimum need nothing more;
    // together under it, a third is hidden.
    CHECK(complementary_suppression({{"a"}, {"b"}, {"c"}}, {{20, 15, 300}}, {true, true, false}, 30) ==
          std::vector<bool>{true, true, false});
    CHECK(complementary_suppression({{"a"}, {"b"}, {"c"}, {"d"}}, {{5, 6, 300, 200}}, {true, true, false, false},
                                    30) == std::vector<bool>{true, true, false, true});
    // Nothing hidden, nothing added; every group hidden stays so.
    CHECK(complementary_suppression({{"a"}, {"b"}}, {{50, 60}}, {false, false}, 30) == std::vector<bool>{false, false});
    CHECK(complementary_suppression({{"a"}, {"b"}}, {{5, 60}}, {true, false}, 30) == std::vector<bool>{true, true});
}

TEST_CASE("an intersection: every row and column through a hidden cell hides another") {
    // sex x race, with Female x Other (4 rows) under the minimum. The
    // marginal groups (Female, Other) are published elsewhere in the report,
    // so its row and its column each need a second hidden cell.
    std::vector<std::vector<std::string>> values;
    std::vector<std::uint64_t> counts;
    std::vector<bool> small;
    const std::map<std::pair<std::string, std::string>, std::uint64_t> table = {
        {{"Female", "Black"}, 60}, {{"Female", "Other"}, 4},   {{"Female", "White"}, 300},
        {{"Male", "Black"}, 70},   {{"Male", "Other"}, 40},    {{"Male", "White"}, 500},
        {{"X", "Black"}, 31},      {{"X", "Other"}, 33},       {{"X", "White"}, 35}};
    for (const auto& [cell, count] : table) {
        values.push_back({cell.first, cell.second});
        counts.push_back(count);
        small.push_back(count < 30);
    }
    const auto hidden = complementary_suppression(values, {counts}, small, 30);
    check_no_small_group_recoverable(values, counts, hidden, 30);
    std::size_t hidden_cells = 0;
    for (const bool h : hidden) hidden_cells += h;
    CHECK(hidden_cells >= 4);  // the cell, one in its row, one in its column, and one closing the rectangle
}

TEST_CASE("two windows (a representation table): either window's total must not give a group away") {
    const std::vector<std::vector<std::string>> values = {{"a"}, {"b"}, {"c"}};
    // "c" is small in the current window only; hidden with it, "a" and "b"
    // together must reach the minimum in both windows.
    const auto hidden =
        complementary_suppression(values, {{300, 200, 100}, {280, 190, 3}}, {false, false, true}, 30);
    CHECK(hidden == std::vector<bool>{false, true, true});
}
