// A profile-only model's window judged from profiles (daemon/profile_detectors.h)
// as the store writer builds them (store/profile_writer.h): segment drift
// planted in one segment is found from per-segment profiles, an attribute
// past drift.max_segment_values is listed as not computed; robust mode's
// noise gate from the reference profile is close to the raw path's, and a
// reference read back from PostgreSQL by a restarted daemon (a new fit,
// new gates) judges a window exactly as before.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include "daemon/detector_options.h"
#include "daemon/metrics.h"
#include "daemon/profile_detectors.h"
#include "detectors/feature_drift.h"
#include "store/migrations.h"
#include "store/monitor_store.h"
#include "store/profile_store.h"
#include "store/profile_writer.h"
#include "tests/support/test_database.h"

using namespace mw;

namespace {

config::ModelOptions segmented_profile_model(std::uint32_t max_segment_values = 32) {
    config::ModelOptions model;
    model.schema.name = "segmented";
    model.schema.features = {{"age", FeatureType::numeric}, {"city", FeatureType::categorical}};
    model.schema.attributes = {"sex"};
    model.store_raw = false;
    model.window.duration_ms = 3'600'000;
    model.drift.segments = {"sex"};
    model.drift.max_segment_values = max_segment_values;
    model.drift.multivariate = false;
    model.drift.noise_resamples = 20;
    return model;
}

// `rows` rows, sex alternating M and F, as the store writer profiles them
// (one chunk of one bucket); F's ages + `female_shift`.
stats::ProfileSet profiled_rows(const config::ModelOptions& model, int rows, double female_shift, int offset = 0) {
    std::vector<store::HeldFeatures> held;
    for (int i = offset; i < offset + rows; ++i) {
        const bool female = i % 2 == 1;
        const double age = 20 + (i * 37) % 41 + (female ? female_shift : 0.0);
        held.push_back({.model = model.schema.name,
                        .id = fmt::format("r{}", i),
                        .ts_us = 1000 + i,
                        .received_us = 5000,
                        .features_json = fmt::format(R"({{"age":{},"city":"c{}"}})", age, i % 5),
                        .attributes_json = fmt::format(R"({{"sex":"{}"}})", female ? "F" : "M")});
    }
    std::vector<const store::HeldFeatures*> inserted;
    for (const auto& row : held) inserted.push_back(&row);
    const auto chunks = store::build_profile_chunks(inserted, store::profile_plan({model}));
    REQUIRE(chunks.chunks.size() == 1);
    auto decoded = stats::ProfileSet::deserialize(chunks.chunks[0].profiles);
    REQUIRE(decoded.error.empty());
    return std::move(decoded.value);
}

struct ProfileJudgement {
    std::vector<Finding> findings;
    const Finding* find(const std::string& kind, const std::string& subject) const {
        for (const auto& finding : findings)
            if (finding.kind == kind && finding.subject == subject) return &finding;
        return nullptr;
    }
    nlohmann::json evidence(const std::string& kind, const std::string& subject) const {
        const Finding* finding = find(kind, subject);
        REQUIRE(finding != nullptr);
        return nlohmann::json::parse(finding->evidence_json);
    }
};

ProfileJudgement judge_profiles(const stats::ProfileSet& reference, const stats::ProfileSet& window,
                                const config::ModelOptions& model, drift::ProfileNoiseGates& gates) {
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics(registry);
    daemon::WindowVerdicts verdicts;
    daemon::detect_profile_drift(reference, window, window.rows(), model, gates, {1000, 2000}, metrics, verdicts);
    return {std::move(verdicts.findings)};
}

}  // namespace

TEST_CASE("segment drift of a profile-only model is found from per-segment profiles", "[profile_detectors]") {
    const auto model = segmented_profile_model();
    const auto reference = profiled_rows(model, 800, 0);
    const auto window = profiled_rows(model, 600, 20, 800);
    drift::ProfileNoiseGates gates;
    const auto judged = judge_profiles(reference, window, model, gates);

    // Each segment judged against the same segment of the reference: F's
    // age drifted, M's did not, each said to come from profiles.
    const Finding* female_age = judged.find("feature_drift", "age[sex=F]");
    const Finding* male_age = judged.find("feature_drift", "age[sex=M]");
    REQUIRE(female_age != nullptr);
    REQUIRE(male_age != nullptr);
    CHECK(female_age->triggered);
    CHECK_FALSE(male_age->triggered);
    const auto female_evidence = judged.evidence("feature_drift", "age[sex=F]");
    CHECK(female_evidence["from_profiles"] == true);
    CHECK(female_evidence["reference_rows"] == 400);
    CHECK(female_evidence["current_rows"] == 300);
    CHECK(female_evidence.contains("undecided"));
    REQUIRE(judged.find("feature_drift", "city[sex=F]") != nullptr);
    CHECK_FALSE(judged.find("feature_drift", "city[sex=F]")->triggered);
    // The segment verdicts (segment_drift, detectors/segment_gaps.h): F's
    // drifted share is 1 of 2 features, M's 0.
    const auto female = judged.evidence("segment_drift", "sex=F");
    const auto male = judged.evidence("segment_drift", "sex=M");
    CHECK(female["segment_drift"] == true);
    CHECK(male["segment_drift"] == false);
    CHECK(female["from_profiles"] == true);
    CHECK(female.contains("undecided_features"));
    const auto dataset = judged.evidence("dataset_drift", "");
    for (const auto& entry : dataset["not_computed"]) CHECK(entry["subject"] != "segment drift of sex");

    // Past the cap, the window's chunk keeps no value of sex: not computed,
    // and said so with the attribute and the cap.
    const auto capped_model = segmented_profile_model(1);
    const auto capped_window = profiled_rows(capped_model, 600, 20, 800);
    REQUIRE(capped_window.find_segments("sex")->state == stats::SegmentProfiles::State::overflowed);
    const auto capped = judge_profiles(reference, capped_window, capped_model, gates);
    CHECK(capped.find("feature_drift", "age[sex=F]") == nullptr);
    CHECK(capped.find("segment_drift", "sex=F") == nullptr);
    bool named = false;
    // Held by name: a range-for over a member of a temporary reads it destroyed.
    const auto capped_dataset = capped.evidence("dataset_drift", "");
    for (const auto& entry : capped_dataset["not_computed"])
        if (entry["subject"] == "segment drift of sex") {
            named = true;
            CHECK(entry["reason"].get<std::string>().find("drift.max_segment_values = 1") != std::string::npos);
        }
    CHECK(named);
}

TEST_CASE("the noise gate from a reference profile is the raw path's within the sketch, and a restarted daemon "
          "judges the same",
          "[profile_detectors]") {
    auto model = segmented_profile_model();
    model.drift.segments.clear();
    const auto reference = profiled_rows(model, 3000, 0);
    const auto window = profiled_rows(model, 500, 2, 3000);

    // The raw path's gate on the same 3,000 ages (compute_noise_baseline on
    // the fitted raw values) against the profile's (the KLL's quantiles).
    const auto options = daemon::drift_options(model.drift);
    drift::ColumnData ages;
    ages.name = "age";
    for (int i = 0; i < 3000; ++i) ages.numbers.push_back(20 + (i * 37) % 41);
    const auto raw = drift::compute_noise_baseline(drift::fit_feature(ages, {}, options), 500, 200,
                                                   options.noise_sd_multiplier, options.seed);
    const auto from_profile =
        drift::compute_noise_baseline(drift::profile_noise_reference("age", *reference.find_numeric("age")), 500, 200,
                                      options.noise_sd_multiplier, options.seed);
    INFO("raw limit " << raw.limit << ", from the profile " << from_profile.limit);
    CHECK(from_profile.limit == Approx(raw.limit).epsilon(0.15));
    CHECK(from_profile.mean == Approx(raw.mean).epsilon(0.15));

    // A daemon takes the reference, stores it and judges a window; after a
    // restart it reads the reference back, builds its gates anew and judges
    // the same window: the same findings, noise limits included.
    store::testing::TestDatabase database;
    store::migrate(database.connection());
    store::NewReference stored;
    stored.model = model.schema.name;
    stored.source = "first_n";
    stored.rows = static_cast<std::int64_t>(reference.rows());
    stored.sample_json = "{}";
    stored.profiles = reference.serialize();
    const auto id = store::insert_reference(database.connection(), stored);
    drift::ProfileNoiseGates before_gates;
    const auto before = judge_profiles(reference, window, model, before_gates);
    const auto loaded = store::load_reference_profile(database.connection(), id);
    REQUIRE(loaded);
    REQUIRE(loaded->error.empty());
    drift::ProfileNoiseGates after_gates;
    const auto after = judge_profiles(loaded->profiles, window, model, after_gates);
    REQUIRE(before.findings.size() == after.findings.size());
    for (std::size_t i = 0; i < before.findings.size(); ++i) {
        INFO(before.findings[i].kind << " " << before.findings[i].subject);
        CHECK(before.findings[i].subject == after.findings[i].subject);
        CHECK(before.findings[i].triggered == after.findings[i].triggered);
        CHECK(before.findings[i].evidence_json == after.findings[i].evidence_json);
    }
    const auto age = before.evidence("feature_drift", "age");
    REQUIRE(age.contains("noise_limit"));
    CHECK(age["noise_limit"].get<double>() > 0);
    CHECK(age["basis"].get<std::string>().find("noise gate from the reference profile") != std::string::npos);
    CHECK(before.evidence("feature_drift", "city").contains("noise_limit"));
}
