// The root-cause ranking (detectors/root_cause.h) on windows of the bundled
// UCI Adult data (the model's predictions from tests/fairness/vectors) and of
// Elec2 (a persistence model: the previous half-hour's class), each seed
// drawing a reference and a disjoint window from the same rows:
// - a drop planted in one segment, or in one numeric feature's top decile, is
//   ranked first and named in at least 95% of seeds, at the test's sizes
//   (3,000 reference and 2,000 window rows) and at the daemon's defaults
//   (1,000 and 1,000, 80% of the window labelled);
// - a drop split evenly between two segments names no single cause in at
//   least 95% of seeds;
// - a uniform degradation (the same share of every segment's rows made
//   wrong) names no single cause in at least 95% of seeds;
// - a covariate shift into the weakest bin of a feature few others follow
//   ranks that feature first in at least 95% of seeds (confounded features
//   are measured by the hidden case, bench/root_cause_bench.sh);
// - windows with no single cause planted (nothing, or 6% of every row made
//   wrong, which makes the drop real so that the naming rule decides) name
//   none in at least 95% of seeds, at three sizes (3,000+2,000, the
//   daemon's defaults, 600+400).
// MODELWATCH_ROOT_CAUSE_SEEDS sets the seeds per case (40 by default) and
// MODELWATCH_ROOT_CAUSE_FIRST_SEED the first (1): bench/root_cause_bench.sh
// runs 400 held-out seeds from 1001 (disjoint from the ones the rule was
// tuned on) and prints the rates for bench/RESULTS.md.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/csv_table.h"
#include "detectors/metric_standard_error.h"
#include "detectors/root_cause.h"
#include "tests/support/command_output.h"
#include "tests/support/csv_columns.h"

using namespace mw::rootcause;

namespace {

// A labelled data set: feature columns, labels and a model's predictions.
struct LabelledData {
    std::string name;
    std::vector<Column> columns;
    std::vector<std::string> label;
    std::vector<std::string> predicted;
    std::string positive;
};

// Adult writes a missing value as "?".
bool root_cause_missing_cell(std::string_view cell) { return cell == "?"; }

Column text_column(const mw::drift::CsvTable& table, const std::string& name, bool attribute = false) {
    Column column = mw::testing::csv_column<Column>(table, name, false, root_cause_missing_cell);
    column.attribute = attribute;
    return column;
}

Column number_column(const mw::drift::CsvTable& table, const std::string& name) {
    return mw::testing::csv_column<Column>(table, name, true);
}

const LabelledData& adult() {
    static const LabelledData data = [] {
        const auto table = mw::drift::read_csv(mw::testing::bundled_data("adult/adult.csv.gz"), "adult.csv");
        const auto predictions = mw::drift::read_csv(
            mw::testing::command_output("gzip -dc '" + std::string(MODELWATCH_SOURCE_DIR) +
                                        "/tests/fairness/vectors/adult_predictions.csv.gz'"),
            "adult_predictions.csv");
        REQUIRE(table.ok());
        REQUIRE(predictions.ok());
        REQUIRE(table.rows.size() == predictions.rows.size());
        LabelledData d{.name = "adult", .positive = "1"};
        for (const char* name : {"workclass", "education", "marital_status", "occupation", "relationship",
                                 "native_country"})
            d.columns.push_back(text_column(table, name));
        // Segment attributes, as the model's configuration would name them.
        d.columns.push_back(text_column(table, "sex", true));
        d.columns.push_back(text_column(table, "race", true));
        for (const char* name : {"age", "education_num", "hours_per_week", "capital_gain", "fnlwgt"})
            d.columns.push_back(number_column(table, name));
        const int y_true = predictions.column_index("y_true");
        const int y_pred = predictions.column_index("y_pred");
        for (const auto& row : predictions.rows) {
            d.label.push_back(row[static_cast<std::size_t>(y_true)]);
            d.predicted.push_back(row[static_cast<std::size_t>(y_pred)]);
        }
        return d;
    }();
    return data;
}

// Rows 20,000 to 35,000 of Elec2 (about ten months), predicted by
// persistence, which is right about 85% of the time.
const LabelledData& elec2() {
    static const LabelledData data = [] {
        const auto table = mw::drift::read_csv(mw::testing::bundled_data("elec2/elec2.csv.gz"), "elec2.csv");
        REQUIRE(table.ok());
        LabelledData all{.name = "elec2", .positive = "UP"};
        all.columns.push_back(text_column(table, "day"));
        for (const char* name : {"period", "nswprice", "nswdemand", "vicprice", "vicdemand", "transfer"})
            all.columns.push_back(number_column(table, name));
        const auto classes = text_column(table, "class");
        LabelledData d{.name = "elec2", .positive = "UP"};
        for (auto column : all.columns) {
            Column kept{.name = column.name, .numeric = column.numeric};
            for (std::size_t r = 20000; r < 35000; ++r) {
                if (column.numeric)
                    kept.numbers.push_back(column.numbers[r]);
                else
                    kept.texts.push_back(column.texts[r]);
            }
            d.columns.push_back(std::move(kept));
        }
        for (std::size_t r = 20000; r < 35000; ++r) {
            d.label.push_back(classes.texts[r]);
            d.predicted.push_back(classes.texts[r - 1]);
        }
        return d;
    }();
    return data;
}

RankingRows take_rows(const LabelledData& data, const std::vector<std::size_t>& rows,
                      const std::vector<std::string>& predicted) {
    RankingRows out;
    for (const auto& column : data.columns) {
        Column part{.name = column.name, .attribute = column.attribute, .numeric = column.numeric};
        for (const auto r : rows) {
            if (column.numeric)
                part.numbers.push_back(column.numbers[r]);
            else
                part.texts.push_back(column.texts[r]);
        }
        out.columns.push_back(std::move(part));
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.outcomes.y_true.push_back(data.label[rows[i]]);
        out.outcomes.y_pred.push_back(predicted[i]);
    }
    return out;
}

std::string other_class(const LabelledData& data, const std::string& label) {
    return label == data.positive ? (data.name == "adult" ? "0" : "DOWN") : data.positive;
}

const Column& column_named(const LabelledData& data, const std::string& name) {
    for (const auto& column : data.columns)
        if (column.name == name) return column;
    FAIL("no column " << name);
    throw;
}

enum class Plant { nothing, uniform, segment, two_segments, top_range, shift };

// The sizes of the test's windows, and the daemon's defaults (config.h:
// reference.rows and window.rows 1,000; a window is judged once 80% of it
// is labelled, and the realised ranking takes the labelled rows only).
struct Sizes {
    std::size_t reference = 3000;
    std::size_t window = 2000;
};
constexpr Sizes daemon_default_sizes{1000, 800};

struct Scenario {
    Plant plant = Plant::nothing;
    // segment: the column and its value; two_segments: the column and two
    // values, "3|7"; top_range: rows at or above the reference's 90th
    // percentile of the column (inside its top quintile bin, not at its
    // edge); shift: the column whose weakest bin (reference quintile, or
    // category) fills half the window.
    std::string column;
    std::string value;
    Sizes sizes;
    double uniform_share = 0.15;  // uniform: the share of the window's rows made wrong
};

// The bin of `column` at row r: its reference quintile, or its category.
std::string bin_of(const Column& column, std::size_t r, const std::vector<double>& cuts) {
    if (!column.numeric) return column.texts[r];
    return std::to_string(std::upper_bound(cuts.begin(), cuts.end(), column.numbers[r]) - cuts.begin());
}

// The reference rows' bin of `column` with the lowest accuracy among those
// holding at least 5% of them.
std::string weakest_bin(const LabelledData& data, const Column& column, const std::vector<std::size_t>& reference,
                        const std::vector<double>& cuts) {
    std::map<std::string, std::pair<double, double>> bins;  // correct, rows
    for (const auto r : reference) {
        auto& [correct, rows] = bins[bin_of(column, r, cuts)];
        correct += data.label[r] == data.predicted[r] ? 1 : 0;
        rows += 1;
    }
    std::string weakest;
    double lowest = 2;
    for (const auto& [bin, counts] : bins) {
        if (counts.second < 0.05 * static_cast<double>(reference.size())) continue;
        if (counts.first / counts.second < lowest) lowest = counts.first / counts.second, weakest = bin;
    }
    return weakest;
}

struct Outcome {
    Ranking ranking;
    std::string expected_name;  // of the segment a plant should rank first
};

// Reference and window rows (scenario.sizes), disjoint, from the same data.
Outcome run(const LabelledData& data, const Scenario& scenario, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::size_t> rows(data.label.size());
    for (std::size_t r = 0; r < rows.size(); ++r) rows[r] = r;
    std::shuffle(rows.begin(), rows.end(), rng);
    const auto n_reference = static_cast<std::ptrdiff_t>(scenario.sizes.reference);
    const auto n_window = static_cast<std::ptrdiff_t>(scenario.sizes.window);
    const std::vector<std::size_t> reference_rows(rows.begin(), rows.begin() + n_reference);
    std::vector<std::size_t> window_rows(rows.begin() + n_reference, rows.begin() + n_reference + n_window);
    if (scenario.plant == Plant::shift) {
        // Covariate shift: half the window from the feature's weakest bin, half as before.
        const auto& column = column_named(data, scenario.column);
        std::vector<double> cuts;
        if (column.numeric) {
            std::vector<double> values;
            for (const auto r : reference_rows) values.push_back(column.numbers[r]);
            for (const double q : {20.0, 40.0, 60.0, 80.0}) cuts.push_back(mw::performance::percentile_linear(values, q));
        }
        const auto weakest = weakest_bin(data, column, reference_rows, cuts);
        window_rows.resize(scenario.sizes.window / 2);
        for (auto i = static_cast<std::size_t>(n_reference + n_window);
             i < rows.size() && window_rows.size() < scenario.sizes.window; ++i)
            if (bin_of(column, rows[i], cuts) == weakest) window_rows.push_back(rows[i]);
    }

    std::vector<std::string> reference_predicted, window_predicted;
    for (const auto r : reference_rows) reference_predicted.push_back(data.predicted[r]);
    double cut = 0;
    if (scenario.plant == Plant::top_range) {
        std::vector<double> values;
        for (const auto r : reference_rows) values.push_back(column_named(data, scenario.column).numbers[r]);
        cut = mw::performance::percentile_linear(values, 90);
    }
    // A top-decile plant makes 80% of its rows wrong: the same share of the
    // window (8%) as 40% of a quintile.
    std::bernoulli_distribution uniform_hit(scenario.uniform_share), segment_hit(0.4), decile_hit(0.8);
    for (const auto r : window_rows) {
        auto predicted = data.predicted[r];
        bool hit = false;
        if (scenario.plant == Plant::uniform) hit = uniform_hit(rng);
        if (scenario.plant == Plant::segment)
            hit = column_named(data, scenario.column).texts[r] == scenario.value && segment_hit(rng);
        if (scenario.plant == Plant::two_segments) {
            const auto& value = column_named(data, scenario.column).texts[r];
            hit = scenario.value.find('|') != std::string::npos &&
                  (value == scenario.value.substr(0, scenario.value.find('|')) ||
                   value == scenario.value.substr(scenario.value.find('|') + 1)) &&
                  segment_hit(rng);
        }
        if (scenario.plant == Plant::top_range) {
            const double v = column_named(data, scenario.column).numbers[r];
            hit = v >= cut && decile_hit(rng);
        }
        // A planted error: the prediction made wrong.
        if (hit) predicted = other_class(data, data.label[r]);
        window_predicted.push_back(predicted);
    }
    RankingOptions options;
    options.metric = "accuracy";
    options.spec.positive_class = data.positive;
    Outcome outcome;
    outcome.ranking = rank_causes(take_rows(data, window_rows, window_predicted),
                                  take_rows(data, reference_rows, reference_predicted), options);
    if (scenario.plant == Plant::segment) outcome.expected_name = "segment " + scenario.column + "=" + scenario.value;
    return outcome;
}

std::size_t seeds_per_case() {
    const char* text = std::getenv("MODELWATCH_ROOT_CAUSE_SEEDS");
    return text != nullptr ? std::strtoul(text, nullptr, 10) : 40;
}

std::size_t first_seed() {
    const char* text = std::getenv("MODELWATCH_ROOT_CAUSE_FIRST_SEED");
    return text != nullptr ? std::strtoul(text, nullptr, 10) : 1;
}

// The share of seeds for which `good` holds, printed for the bench.
template <typename Good>
double rate(const LabelledData& data, const Scenario& scenario, const char* what, Good good) {
    const std::size_t seeds = seeds_per_case();
    std::size_t hits = 0;
    for (std::size_t seed = first_seed(); seed < first_seed() + seeds; ++seed) {
        const auto outcome = run(data, scenario, seed * 7919 + std::hash<std::string>{}(scenario.column + scenario.value));
        REQUIRE(outcome.ranking.ok());
        const bool ok = good(outcome);
        if (!ok && std::getenv("MODELWATCH_ROOT_CAUSE_MISSES") != nullptr)
            std::printf("miss %s %s seed %zu: %s; first %s (%.2f, z %.1f)\n", data.name.c_str(), what, seed,
                        outcome.ranking.summary.c_str(),
                        outcome.ranking.ranked.empty() ? "-" : outcome.ranking.ranked.front().name().c_str(),
                        outcome.ranking.ranked.empty() ? 0.0 : outcome.ranking.ranked.front().explained_share,
                        outcome.ranking.ranked.empty() ? 0.0 : outcome.ranking.ranked.front().z);
        hits += ok ? 1 : 0;
    }
    const double share = static_cast<double>(hits) / static_cast<double>(seeds);
    std::printf("root_cause %s %s %s%s%s%s: %zu/%zu seeds (%.1f%%)\n", data.name.c_str(), what, scenario.column.c_str(),
                scenario.value.empty() ? "" : "=", scenario.value.c_str(),
                scenario.sizes.reference == daemon_default_sizes.reference ? " (daemon defaults)" : "", hits, seeds,
                share * 100);
    return share;
}

// Ranked first, and named whenever the drop itself is beyond sampling error
// (a smaller segment's plant can be offset by the rest of the window doing
// better by chance: then no performance finding would have been raised, and
// when the window even improved there is nothing to rank).
bool first_and_named(const Ranking& r, bool first) {
    if (r.improved) return true;  // the plant was outweighed by chance: no finding, nothing to rank
    return first && (r.single_cause || !r.drop_significant);
}

bool names_segment(const Outcome& outcome) {
    const auto& r = outcome.ranking;
    return first_and_named(r, !r.ranked.empty() && r.ranked.front().name() == outcome.expected_name);
}

}  // namespace

TEST_CASE("a drop planted in one segment is ranked first and named", "[root_cause][root_cause_seeds]") {
    for (const auto& [data, column, value] :
         std::vector<std::tuple<const LabelledData*, std::string, std::string>>{
             {&adult(), "sex", "Female"},
             {&adult(), "marital_status", "Never-married"},
             {&elec2(), "day", "3"},
             {&elec2(), "day", "7"}}) {
        CHECK(rate(*data, {Plant::segment, column, value}, "segment", names_segment) >= 0.95);
    }
    // occupation=Sales (11% of rows; its drop is about 3 to 4 standard
    // errors): ranked first, but named only where the lower bound of its
    // share clears half the drop (92.5% of 400 held-out seeds), measured.
    CHECK(rate(adult(), {Plant::segment, "occupation", "Sales"}, "segment ranked first", [](const Outcome& o) {
              return o.ranking.improved ||
                     (!o.ranking.ranked.empty() && o.ranking.ranked.front().name() == o.expected_name);
          }) >= 0.95);
    rate(adult(), {Plant::segment, "occupation", "Sales"}, "segment named", names_segment);
}

// At the daemon's default sizes a segment needs performance.min_segment_rows
// (100) of the window's 800 labelled rows: Adult's occupation=Sales (11%)
// has about 90 and is never shown there, so it is not a case here.
TEST_CASE("at the daemon's default sizes a planted drop is ranked first and named", "[root_cause][root_cause_seeds]") {
    for (const auto& [data, column, value] : std::vector<std::tuple<const LabelledData*, std::string, std::string>>{
             {&adult(), "sex", "Female"}, {&adult(), "marital_status", "Never-married"}}) {
        CHECK(rate(*data, {Plant::segment, column, value, daemon_default_sizes}, "segment", names_segment) >= 0.95);
    }
    // A top-decile plant is 8% of the window's 800 rows: ranked first, but
    // whether it explains half the drop beyond sampling error is often
    // undecidable at this size, so naming is measured, not asserted.
    for (const auto& [data, column] : std::vector<std::pair<const LabelledData*, std::string>>{
             {&adult(), "age"}, {&elec2(), "period"}}) {
        CHECK(rate(*data, {Plant::top_range, column, "", daemon_default_sizes}, "top range ranked first of",
                   [&](const Outcome& o) {
                       return o.ranking.improved ||
                              (!o.ranking.ranked.empty() && o.ranking.ranked.front().column == column);
                   }) >= 0.95);
        rate(*data, {Plant::top_range, column, "", daemon_default_sizes}, "top range named of", [&](const Outcome& o) {
            return first_and_named(o.ranking, !o.ranking.ranked.empty() && o.ranking.ranked.front().column == column);
        });
    }
}

// Half the drop in day=3, half in day=7 (the feature `day` carries about
// none of it: its shares did not move): neither explains half of it beyond
// sampling error, so neither is named as the single cause.
TEST_CASE("a drop split between two segments names no single cause", "[root_cause][root_cause_seeds]") {
    CHECK(rate(elec2(), {Plant::two_segments, "day", "3|7"}, "two segments", [](const Outcome& o) {
              return !o.ranking.single_cause && o.ranking.causes.empty();
          }) >= 0.95);
}

TEST_CASE("a drop planted in one feature's range names that feature first", "[root_cause][root_cause_seeds]") {
    for (const auto& [data, column] : std::vector<std::pair<const LabelledData*, std::string>>{
             {&adult(), "age"}, {&adult(), "hours_per_week"}, {&elec2(), "transfer"}, {&elec2(), "period"}}) {
        CHECK(rate(*data, {Plant::top_range, column, ""}, "top range of", [&](const Outcome& o) {
                  return first_and_named(o.ranking, !o.ranking.ranked.empty() && o.ranking.ranked.front().column == column);
              }) >= 0.95);
    }
}

// Covariate shift: half the window from the feature's weakest bin. Ranked
// first is what is asserted (not named: a shift into a bin 5 points weaker
// moves the whole window by 2 or 3 points, often within the Bonferroni bound).
// The features here move few others with them; a shift of a feature that
// others follow (Adult's age drags marital status along, occupation drags
// education, Elec2's nswdemand drags nswprice) is as much a shift of those,
// and the next case only measures how often the planted one comes first.
bool shifted_feature_first(const Outcome& outcome, const std::string& column) {
    return !outcome.ranking.ranked.empty() && outcome.ranking.ranked.front().column == column;
}

TEST_CASE("a covariate shift into one feature's weakest bin ranks that feature first", "[root_cause][root_cause_seeds]") {
    CHECK(rate(adult(), {Plant::shift, "hours_per_week", ""}, "shift of",
               [&](const Outcome& o) { return shifted_feature_first(o, "hours_per_week"); }) >= 0.95);
}

TEST_CASE("covariate shifts of confounded features, measured", "[.][root_cause_seeds]") {
    for (const auto& [data, column] : std::vector<std::pair<const LabelledData*, std::string>>{
             {&adult(), "age"}, {&adult(), "occupation"}, {&adult(), "workclass"}, {&elec2(), "nswdemand"},
             {&elec2(), "vicdemand"}}) {
        rate(*data, {Plant::shift, column, ""}, "confounded shift of",
             [&](const Outcome& o) { return shifted_feature_first(o, column); });
    }
    // Elec2's period: few features follow it, but its weakest bin is so
    // little weaker that the shift's drop is often within sampling error.
    rate(elec2(), {Plant::shift, "period", ""}, "weak shift of",
         [&](const Outcome& o) { return shifted_feature_first(o, "period"); });
    // NSW and Victorian demand move together: a drop in nswdemand's top
    // decile is also one in vicdemand's top quintile, which now and then
    // comes first.
    rate(elec2(), {Plant::top_range, "nswdemand", ""}, "confounded top range of",
         [&](const Outcome& o) { return shifted_feature_first(o, "nswdemand"); });
    // NSW and Victorian prices move together: a drop in vicprice's top range
    // is also one in nswprice's, which often comes first.
    rate(elec2(), {Plant::top_range, "vicprice", ""}, "confounded top range of",
         [&](const Outcome& o) { return shifted_feature_first(o, "vicprice"); });
}

TEST_CASE("a uniform degradation names no single cause", "[root_cause][root_cause_seeds]") {
    for (const auto* data : {&adult(), &elec2()}) {
        CHECK(rate(*data, {Plant::uniform, "", ""}, "uniform", [](const Outcome& o) {
                  // The drop itself is real: it is the cause that is missing.
                  return o.ranking.drop_significant && !o.ranking.single_cause && o.ranking.causes.empty() &&
                         o.ranking.summary.starts_with("no single cause");
              }) >= 0.95);
    }
}

// Windows with no single cause planted, at three sizes: nothing at all, and
// 6% of the window's rows made wrong at random. A null window's drop is
// within sampling error in about 95% of seeds, so the drop gate alone would
// pass a test of null windows whatever the naming rule does; the uniform 6%
// makes the drop real in most seeds (asserted: at least 40% of them, so the
// naming rule is exercised), and then only the rule stands between noise and
// a named cause. Measured: without both the lower-bound rule and the
// Bonferroni correction (a point estimate of half the drop, one-sided 5% per
// item) this fails; without only one of them it passes (bench/RESULTS.md,
// "The null test").
TEST_CASE("windows with no single cause planted name none, at several sizes", "[root_cause][root_cause_seeds]") {
    for (const auto* data : {&adult(), &elec2()}) {
        for (const Sizes sizes : {Sizes{3000, 2000}, daemon_default_sizes, Sizes{600, 400}}) {
            for (const double share : {0.0, 0.06}) {
                std::size_t exercised = 0;
                const Scenario scenario{.plant = Plant::uniform, .sizes = sizes, .uniform_share = share};
                const std::string label = std::string(share == 0 ? "null, none" : "6%") + " of " +
                                          std::to_string(sizes.reference) + "+" + std::to_string(sizes.window) +
                                          " rows made wrong";
                CHECK(rate(*data, scenario, label.c_str(), [&](const Outcome& o) {
                          exercised += o.ranking.drop_significant ? 1 : 0;
                          return !o.ranking.single_cause && o.ranking.causes.empty();
                      }) >= 0.95);
                std::printf("root_cause %s %s drop beyond sampling error in %zu/%zu seeds\n", data->name.c_str(),
                            label.c_str(), exercised, seeds_per_case());
                if (share > 0) CHECK(static_cast<double>(exercised) >= 0.4 * static_cast<double>(seeds_per_case()));
            }
        }
    }
}

TEST_CASE("the ranking's numbers: decomposition, intervals, suppression, words", "[root_cause]") {
    // Two segments of 100 rows each in the reference (accuracy 0.9 and 0.9);
    // in the window segment b falls to 0.5 and a stays at 0.9.
    const auto rows = [](double a_accuracy, double b_accuracy, std::size_t tiny) {
        RankingRows set;
        Column group{.name = "group"};
        for (std::size_t i = 0; i < 200 + tiny; ++i) {
            const bool in_b = i >= 100 && i < 200;
            const bool is_tiny = i >= 200;
            group.texts.push_back(is_tiny ? "tiny" : in_b ? "b" : "a");
            const double accuracy = in_b ? b_accuracy : a_accuracy;
            const bool correct = static_cast<double>(i % 100) < accuracy * 100;
            set.outcomes.y_true.push_back("1");
            set.outcomes.y_pred.push_back(correct ? "1" : "0");
        }
        set.columns.push_back(std::move(group));
        return set;
    };
    RankingOptions options;
    options.spec.positive_class = "1";
    const auto ranking = rank_causes(rows(0.9, 0.5, 5), rows(0.9, 0.9, 0), options);
    REQUIRE(ranking.ok());
    // Window accuracy (90 + 50 + 5 * (tiny rows 200..204: i % 100 < 90)) / 205.
    CHECK(ranking.window_value == Approx(145.0 / 205));
    CHECK(ranking.reference_value == Approx(0.9));
    CHECK(ranking.drop == Approx(0.9 - 145.0 / 205));
    CHECK(ranking.drop_significant);
    CHECK(ranking.suppressed == 1);  // "tiny": 5 rows, below min_segment_rows (100), never shown
    for (const auto& cause : ranking.ranked) CHECK(cause.value != "tiny");
    REQUIRE(ranking.single_cause);
    const auto& top = ranking.ranked.front();
    CHECK(top.name() == "segment group=b");
    // c = r (mu_b - mu_rest) - w (m_b - m_rest) = 0.5 * 0 - (100/205) * (0.5 - 95/105).
    CHECK(top.contribution == Approx(-(100.0 / 205) * (0.5 - 95.0 / 105)));
    // The rest's own loss plus the segment's contribution is the drop.
    CHECK(ranking.drop == Approx((0.9 - 95.0 / 105) + top.contribution));
    REQUIRE(top.window_interval);
    CHECK(top.window_interval->method == "wilson");
    CHECK(top.window_interval->lower < 0.5);
    CHECK(top.window_interval->upper > 0.5);
    REQUIRE_FALSE(ranking.causes.empty());
    CHECK(ranking.causes.front().starts_with("segment group=b: accuracy 0.5 ["));
    CHECK(ranking.causes.front().find("vs 0.9 in reference") != std::string::npos);
    const auto json = to_json(ranking);
    CHECK(json["ranked"][0]["name"] == "segment group=b");
    CHECK(json["suppressed_segments"] == 1);

    // The same drop of a metric that is not a proportion: f1 gets an
    // interval from its own delta-method standard error, a macro average
    // (which has none) a bootstrap one.
    options.metric = "f1";
    const auto f1 = rank_causes(rows(0.9, 0.5, 0), rows(0.9, 0.9, 0), options);
    REQUIRE(f1.ok());
    REQUIRE_FALSE(f1.ranked.empty());
    CHECK(f1.ranked.front().name() == "segment group=b");
    REQUIRE(f1.ranked.front().window_interval);
    CHECK(f1.ranked.front().window_interval->method == "delta");
    options.metric = "f1_macro";
    const auto f1_macro = rank_causes(rows(0.9, 0.5, 0), rows(0.9, 0.9, 0), options);
    REQUIRE(f1_macro.ok());
    REQUIRE_FALSE(f1_macro.ranked.empty());
    REQUIRE(f1_macro.ranked.front().window_interval);
    CHECK(f1_macro.ranked.front().window_interval->method == "bootstrap");

    options.metric = "no_such_metric";
    CHECK_FALSE(rank_causes(rows(0.9, 0.5, 0), rows(0.9, 0.9, 0), options).ok());
}

TEST_CASE("an estimated drop is ranked from CBPE per segment", "[root_cause]") {
    // Reference: scores 0.9 or 0.1, right 90% of the time in both groups.
    RankingRows reference;
    Column reference_group{.name = "group"};
    std::vector<double> scores;
    std::vector<bool> predicted, actual;
    for (std::size_t i = 0; i < 400; ++i) {
        reference_group.texts.push_back(i % 2 == 0 ? "a" : "b");
        const double score = i % 4 < 2 ? 0.9 : 0.1;
        const bool positive = score > 0.5;
        const bool right = (i / 4) % 10 != 0;
        reference.outcomes.y_pred.push_back(positive ? "1" : "0");
        reference.outcomes.y_true.push_back(positive == right ? "1" : "0");
        reference.outcomes.score.push_back(score);
        scores.push_back(score), predicted.push_back(positive), actual.push_back(positive == right);
    }
    reference.columns.push_back(std::move(reference_group));
    const auto cbpe = mw::performance::fit_cbpe(scores, predicted, actual);
    REQUIRE(cbpe.ok());
    // Window, no labels yet: group b's scores fall to 0.6 or 0.4, so CBPE
    // expects it right only 60% of the time.
    RankingRows window;
    Column window_group{.name = "group"};
    for (std::size_t i = 0; i < 400; ++i) {
        const bool in_b = i % 2 == 1;
        window_group.texts.push_back(in_b ? "b" : "a");
        const double score = i % 4 < 2 ? (in_b ? 0.6 : 0.9) : (in_b ? 0.4 : 0.1);
        window.outcomes.y_pred.push_back(score > 0.5 ? "1" : "0");
        window.outcomes.y_true.push_back(std::nullopt);
        window.outcomes.score.push_back(score);
    }
    window.columns.push_back(std::move(window_group));
    RankingOptions options;
    options.spec.positive_class = "1";
    options.cbpe = &cbpe.reference;
    const auto ranking = rank_causes(window, reference, options);
    REQUIRE(ranking.ok());
    CHECK(ranking.estimated);
    CHECK(ranking.window_value == Approx(0.75).margin(0.01));
    CHECK(ranking.reference_value == Approx(0.9));
    REQUIRE(ranking.single_cause);
    CHECK(ranking.ranked.front().name() == "segment group=b");
    CHECK(*ranking.ranked.front().window_metric == Approx(0.6).margin(0.01));
    REQUIRE(ranking.ranked.front().window_interval);
    CHECK(ranking.ranked.front().window_interval->method == "cbpe_wilson");

    // Without a score on every row there is nothing to estimate from.
    window.outcomes.score.pop_back();
    CHECK_FALSE(rank_causes(window, reference, options).ok());
}

TEST_CASE("second opinions over recent windows: correlation and alert counts", "[root_cause]") {
    Ranking ranking;
    ranking.metric = "accuracy";
    std::vector<HistoryWindow> history;
    for (int w = 0; w < 10; ++w) {
        HistoryWindow window;
        window.metric = 0.9 - 0.02 * w;  // falling while x drifts more and more
        window.drift.push_back({.feature = "x", .method = "ks", .statistic = 0.01 * w, .drifted = w >= 6});
        window.drift.push_back({.feature = "y", .method = "ks", .statistic = 0.05 * (w % 2), .drifted = w == 3});
        history.push_back(window);
    }
    rank_by_history(ranking, history);
    REQUIRE(ranking.correlation_ranking.size() == 2);
    CHECK(ranking.correlation_ranking[0].feature == "x");
    CHECK(*ranking.correlation_ranking[0].correlation == Approx(1.0));
    CHECK(ranking.alert_count_ranking[0].feature == "x");
    CHECK(ranking.alert_count_ranking[0].alerts == 4);
    CHECK(ranking.alert_count_ranking[1].alerts == 1);
}

namespace {

// `rows` rows of one categorical column `group`, each value's rows right at
// the given accuracy (deterministically: the first accuracy * 100 of every 100).
RankingRows rows_of_groups(const std::vector<std::tuple<std::string, std::size_t, double>>& groups) {
    RankingRows set;
    Column group{.name = "group"};
    for (const auto& [value, rows, accuracy] : groups) {
        for (std::size_t i = 0; i < rows; ++i) {
            group.texts.push_back(value);
            const bool correct = static_cast<double>(i % 100) < accuracy * 100;
            set.outcomes.y_true.push_back("1");
            set.outcomes.y_pred.push_back(correct ? "1" : "0");
        }
    }
    set.columns.push_back(std::move(group));
    return set;
}

}  // namespace

TEST_CASE("a category that vanished from the window is compared", "[root_cause]") {
    // Reference: A 30% of rows (accuracy 0.95), B 70% (0.75); the window
    // holds only B. The whole drop is A's share going: the feature explains
    // all of it and its total variation is 0.3.
    RankingOptions options;
    options.spec.positive_class = "1";
    const auto ranking =
        rank_causes(rows_of_groups({{"B", 700, 0.75}}), rows_of_groups({{"A", 300, 0.95}, {"B", 700, 0.75}}), options);
    REQUIRE(ranking.ok());
    CHECK(ranking.drop == Approx(0.81 - 0.75));
    REQUIRE(ranking.single_cause);
    const auto& top = ranking.ranked.front();
    CHECK(top.name() == "feature group");
    CHECK(top.shift == Approx(0.3));
    CHECK(top.explained_share == Approx(1.0));

    // Past max_values_per_column, values share one "(other values)" segment
    // on both sides, and a literal value reading like it is quoted.
    options.max_values_per_column = 1;
    const auto pooled = rank_causes(rows_of_groups({{"B", 600, 0.75}, {"(other values)", 200, 0.9}}),
                                    rows_of_groups({{"A", 300, 0.95}, {"B", 700, 0.75}}), options);
    REQUIRE(pooled.ok());
    CHECK(pooled.values_left_out == 2);
    bool other_shown = false;
    for (const auto& cause : pooled.ranked) other_shown = other_shown || cause.value == "(other values)";
    CHECK(other_shown);
}

TEST_CASE("segments below the minimum, or beside a rest below it, are never shown", "[root_cause]") {
    RankingOptions options;
    options.spec.positive_class = "1";
    REQUIRE(options.min_segment_rows == 100);
    // "big" has all the window's rows but 20: its rest would show the 20
    // rows' accuracy (whole minus big), so neither is shown.
    const auto ranking = rank_causes(rows_of_groups({{"big", 400, 0.6}, {"small", 20, 0.5}}),
                                     rows_of_groups({{"big", 400, 0.9}, {"small", 200, 0.9}}), options);
    REQUIRE(ranking.ok());
    CHECK(ranking.suppressed == 2);
    for (const auto& cause : ranking.ranked) CHECK(cause.kind == CauseKind::feature);
    // A group with 50 reference rows is shown from the window's 150, its
    // reference share and metric not.
    const auto small_reference = rank_causes(rows_of_groups({{"a", 300, 0.9}, {"b", 150, 0.5}}),
                                             rows_of_groups({{"a", 450, 0.9}, {"b", 50, 0.9}}), options);
    REQUIRE(small_reference.ok());
    bool b_shown = false;
    for (const auto& cause : small_reference.ranked) {
        if (cause.name() != "segment group=b") continue;
        b_shown = true;
        CHECK_FALSE(cause.reference_share);
        CHECK_FALSE(cause.reference_metric);
    }
    CHECK(b_shown);
    const auto small_reference_json = to_json(small_reference);  // kept alive for the loop over its member
    for (const auto& item : small_reference_json["ranked"])
        if (item["name"] == "segment group=b") CHECK(item["reference_share"].is_null());
}

TEST_CASE("a metric that rose is not explained as a drop", "[root_cause]") {
    RankingOptions options;
    options.spec.positive_class = "1";
    const auto ranking = rank_causes(rows_of_groups({{"a", 300, 0.99}, {"b", 300, 0.99}}),
                                     rows_of_groups({{"a", 300, 0.8}, {"b", 300, 0.8}}), options);
    REQUIRE(ranking.ok());
    CHECK(ranking.improved);
    CHECK(ranking.drop < 0);
    CHECK_FALSE(ranking.single_cause);
    CHECK(ranking.ranked.empty());
    CHECK(ranking.summary.starts_with("no cause named: accuracy improved on the reference"));
    CHECK(to_json(ranking)["improved"] == true);
    // A drop within sampling error says so in those words.
    const auto small = rank_causes(rows_of_groups({{"a", 300, 0.79}, {"b", 300, 0.8}}),
                                   rows_of_groups({{"a", 300, 0.8}, {"b", 300, 0.8}}), options);
    REQUIRE(small.ok());
    CHECK_FALSE(small.drop_significant);
    CHECK(small.summary.starts_with("no cause named: the drop from the reference (accuracy "));
    CHECK(small.summary.ends_with("is within its sampling error"));
}

TEST_CASE("a zero-inflated feature is cut at its atom", "[root_cause]") {
    // 90% zeros; the nonzero rows' accuracy falls from 0.9 to 0.5.
    const auto rows = [](double nonzero_accuracy) {
        RankingRows set;
        Column gain{.name = "gain", .numeric = true};
        for (std::size_t i = 0; i < 2000; ++i) {
            const bool nonzero = i % 10 == 0;
            gain.numbers.push_back(nonzero ? 100.0 + static_cast<double>(i) : 0.0);
            const double accuracy = nonzero ? nonzero_accuracy : 0.9;
            set.outcomes.y_true.push_back("1");
            set.outcomes.y_pred.push_back(static_cast<double>((i / 10) % 100) < accuracy * 100 ? "1" : "0");
        }
        set.columns.push_back(std::move(gain));
        return set;
    };
    RankingOptions options;
    options.spec.positive_class = "1";
    const auto ranking = rank_causes(rows(0.5), rows(0.9), options);
    REQUIRE(ranking.ok());
    REQUIRE(ranking.single_cause);
    CHECK(ranking.ranked.front().name() == "segment gain >= 100");
    bool atom_shown = false;
    for (const auto& cause : ranking.ranked) atom_shown = atom_shown || cause.name() == "segment gain = 0";
    CHECK(atom_shown);
}

TEST_CASE("a mean-over-rows metric has per-segment standard errors", "[root_cause]") {
    // Brier: group b's scores go from right (0.9 on positives) to a spread
    // of 0.1 and 0.9; group a's stay. b's interval is a normal one from its
    // own per-row losses, wider than a's.
    const auto rows = [](bool degraded) {
        RankingRows set;
        Column group{.name = "group"};
        for (std::size_t i = 0; i < 600; ++i) {
            const bool in_b = i % 2 == 1;
            group.texts.push_back(in_b ? "b" : "a");
            set.outcomes.y_true.push_back("1");
            set.outcomes.y_pred.push_back("1");
            set.outcomes.score.push_back(degraded && in_b && i % 4 == 1 ? 0.1 : 0.9);
        }
        set.columns.push_back(std::move(group));
        return set;
    };
    RankingOptions options;
    options.metric = "brier";
    options.spec.positive_class = "1";
    const auto ranking = rank_causes(rows(true), rows(false), options);
    REQUIRE(ranking.ok());
    CHECK(ranking.lower_is_better);
    CHECK(ranking.reference_value == Approx(0.01));
    CHECK(ranking.window_value == Approx((0.01 * 450 + 0.81 * 150) / 600));
    REQUIRE(ranking.single_cause);
    const auto& top = ranking.ranked.front();
    CHECK(top.name() == "segment group=b");
    REQUIRE(top.window_interval);
    CHECK(top.window_interval->method == "normal");
    // b's losses: half 0.01, half 0.81 (mean 0.41, sd 0.4): its interval's half-width is 1.96 * 0.4 / sqrt(300).
    CHECK((top.window_interval->upper - top.window_interval->lower) / 2 ==
          Approx(1.959964 * std::sqrt(0.16 * 300 / 299) / std::sqrt(300.0)).epsilon(0.01));
}

namespace {

// CBPE calibrated on a labelled reference whose positive class is "1".
mw::performance::CbpeFit fit_reference_cbpe(const RankingRows& reference) {
    std::vector<bool> predicted, actual;
    for (std::size_t r = 0; r < reference.size(); ++r) {
        predicted.push_back(reference.outcomes.y_pred[r] == "1");
        actual.push_back(reference.outcomes.y_true[r] == "1");
    }
    auto cbpe = mw::performance::fit_cbpe(reference.outcomes.score, predicted, actual);
    REQUIRE(cbpe.ok());
    return cbpe;
}

}  // namespace

TEST_CASE("a metric that is not a mean over rows has each segment's own delta-method standard error",
          "[root_cause]") {
    // rmse on two groups of 300 rows: in the window group "noisy" has errors
    // spread from 0 to 4.5, group "calm" errors of +-0.3 or +-0.5; in the
    // reference both have +-0.3. The whole window's bootstrap error scaled by
    // size would give both groups the same standard error; each has its own.
    const auto rows = [](bool degraded) {
        RankingRows set;
        Column group{.name = "group"};
        for (std::size_t i = 0; i < 600; ++i) {
            const bool noisy = i % 2 == 0;
            group.texts.push_back(noisy ? "noisy" : "calm");
            const double sign = (i / 2) % 2 == 0 ? 1.0 : -1.0;
            double error = 0.3;
            if (degraded) error = noisy ? 0.5 * static_cast<double>((i / 2) % 10) : (i / 4) % 2 == 0 ? 0.3 : 0.5;
            set.outcomes.target.push_back(static_cast<double>(i % 7));
            set.outcomes.predicted_value.push_back(static_cast<double>(i % 7) + sign * error);
        }
        set.columns.push_back(std::move(group));
        return set;
    };
    RankingOptions options;
    options.metric = "rmse";
    options.spec.task = mw::performance::Task::regression;
    options.min_segment_rows = 30;
    const auto window = rows(true);
    const auto ranking = rank_causes(window, rows(false), options);
    REQUIRE(ranking.ok());
    REQUIRE(ranking.drop_significant);
    std::map<std::string, double> half_width;
    for (const auto& cause : ranking.ranked) {
        if (cause.kind != CauseKind::segment) continue;
        REQUIRE(cause.window_interval);
        CHECK(cause.window_interval->method == "delta");
        half_width[cause.value] = (cause.window_interval->upper - cause.window_interval->lower) / 2;
    }
    REQUIRE(half_width.size() == 2);
    for (const auto& [value, width] : half_width) {
        std::vector<std::size_t> in;
        for (std::size_t r = 0; r < window.size(); ++r)
            if (window.columns[0].texts[r] == value) in.push_back(r);
        const auto se = mw::performance::metric_standard_error("rmse", window.outcomes, options.spec, in);
        REQUIRE(se);
        INFO(value);
        CHECK(width == Approx(1.959964 * *se).epsilon(1e-4));
    }
    CHECK(half_width["noisy"] > 3 * half_width["calm"]);
    CHECK(ranking.ranked.front().name() == "segment group=noisy");
}

TEST_CASE("an estimated precision drop compares shares over predicted positives", "[root_cause]") {
    // Group A is 40% of rows but 75% of the predicted positives. In the
    // window every positive prediction gets less sure (0.9 to 0.75, in both
    // groups alike): CBPE's precision falls, nothing shifted between groups.
    const auto rows = [](bool degraded, bool labelled) {
        RankingRows set;
        Column group{.name = "group"};
        for (std::size_t i = 0; i < 2000; ++i) {
            const bool in_a = i % 5 < 2;
            // A: 3 of 4 rows predicted positive; B: 1 of 6.
            const bool positive = in_a ? (i / 5) % 4 != 0 : (i / 5) % 6 == 0;
            group.texts.push_back(in_a ? "A" : "B");
            const double score = positive ? (degraded ? 0.75 : 0.9) : (degraded ? 0.25 : 0.1);
            set.outcomes.y_pred.push_back(positive ? "1" : "0");
            set.outcomes.score.push_back(score);
            // Right 90% of the time, both groups (every tenth of each class wrong).
            const bool right = (i / 30) % 10 != 0;
            set.outcomes.y_true.push_back(labelled ? std::optional<std::string>((positive == right) ? "1" : "0")
                                                   : std::nullopt);
        }
        set.columns.push_back(std::move(group));
        return set;
    };
    const auto reference = rows(false, true);
    const auto cbpe = fit_reference_cbpe(reference);
    RankingOptions options;
    options.metric = "precision";
    options.spec.positive_class = "1";
    options.cbpe = &cbpe.reference;
    const auto ranking = rank_causes(rows(true, false), reference, options);
    REQUIRE(ranking.ok());
    CHECK(ranking.estimated);
    CHECK(ranking.drop > 0.1);
    CHECK(ranking.drop_significant);
    // Shares of the predicted positives on both sides: no shift, no cause.
    for (const auto& cause : ranking.ranked) {
        if (cause.kind == CauseKind::feature) CHECK(cause.shift == Approx(0).margin(1e-9));
        if (cause.kind == CauseKind::segment) {
            REQUIRE(cause.reference_share);
            CHECK(cause.window_share == Approx(*cause.reference_share).margin(1e-9));
            REQUIRE(cause.window_interval);
            CHECK(cause.window_interval->method == "cbpe_wilson");
        }
    }
    CHECK_FALSE(ranking.single_cause);
    CHECK(ranking.summary.starts_with("no single cause: no segment or feature explains at least 50% of the drop "
                                      "beyond sampling error"));
}

TEST_CASE("an estimated roc_auc has no standard error: its drop is not tested", "[root_cause]") {
    const auto rows = [](bool degraded) {
        RankingRows set;
        Column group{.name = "group"};
        for (std::size_t i = 0; i < 400; ++i) {
            group.texts.push_back(i % 2 == 0 ? "a" : "b");
            const double score = i % 4 < 2 ? (degraded ? 0.6 : 0.9) : (degraded ? 0.45 : 0.1);
            const bool positive = score > 0.5;
            set.outcomes.y_pred.push_back(positive ? "1" : "0");
            set.outcomes.y_true.push_back(positive == ((i / 4) % 10 != 0) ? "1" : "0");
            set.outcomes.score.push_back(score + 0.001 * static_cast<double>(i % 7));
        }
        set.columns.push_back(std::move(group));
        return set;
    };
    const auto reference = rows(false);
    const auto cbpe = fit_reference_cbpe(reference);
    RankingOptions options;
    options.metric = "roc_auc";
    options.spec.positive_class = "1";
    options.cbpe = &cbpe.reference;
    auto window = rows(true);
    for (auto& label : window.outcomes.y_true) label = std::nullopt;
    const auto ranking = rank_causes(window, reference, options);
    REQUIRE(ranking.ok());
    REQUIRE_FALSE(ranking.improved);
    CHECK_FALSE(ranking.drop_significant);
    CHECK_FALSE(ranking.single_cause);
    CHECK(ranking.summary.find("has no standard error") != std::string::npos);
}

TEST_CASE("the ranking's work is bounded and says so", "[root_cause]") {
    const auto& data = adult();
    std::vector<std::size_t> reference_rows, window_rows;
    for (std::size_t r = 0; r < 3000; ++r) (r % 2 == 0 ? reference_rows : window_rows).push_back(r);
    std::vector<std::string> reference_predicted, window_predicted;
    for (const auto r : reference_rows) reference_predicted.push_back(data.predicted[r]);
    for (const auto r : window_rows) window_predicted.push_back(other_class(data, data.label[r]));  // all wrong
    RankingOptions options;
    options.spec.positive_class = data.positive;
    options.max_columns = 2;
    const auto ranking = rank_causes(take_rows(data, window_rows, window_predicted),
                                     take_rows(data, reference_rows, reference_predicted), options);
    REQUIRE(ranking.ok());
    CHECK(ranking.columns_left_out == data.columns.size() - 2);
    CHECK_FALSE(ranking.time_budget_reached);
    CHECK(ranking.summary.find("columns not compared (at most 2 columns)") != std::string::npos);
    const auto json = to_json(ranking);
    CHECK(json["columns_left_out"] == data.columns.size() - 2);
    CHECK(json["columns_not_compared"].size() == data.columns.size() - 2);
    CHECK(json["columns_not_compared"][0] == data.columns[2].name);

    // The time budget on a clock that advances a second at every reading:
    // the first column is always compared, the second is read at 1 s (under
    // the 2 s budget), the third at 2 s: it and every later one are left
    // out, by name, in the evidence and the summary, whatever the machine's load.
    options.max_columns = 100;
    auto now = std::chrono::steady_clock::time_point{};
    options.clock = [&now] { return now += std::chrono::seconds(1); };
    options.time_budget_ms = 2000;
    const auto timed = rank_causes(take_rows(data, window_rows, window_predicted),
                                   take_rows(data, reference_rows, reference_predicted), options);
    REQUIRE(timed.ok());
    CHECK(timed.time_budget_reached);
    REQUIRE(timed.columns_not_compared.size() == data.columns.size() - 2);
    for (std::size_t i = 2; i < data.columns.size(); ++i) CHECK(timed.columns_not_compared[i - 2] == data.columns[i].name);
    for (const auto& cause : timed.ranked)
        CHECK((cause.column == data.columns[0].name || cause.column == data.columns[1].name));
    CHECK(timed.summary.find("11 columns not compared (time budget of 2000 ms): marital_status, occupation, "
                             "relationship, native_country, sex and 6 more") != std::string::npos);
    const auto timed_json = to_json(timed);
    CHECK(timed_json["time_budget_reached"] == true);
    CHECK(timed_json["columns_not_compared"][0] == "marital_status");
    // A budget of 0 is no limit: the same clock leaves nothing out.
    options.time_budget_ms = 0;
    const auto unlimited = rank_causes(take_rows(data, window_rows, window_predicted),
                                       take_rows(data, reference_rows, reference_predicted), options);
    CHECK(unlimited.columns_not_compared.empty());
    CHECK_FALSE(unlimited.time_budget_reached);
}
