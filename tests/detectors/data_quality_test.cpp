#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "detectors/data_quality.h"
#include "detectors/rejection_reasons.h"

using nlohmann::json;
using namespace mw::quality;

namespace {

mw::ModelSchema schema() {
    mw::ModelSchema s;
    s.name = "credit";
    s.features = {{"age", mw::FeatureType::numeric},
                  {"city", mw::FeatureType::categorical},
                  {"vip", mw::FeatureType::boolean},
                  {"flag", mw::FeatureType::numeric}};
    return s;
}

// Reference-like rows: age 21..69 with 2% null (every 50th row), city
// a/b/c/d/e in shares 50/30/17.5/2/0.5%, vip alternating, flag always 1.
json row(std::size_t i) {
    const std::size_t c = i % 200;
    const char* city = c < 100 ? "a" : c < 160 ? "b" : c < 195 ? "c" : c < 199 ? "d" : "e";
    json r{{"age", i % 50 == 0 ? json(nullptr) : json(static_cast<double>(20 + i % 50))},
           {"city", city},
           {"vip", i % 2 == 0},
           {"flag", 1}};
    return r;
}

std::vector<json> rows(std::size_t n) {
    std::vector<json> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(row(i));
    return out;
}

std::vector<std::string> ids(std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back("p" + std::to_string(i));
    return out;
}

const QualityReference& reference() {
    static const QualityReference fitted = fit_quality_reference(schema(), rows(1000));
    return fitted;
}

QualityReport evaluate(const std::vector<json>& window, const std::vector<std::string>& window_ids = {},
                       const DataQualityOptions& options = {}) {
    return evaluate_quality(reference(), schema(), window, window_ids, options);
}

const QualityCheck& check(const QualityReport& report, const std::string& feature, const std::string& name) {
    const QualityCheck* found = report.find(feature, name);
    INFO(feature << ":" << name);
    REQUIRE(found != nullptr);
    return *found;
}

}  // namespace

TEST_CASE("quality reference: fitted counts, ranges and categories", "[quality]") {
    const auto& ref = reference();
    REQUIRE(ref.rows == 1000);
    const auto* age = ref.find("age");
    REQUIRE(age != nullptr);
    CHECK(age->missing == 20);
    CHECK(age->missing_rate() == Approx(0.02));
    CHECK(age->min == 21);
    CHECK(age->max == 69);
    CHECK(age->distinct_values == 49);
    const auto* city = ref.find("city");
    REQUIRE(city != nullptr);
    CHECK(city->categories.at("a") == 500);
    CHECK(city->categories.at("d") == 20);
    CHECK(city->categories.at("e") == 5);
    CHECK(ref.find("vip")->categories.at("true") == 500);
    CHECK(ref.find("flag")->distinct_values == 1);
}

TEST_CASE("quality reference: quantile range matches numpy.quantile (linear)", "[quality]") {
    mw::ModelSchema s;
    s.features = {{"x", mw::FeatureType::numeric}};
    std::vector<json> values;
    for (int i = 0; i < 1000; ++i) values.push_back(json{{"x", i}});
    const auto ref = fit_quality_reference(s, values, 0.001);
    // numpy.quantile(np.arange(1000), [0.001, 0.999]) = [0.999, 998.001]:
    // position 0.001 * 999 = 0.999 between 0 and 1.
    CHECK(ref.features[0].quantile_low == Approx(0.999).epsilon(1e-12));
    CHECK(ref.features[0].quantile_high == Approx(998.001).epsilon(1e-12));

    // 20 of 1000 values at 0.5 lie inside [min, max] but below q0.001.
    std::vector<json> window;
    for (int i = 0; i < 1000; ++i) window.push_back(json{{"x", i < 20 ? 0.5 : 500.0}});
    DataQualityOptions options;
    const auto min_max = evaluate_quality(ref, s, window, {}, options);
    CHECK_FALSE(min_max.find("x", "out_of_range_share")->triggered);
    CHECK(min_max.find("x", "out_of_range_share")->statistic == 0);
    options.use_quantile_range = true;
    const auto quantile = evaluate_quality(ref, s, window, {}, options);
    CHECK(quantile.find("x", "out_of_range_share")->triggered);
    CHECK(quantile.find("x", "out_of_range_share")->statistic == Approx(0.02));
}

TEST_CASE("quality: a window like the reference triggers nothing", "[quality]") {
    const auto report = evaluate(rows(1000), ids(1000));
    REQUIRE(report.rows == 1000);
    REQUIRE_FALSE(report.checks.empty());
    for (const auto& c : report.checks) {
        INFO(c.subject() << " statistic " << c.statistic);
        // flag is constant in the reference: the one finding an identical window still has.
        CHECK(c.triggered == (c.subject() == "flag:constant_reference"));
    }
    // Every check a feature of its type gets is there.
    for (const char* name : {"missing_rate", "type_error_rate", "out_of_range_share", "constant_feature",
                             "declared_feature_absent"})
        CHECK(report.find("age", name) != nullptr);
    for (const char* name : {"new_category_share", "vanished_categories"}) CHECK(report.find("city", name) != nullptr);
    CHECK(report.find("", "duplicate_ids") != nullptr);
    CHECK(report.metric("missing_rate", "age") == Approx(0.02));
    CHECK(report.metric("rows") == 1000);
}

TEST_CASE("quality: missing rate triggers above reference + 0.05 only", "[quality]") {
    // The reference's rate is 0.02; age null in the first k rows too.
    auto with_missing = [](std::size_t extra) {
        auto window = rows(1000);
        std::size_t added = 0;
        for (auto& r : window)
            if (added < extra && !r["age"].is_null()) {
                r["age"] = nullptr;
                ++added;
            }
        return window;
    };
    const auto below = evaluate(with_missing(40));  // 0.06: +0.04
    CHECK(check(below, "age", "missing_rate").statistic == Approx(0.06));
    CHECK(check(below, "age", "missing_rate").threshold == Approx(0.07));
    CHECK_FALSE(check(below, "age", "missing_rate").triggered);
    const auto above = evaluate(with_missing(60));  // 0.08: +0.06
    CHECK(check(above, "age", "missing_rate").triggered);
    CHECK_FALSE(check(above, "city", "missing_rate").triggered);
    // An absent key is missing like null.
    auto window = rows(1000);
    for (std::size_t i = 0; i < 100; ++i) window[i].erase("city");
    CHECK(check(evaluate(window), "city", "missing_rate").triggered);
}

TEST_CASE("quality: type errors are counted per declared type", "[quality]") {
    auto window = rows(1000);
    CHECK_FALSE(check(evaluate(window), "age", "type_error_rate").triggered);
    window[1]["age"] = "forty";          // string in a numeric feature
    window[2]["vip"] = "yes";            // string in a boolean feature
    window[3]["city"] = true;            // bool in a categorical feature
    window[4]["city"] = 2.5;             // non-integral number in a categorical feature
    window[5]["city"] = json::object();  // object
    const auto report = evaluate(window);
    const auto& age = check(report, "age", "type_error_rate");
    CHECK(age.triggered);
    CHECK(age.statistic == Approx(0.001));
    CHECK(age.evidence["examples"][0] == "forty");
    CHECK(check(report, "vip", "type_error_rate").triggered);
    CHECK(check(report, "city", "type_error_rate").statistic == Approx(0.003));
    CHECK_FALSE(check(report, "flag", "type_error_rate").triggered);
    // A type error is neither missing nor a valid value.
    CHECK(report.metric("missing_rate", "age") == Approx(0.02));

    // Categorical integers read as their decimal text: 3 and 3.0 are "3".
    mw::ModelSchema s;
    s.features = {{"code", mw::FeatureType::categorical}};
    std::vector<json> reference_rows(200, json{{"code", "3"}});
    reference_rows.resize(400, json{{"code", "4"}});
    const auto ref = fit_quality_reference(s, reference_rows);
    std::vector<json> window_rows(100, json{{"code", 3}});
    window_rows.resize(200, json{{"code", 4.0}});
    const auto codes = evaluate_quality(ref, s, window_rows, {}, {});
    CHECK_FALSE(codes.find("code", "type_error_rate")->triggered);
    CHECK(codes.find("code", "new_category_share")->statistic == 0);
}

TEST_CASE("quality: out-of-range share triggers above 1%", "[quality]") {
    auto with_outside = [](std::size_t count) {
        auto window = rows(1000);
        std::size_t changed = 0;
        for (auto& r : window)
            if (changed < count && !r["age"].is_null()) {
                r["age"] = changed % 2 == 0 ? 150.0 : 3.0;
                ++changed;
            }
        return window;
    };
    // 980 valid ages: 9 outside is 0.92%, 10 outside is 1.02%.
    const auto at = evaluate(with_outside(9));
    CHECK(check(at, "age", "out_of_range_share").statistic == Approx(9.0 / 980));
    CHECK_FALSE(check(at, "age", "out_of_range_share").triggered);
    const auto above = evaluate(with_outside(10));
    const auto& c = check(above, "age", "out_of_range_share");
    CHECK(c.triggered);
    CHECK(c.evidence["above"] == 5);
    CHECK(c.evidence["below"] == 5);
    CHECK(c.evidence["low"] == 21.0);
    CHECK(c.evidence["high"] == 69.0);
}

TEST_CASE("quality: new categories are reported by name above 1%", "[quality]") {
    auto window = rows(1000);
    for (std::size_t i = 0; i < 10; ++i) window[i]["city"] = "zurich";
    const auto at = evaluate(window);  // 10 / 1000: not above 1%
    CHECK_FALSE(check(at, "city", "new_category_share").triggered);
    CHECK(check(at, "city", "new_category_share").evidence["categories"][0]["value"] == "zurich");

    window[10]["city"] = "oslo";
    window[11]["city"] = "oslo";
    const auto above = evaluate(window);
    const auto& c = check(above, "city", "new_category_share");
    CHECK(c.triggered);
    CHECK(c.statistic == Approx(0.012));
    REQUIRE(c.evidence["categories"].size() == 2);
    CHECK(c.evidence["categories"][0] == json{{"value", "zurich"}, {"count", 10}});
    CHECK(c.evidence["categories"][1] == json{{"value", "oslo"}, {"count", 2}});
    CHECK(above.metric("new_categories", "city") == 2);

    // The names listed are capped; the count covers them all.
    auto many = rows(1000);
    for (std::size_t i = 0; i < 30; ++i) many[i]["city"] = "new" + std::to_string(i);
    const auto many_report = evaluate(many);
    const auto& capped = check(many_report, "city", "new_category_share");
    CHECK(capped.evidence["categories"].size() == 20);
    CHECK(capped.evidence["distinct"] == 30);
}

TEST_CASE("quality: vanished categories (reference share >= 1%, expected in the window)", "[quality]") {
    auto replace_city = [](std::vector<json> window, const std::string& from) {
        for (auto& r : window)
            if (r["city"] == from) r["city"] = "a";
        return window;
    };
    // "d" had 2% of the reference: gone from 1000 rows (20 expected) it vanished.
    const auto gone = evaluate(replace_city(rows(1000), "d"));
    const auto& c = check(gone, "city", "vanished_categories");
    CHECK(c.triggered);
    CHECK(c.statistic == 1);
    CHECK(c.evidence["categories"][0]["value"] == "d");
    CHECK(c.evidence["categories"][0]["reference_share"] == Approx(0.02));
    // "e" had 0.5%: its absence is not reported.
    CHECK_FALSE(check(evaluate(replace_city(rows(1000), "e")), "city", "vanished_categories").triggered);
    // Every 10th row: 100 rows with a, b, c in their reference shares and no
    // "d", which is expected twice there: absent by chance too often to report.
    std::vector<json> tenth;
    for (std::size_t i = 0; i < 1000; i += 10) tenth.push_back(row(i));
    CHECK_FALSE(check(evaluate(tenth), "city", "vanished_categories").triggered);
    DataQualityOptions any_size;
    any_size.vanished_min_expected_count = 0;
    const auto small_report = evaluate(tenth, {}, any_size);
    const auto& small = check(small_report, "city", "vanished_categories");
    CHECK(small.triggered);
    CHECK(small.statistic == 1);
}

TEST_CASE("quality: a feature that became constant", "[quality]") {
    auto window = rows(500);
    for (auto& r : window) {
        r["age"] = 42;
        r["vip"] = true;
    }
    const auto report = evaluate(window);
    CHECK(check(report, "age", "constant_feature").triggered);
    CHECK(check(report, "age", "constant_feature").evidence["value"] == 42.0);
    CHECK(check(report, "vip", "constant_feature").triggered);
    CHECK_FALSE(check(report, "city", "constant_feature").triggered);
    // flag was constant in the reference already: that is its own finding.
    CHECK_FALSE(check(report, "flag", "constant_feature").triggered);
    CHECK(check(report, "flag", "constant_reference").triggered);
    CHECK(check(report, "flag", "constant_reference").evidence["value"] == 1.0);
    CHECK_FALSE(check(report, "age", "constant_reference").triggered);
    CHECK_FALSE(check(report, "city", "constant_reference").triggered);
    DataQualityOptions off;
    off.check_constant = false;
    CHECK(evaluate(window, {}, off).find("age", "constant_feature") == nullptr);
    CHECK(evaluate(window, {}, off).find("flag", "constant_reference") == nullptr);
}

TEST_CASE("quality: schema violations", "[quality]") {
    auto window = rows(1000);
    for (std::size_t i = 0; i < 3; ++i) window[i]["agee"] = 30;
    window[7]["zip"] = "8000";
    for (auto& r : window) r["vip"] = nullptr;
    const auto report = evaluate(window);
    const auto& agee = check(report, "agee", "undeclared_feature");
    CHECK(agee.triggered);
    CHECK(agee.statistic == 3);
    CHECK(agee.subject() == "agee:undeclared_feature");
    CHECK(check(report, "zip", "undeclared_feature").statistic == 1);
    CHECK(report.metric("undeclared_features") == 2);
    CHECK(report.metric("undeclared_feature_rows") == 4);
    CHECK(check(report, "vip", "declared_feature_absent").triggered);
    CHECK_FALSE(check(report, "age", "declared_feature_absent").triggered);

    const auto clean = evaluate(rows(1000));
    CHECK(clean.metric("undeclared_features") == 0);
    CHECK_FALSE(check(clean, "vip", "declared_feature_absent").triggered);

    // A row that is not an object is counted, and misses every feature.
    auto broken = rows(1000);
    broken[0] = json::array({1, 2});
    const auto malformed = evaluate(broken);
    CHECK(check(malformed, "", "malformed_rows").triggered);
    CHECK(malformed.metric("missing_rate", "city") == Approx(0.001));
}

TEST_CASE("quality: duplicate ids within the window", "[quality]") {
    auto window_ids = ids(1000);
    CHECK_FALSE(check(evaluate(rows(1000), window_ids), "", "duplicate_ids").triggered);
    window_ids[5] = "p1";
    window_ids[6] = "p1";
    window_ids[9] = "p8";
    const auto report = evaluate(rows(1000), window_ids);
    const auto& c = check(report, "", "duplicate_ids");
    CHECK(c.triggered);
    CHECK(c.statistic == 3);
    CHECK(c.evidence["ids"][0] == json{{"value", "p1"}, {"count", 3}});
    CHECK(c.evidence["ids"][1] == json{{"value", "p8"}, {"count", 2}});
    // Without ids the check is skipped.
    CHECK(evaluate(rows(1000)).find("", "duplicate_ids") == nullptr);
}

TEST_CASE("quality: an empty window gives no checks", "[quality]") {
    const auto report = evaluate({});
    CHECK(report.rows == 0);
    CHECK(report.checks.empty());
}

TEST_CASE("quality reference: JSON round trip", "[quality]") {
    const auto& ref = reference();
    const std::string text = to_json(ref);
    const auto parsed = parse_quality_reference(text);
    REQUIRE(parsed.ok());
    const auto& back = *parsed.reference;
    CHECK(to_json(back) == text);
    REQUIRE(back.features.size() == ref.features.size());
    for (std::size_t i = 0; i < ref.features.size(); ++i) {
        const auto& a = ref.features[i];
        const auto& b = back.features[i];
        CHECK(a.name == b.name);
        CHECK(a.type == b.type);
        CHECK(a.rows == b.rows);
        CHECK(a.missing == b.missing);
        CHECK(a.distinct_values == b.distinct_values);
        CHECK(a.min == b.min);
        CHECK(a.max == b.max);
        CHECK(a.quantile_low == b.quantile_low);
        CHECK(a.quantile_high == b.quantile_high);
        CHECK(a.categories == b.categories);
    }
    // A stored reference evaluates exactly as the fitted one.
    auto window = rows(1000);
    window[0]["city"] = "zurich";
    const auto direct = evaluate(window);
    const auto stored = evaluate_quality(back, schema(), window, {}, {});
    REQUIRE(direct.checks.size() == stored.checks.size());
    for (std::size_t i = 0; i < direct.checks.size(); ++i) {
        CHECK(direct.checks[i].subject() == stored.checks[i].subject());
        CHECK(direct.checks[i].statistic == stored.checks[i].statistic);
        CHECK(direct.checks[i].evidence == stored.checks[i].evidence);
    }
}

TEST_CASE("quality reference: a damaged text names the field at fault", "[quality]") {
    CHECK(parse_quality_reference("{").error == "not valid JSON");
    auto document = json::parse(to_json(reference()));
    auto damaged = document;
    damaged.erase("rows");
    CHECK(parse_quality_reference(damaged.dump()).error == "rows: missing");
    damaged = document;
    damaged["features"][1]["categories"]["a"] = 1;
    CHECK(parse_quality_reference(damaged.dump()).error.starts_with("features[1].categories: the counts add up to"));
    damaged = document;
    damaged["features"][0]["type"] = "text";
    CHECK(parse_quality_reference(damaged.dump()).error ==
          "features[0].type: \"text\" is not numeric, categorical or boolean");
    damaged = document;
    damaged["features"][0]["missing"] = -1;
    CHECK(parse_quality_reference(damaged.dump()).error.starts_with("features[0].missing: expected a non-negative"));
    damaged = document;
    damaged["version"] = 2;
    CHECK_FALSE(parse_quality_reference(damaged.dump()).ok());
}

TEST_CASE("quality: findings carry the check, statistic and evidence", "[quality]") {
    auto window = rows(1000);
    for (std::size_t i = 0; i < 100; ++i) window[i * 10 + 1]["age"] = nullptr;
    const auto findings = to_findings(evaluate(window), "credit", 100, 200);
    const mw::Finding* missing = nullptr;
    for (const auto& f : findings) {
        CHECK(f.kind == "data_quality");
        CHECK(f.model == "credit");
        CHECK(f.window_start_us == 100);
        CHECK(f.window_end_us == 200);
        CHECK(f.severity == (f.triggered ? mw::Severity::warning : mw::Severity::info));
        CHECK(json::parse(f.evidence_json).is_object());
        if (f.subject == "age:missing_rate") missing = &f;
    }
    REQUIRE(missing != nullptr);
    CHECK(missing->method == "missing_rate");
    CHECK(missing->triggered);
    CHECK(missing->statistic == Approx(0.12));
    CHECK(missing->threshold == Approx(0.07));
}

TEST_CASE("rejection reasons: each parser message kind has its code", "[quality][rejections]") {
    // Messages as collectors/ingest_parser.cpp and daemon/api.cpp write them.
    const std::vector<std::pair<mw::Rejection, RejectionReason>> cases = {
        {{0, "", "line 3: malformed JSON: TAPE_ERROR: The JSON document has an improper structure"},
         RejectionReason::malformed_json},
        {{0, "", "line 2: nests deeper than 32 levels of arrays and objects"}, RejectionReason::malformed_json},
        {{0, "", "a record must be a JSON object, got the number 3"}, RejectionReason::not_an_object},
        {{0, "id", "required: every record needs an id"}, RejectionReason::missing_field},
        {{0, "prediction", "required"}, RejectionReason::missing_field},
        {{0, "featurs", "unknown field \"featurs\"; a prediction has id, ts, model_version, features, prediction, "
                        "score and attributes"},
         RejectionReason::unknown_field},
        {{0, "model", "the model comes from the URL (/v1/models/{model}/...), not from the body"},
         RejectionReason::unknown_field},
        {{0, "id", "the key occurs twice in the record"}, RejectionReason::duplicate_key},
        {{0, "features.age", "the feature occurs twice in the record"}, RejectionReason::duplicate_key},
        {{0, "features.age", "numeric feature: expected a finite number or null, got the string \"x\""},
         RejectionReason::wrong_type},
        {{0, "prediction", "a binary model's label is a class (a string, bool or integer), got the number 0.5"},
         RejectionReason::wrong_type},
        {{0, "id", "expected a string or an integer (no fraction or exponent), got the number 1.5"},
         RejectionReason::wrong_type},
        {{0, "id", "id is empty"}, RejectionReason::empty_value},
        {{0, "features", "a feature name is empty"}, RejectionReason::empty_value},
        {{0, "prediction", "the label is empty"}, RejectionReason::empty_value},
        {{0, "id", "id is 300 bytes, more than the limit of 256"}, RejectionReason::too_large},
        {{0, "features", "more than the limit of 4096 features"}, RejectionReason::too_large},
        {{0, "id", "id contains control characters"}, RejectionReason::control_characters},
        {{0, "ts", "\"yesterday\" is not an RFC 3339 timestamp: expected a valid date and time with seconds and Z or "
                   "an offset, e.g. \"2024-05-01T12:00:00.5+02:00\""},
         RejectionReason::invalid_timestamp},
        {{0, "ts", "\"9999-01-01T00:00:00Z\" is outside the accepted range 1970-01-01T00:00:00Z to "
                   "2262-04-11T23:47:16Z"},
         RejectionReason::invalid_timestamp},
        {{0, "ts", "ts is 7200 s ahead of the server clock (at most 3600 s allowed)"},
         RejectionReason::future_timestamp},
        {{0, "prediction", "\"maybe\" is not one of the model's classes (no, yes)"},
         RejectionReason::label_not_in_classes},
        {{0, "score", "expected a probability in [0, 1], got the number 1.5"}, RejectionReason::invalid_score},
        {{0, "value", "give label or value, not both"}, RejectionReason::conflicting_fields},
        {{0, "value", "a binary model's outcome is a class: send it as label"}, RejectionReason::conflicting_fields},
        {{0, "id", "duplicate id within request, first at index 0"}, RejectionReason::duplicate_id},
        {{0, "id", "the id was acknowledged before with another payload; the first one is kept, this record is not "
                   "stored"},
         RejectionReason::id_conflict},
        {{0, "features.city", "the string contains a NUL character (U+0000), which the store cannot hold"},
         RejectionReason::control_characters},
        {{0, "", "unknown model 'credit'"}, RejectionReason::unknown_model},
        {{0, "", "something nobody wrote yet"}, RejectionReason::other},
    };
    RejectionCounts counts;
    for (const auto& [rejection, expected] : cases) {
        INFO(rejection.reason);
        CHECK(to_string(classify_rejection(rejection)) == std::string(to_string(expected)));
        counts.add(rejection);
    }
    CHECK(counts.total() == cases.size());
    CHECK(counts.count(RejectionReason::wrong_type) == 3);
    CHECK(counts.count(RejectionReason::missing_field) == 2);
    counts.add(RejectionReason::duplicate_id, 5);
    CHECK(counts.count(RejectionReason::duplicate_id) == 6);
    // Every code is covered by some message above and reads back.
    for (std::size_t i = 0; i < rejection_reason_count; ++i) {
        const auto reason = static_cast<RejectionReason>(i);
        CHECK(counts.counts()[i] > 0);
        CHECK(parse_rejection_reason(to_string(reason)) == reason);
    }
    CHECK_FALSE(parse_rejection_reason("nonsense").has_value());
}

TEST_CASE("quality reference: a range quantile outside [0, 0.5] is clamped", "[quality]") {
    mw::ModelSchema s;
    s.features = {{"x", mw::FeatureType::numeric}};
    std::vector<json> values;
    for (int i = 0; i < 11; ++i) values.push_back(json{{"x", i}});
    const auto low = fit_quality_reference(s, values, -1.0);
    CHECK(low.range_quantile == 0);
    CHECK(low.features[0].quantile_low == 0);
    CHECK(low.features[0].quantile_high == 10);
    const auto high = fit_quality_reference(s, values, 2.0);
    CHECK(high.range_quantile == 0.5);
    CHECK(high.features[0].quantile_low == 5);
    CHECK(high.features[0].quantile_high == 5);
}
