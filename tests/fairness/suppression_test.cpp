// Complementary suppression (fairness/suppression.h): whatever a report
// shows, a hidden small group cannot be worked out by subtracting the shown
// groups from a line's total.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fairness/audit.h"
#include "fairness/audit_csv.h"
#include "fairness/data_bias.h"
#include "fairness/suppression.h"
#include "tests/support/command_output.h"

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

namespace {

// What a reader of one audit report can work out: the published counts of
// the sex table, the race table, their intersection and the overall row
// are linked by "a table's groups sum to all rows" and "an intersection's
// groups with one value sum to that value's group". Every hidden count is
// an unknown; one is given away when its unit vector lies in the row space
// of those equations (exact linear algebra, stronger than subtracting one
// line at a time). Returns the labels of the hidden groups a reader can
// compute, e.g. "race=Amer-Indian-Eskimo".
struct LinkedTables {
    std::uint64_t overall = 0;
    // label -> count, nullopt when hidden; per table: "sex", "race", "sex x race".
    std::map<std::string, std::map<std::string, std::optional<std::uint64_t>>> tables;
};

std::vector<std::string> linked_tables_disclosed(const LinkedTables& report) {
    std::vector<std::string> unknowns;  // "table|label"
    std::map<std::string, std::size_t> unknown_index;
    for (const auto& [table, groups] : report.tables)
        for (const auto& [label, count] : groups)
            if (!count) {
                unknown_index[table + "|" + label] = unknowns.size();
                unknowns.push_back(table + "|" + label);
            }
    // Each equation: coefficients over the unknowns (the known side is not needed to decide determinacy).
    std::vector<std::vector<double>> equations;
    const auto add_sum = [&](const std::vector<std::pair<std::string, std::string>>& parts, const std::string& whole) {
        std::vector<double> row(unknowns.size(), 0.0);
        bool any = false;
        for (const auto& [table, label] : parts)
            if (auto it = unknown_index.find(table + "|" + label); it != unknown_index.end()) row[it->second] += 1, any = true;
        if (!whole.empty())
            if (auto it = unknown_index.find(whole); it != unknown_index.end()) row[it->second] -= 1, any = true;
        if (any) equations.push_back(row);
    };
    for (const auto& [table, groups] : report.tables) {
        std::vector<std::pair<std::string, std::string>> all;
        for (const auto& [label, count] : groups) all.emplace_back(table, label);
        add_sum(all, "");  // = overall, published
    }
    // Intersection labels are "<sex>, <race>" (fairness/audit_data.cpp, group_label).
    for (const std::string margin : {"sex", "race"})
        for (const auto& [value, count] : report.tables.at(margin)) {
            std::vector<std::pair<std::string, std::string>> parts;
            for (const auto& [label, cell_count] : report.tables.at("sex x race")) {
                const auto cut = label.find(", ");
                const std::string part = margin == "sex" ? label.substr(0, cut) : label.substr(cut + 2);
                if (part == value) parts.emplace_back("sex x race", label);
            }
            add_sum(parts, margin + "|" + value);
        }
    const auto rank_of = [](std::vector<std::vector<double>> m) {
        std::size_t rank = 0;
        const std::size_t columns = m.empty() ? 0 : m.front().size();
        for (std::size_t c = 0; c < columns && rank < m.size(); ++c) {
            std::size_t pivot = rank;
            for (std::size_t r = rank; r < m.size(); ++r)
                if (std::fabs(m[r][c]) > std::fabs(m[pivot][c])) pivot = r;
            if (std::fabs(m[pivot][c]) < 1e-9) continue;
            std::swap(m[pivot], m[rank]);
            for (std::size_t r = 0; r < m.size(); ++r) {
                if (r == rank) continue;
                const double factor = m[r][c] / m[rank][c];
                for (std::size_t k = 0; k < columns; ++k) m[r][k] -= factor * m[rank][k];
            }
            ++rank;
        }
        return rank;
    };
    const std::size_t base = rank_of(equations);
    std::vector<std::string> disclosed;
    for (std::size_t u = 0; u < unknowns.size(); ++u) {
        auto with_unit = equations;
        with_unit.emplace_back(unknowns.size(), 0.0);
        with_unit.back()[u] = 1.0;
        if (rank_of(with_unit) == base) disclosed.push_back(unknowns[u]);
    }
    return disclosed;
}

// Adult's rows (tests/fairness/vectors/adult_predictions.csv.gz), the first
// `quota` of each sex x race in file order: a sample whose counts are chosen.
mw::fairness::AuditData adult_sample(const std::map<std::pair<std::string, std::string>, int>& quota) {
    const std::string csv = mw::testing::command_output("gzip -dc '" + std::string(MODELWATCH_SOURCE_DIR) +
                                                        "/tests/fairness/vectors/adult_predictions.csv.gz'");
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);
    std::string sample = line + "\n";
    std::map<std::pair<std::string, std::string>, int> taken;
    while (std::getline(in, line)) {
        std::vector<std::string> fields;
        std::stringstream cells(line);
        for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
        const std::pair<std::string, std::string> cell{fields.at(1), fields.at(2)};
        const auto it = quota.find(cell);
        if (it == quota.end() || taken[cell] >= it->second) continue;
        ++taken[cell];
        sample += line + "\n";
    }
    REQUIRE(taken.size() == quota.size());
    std::istringstream sample_in(sample);
    mw::fairness::CsvAuditSpec spec;
    spec.sensitive_columns = {"sex", "race"};
    spec.y_true_column = "y_true";
    spec.y_pred_column = "y_pred";
    spec.score_column = "score";
    auto read = mw::fairness::read_audit_csv(sample_in, spec);
    REQUIRE(read.ok());
    return std::move(read.data);
}

}  // namespace

TEST_CASE("Adult, sex, race and sex x race in one report: a hidden race is not the sum of shown intersection groups") {
    // Amer-Indian-Eskimo has 15 rows (under 30): the race table hides it
    // with Other, the smallest shown race (85 rows). Both Other x sex groups
    // have 30 rows or more, and the intersection's own lines are satisfied
    // without them, so table by table they stay shown: Other = 40 + 45, and
    // Amer-Indian-Eskimo = all rows - the shown races - Other = 15.
    const std::map<std::pair<std::string, std::string>, int> quota = {
        {{"Female", "Amer-Indian-Eskimo"}, 5}, {{"Female", "Asian-Pac-Islander"}, 35}, {{"Female", "Other"}, 40},
        {{"Female", "Black"}, 300},           {{"Female", "White"}, 2000},           {{"Male", "Amer-Indian-Eskimo"}, 10},
        {{"Male", "Black"}, 42},              {{"Male", "Other"}, 45},               {{"Male", "Asian-Pac-Islander"}, 60},
        {{"Male", "White"}, 3000}};
    const auto data = adult_sample(quota);
    REQUIRE(data.rows() == 5537);

    // Today's rule table by table, on the same counts: the reader recovers the small group.
    LinkedTables table_by_table;
    table_by_table.overall = data.rows();
    {
        std::map<std::string, std::uint64_t> sex, race;
        for (const auto& [cell, count] : quota) {
            sex[cell.first] += count;
            race[cell.second] += count;
        }
        const auto suppress_one = [](const std::map<std::string, std::uint64_t>& groups) {
            std::vector<std::vector<std::string>> values;
            std::vector<std::uint64_t> counts;
            std::vector<bool> small;
            for (const auto& [label, count] : groups) {
                values.push_back({label});
                counts.push_back(count);
                small.push_back(count < 30);
            }
            const auto hidden = complementary_suppression(values, {counts}, small, 30);
            std::map<std::string, std::optional<std::uint64_t>> out;
            for (std::size_t g = 0; g < values.size(); ++g)
                out[values[g][0]] = hidden[g] ? std::nullopt : std::optional(counts[g]);
            return out;
        };
        table_by_table.tables["sex"] = suppress_one(sex);
        table_by_table.tables["race"] = suppress_one(race);
        std::vector<std::vector<std::string>> values;
        std::vector<std::uint64_t> counts;
        std::vector<bool> small;
        for (const auto& [cell, count] : quota) {
            values.push_back({cell.first, cell.second});
            counts.push_back(static_cast<std::uint64_t>(count));
            small.push_back(count < 30);
        }
        const auto hidden = complementary_suppression(values, {counts}, small, 30);
        for (std::size_t g = 0; g < values.size(); ++g)
            table_by_table.tables["sex x race"][values[g][0] + ", " + values[g][1]] =
                hidden[g] ? std::nullopt : std::optional(counts[g]);
    }
    CHECK_FALSE(table_by_table.tables["race"]["Amer-Indian-Eskimo"].has_value());
    CHECK_FALSE(table_by_table.tables["race"]["Other"].has_value());
    CHECK(table_by_table.tables["sex x race"]["Female, Other"] == 40u);
    CHECK(table_by_table.tables["sex x race"]["Male, Other"] == 45u);
    const auto leaked = linked_tables_disclosed(table_by_table);
    CHECK(std::find(leaked.begin(), leaked.end(), "race|Amer-Indian-Eskimo") != leaked.end());

    // The audit, as the daemon and `modelwatch audit` run it: nothing hidden can be computed.
    mw::fairness::AuditOptions options;
    options.sensitive_attributes = {"sex", "race"};
    options.metrics.min_group_size = 30;
    options.bootstrap.replicates = 20;
    const auto run = mw::fairness::run_audit(data, options);
    REQUIRE(run.ok());
    REQUIRE(run.result.groupings.size() == 3);
    LinkedTables report;
    report.overall = run.result.overall.counts.total();
    const std::string names[] = {"sex", "race", "sex x race"};
    for (std::size_t k = 0; k < 3; ++k) {
        REQUIRE(mw::fairness::grouping_name(run.result.groupings[k].attributes) == names[k]);
        for (const auto& group : run.result.groupings[k].groups)
            report.tables[names[k]][group.label] =
                group.too_small ? std::nullopt : std::optional(group.counts.total());
    }
    CHECK_FALSE(report.tables["race"]["Amer-Indian-Eskimo"].has_value());
    CHECK_FALSE(report.tables["sex x race"]["Female, Other"].has_value());  // hidden with its margin
    CHECK_FALSE(report.tables["sex x race"]["Male, Other"].has_value());
    CHECK(report.tables["sex x race"]["Male, White"] == 3000u);  // what is not linked to a hidden group stays
    const auto disclosed = linked_tables_disclosed(report);
    CHECK(disclosed.empty());
    for (const auto& label : disclosed) UNSCOPED_INFO(label);
}

TEST_CASE("representation tables are suppressed as linked tables too") {
    using mw::fairness::RepresentationRow;
    using mw::fairness::RepresentationShift;
    const auto row = [](std::vector<std::string> values, std::uint64_t reference, std::uint64_t current) {
        RepresentationRow r;
        r.values = std::move(values);
        r.reference_count = reference;
        r.current_count = current;
        return r;
    };
    // The Adult case above, in both windows alike.
    RepresentationShift race{{"race"},
                             {row({"AIE"}, 15, 15), row({"API"}, 95, 95), row({"Black"}, 342, 342),
                              row({"Other"}, 85, 85), row({"White"}, 5000, 5000)},
                             ""};
    RepresentationShift both{{"sex", "race"},
                             {row({"F", "AIE"}, 5, 5), row({"F", "API"}, 35, 35), row({"F", "Black"}, 300, 300),
                              row({"F", "Other"}, 40, 40), row({"F", "White"}, 2000, 2000),
                              row({"M", "AIE"}, 10, 10), row({"M", "API"}, 60, 60), row({"M", "Black"}, 42, 42),
                              row({"M", "Other"}, 45, 45), row({"M", "White"}, 3000, 3000)},
                             ""};
    const std::vector<RepresentationShift> shifts{race, both};
    CHECK(mw::fairness::suppressed_rows(shifts, 0, 30) == std::vector<bool>{true, false, false, true, false});
    // Alone, the intersection shows F x Other and M x Other (whose sum is the hidden race Other) ...
    const auto alone = mw::fairness::suppressed_rows({both}, 0, 30);
    CHECK_FALSE(alone[3]);
    CHECK_FALSE(alone[8]);
    // ... linked to the race table, it hides them with their margin.
    const auto linked = mw::fairness::suppressed_rows(shifts, 1, 30);
    CHECK(linked[3]);
    CHECK(linked[8]);
    CHECK_FALSE(linked[4]);  // F x White: nothing hidden is linked to it
}
