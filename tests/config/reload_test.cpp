// What a reload may change for a live model (config/reload.h): features may
// come, go and move; a feature's type and the prediction type may not change.
#include <catch2/catch.hpp>

#include <string>

#include <fmt/format.h>

#include "config/loader.h"
#include "config/reload.h"

using namespace mw::config;

namespace {

Config load_models(const std::string& models) {
    const auto result = load_config_text("store: {dsn: x}\nmodels:\n" + models, "test.yaml",
                                         [](const std::string&) { return std::nullopt; });
    for (const auto& error : result.errors) UNSCOPED_INFO(to_string(error));
    REQUIRE(result.ok());
    return *result.config;
}

std::string model(const std::string& name, const std::string& type, const std::string& features) {
    return fmt::format("  - name: {}\n    prediction: {{type: {}}}\n    features: [{}]\n", name, type, features);
}

}  // namespace

TEST_CASE("a reload may add, remove and reorder features") {
    const auto running = load_models(model("m", "binary", "{name: x, type: categorical}, {name: c, type: numeric}"));
    const auto reordered = load_models(model("m", "binary", "{name: c, type: numeric}, {name: x, type: categorical}"));
    const auto changed = load_models(model("m", "binary", "{name: c, type: numeric}, {name: z, type: boolean}"));
    CHECK(refused_reload_changes(running, reordered).empty());
    CHECK(refused_reload_changes(running, changed).empty());
    CHECK(refused_reload_changes(changed, running).empty());
}

TEST_CASE("a reload may not change a feature's type or a model's prediction type") {
    const auto running = load_models(model("m", "binary", "{name: x, type: categorical}, {name: c, type: numeric}") +
                                     model("n", "binary", "{name: a, type: numeric}"));
    const auto next = load_models(model("new", "regression", "{name: x, type: numeric}") +
                                  model("n", "regression", "{name: a, type: numeric}") +
                                  model("m", "binary", "{name: c, type: categorical}, {name: x, type: categorical}"));
    const auto refused = refused_reload_changes(running, next);
    REQUIRE(refused.size() == 2);
    CHECK(refused[0].starts_with("models[1].prediction_type: model \"n\" is binary in the running configuration "
                                 "and regression in the new one; a reload cannot change"));
    CHECK(refused[1].starts_with("models[2].features[0].type: feature \"c\" of model \"m\" is numeric in the "
                                 "running configuration and categorical in the new one; a reload may add, remove "
                                 "and reorder features but not change a type"));
    // A model new to the configuration, or one removed, is free.
    CHECK(refused_reload_changes(next, load_models(model("other", "binary", "{name: x, type: boolean}"))).empty());
}

TEST_CASE("two reloads cannot do what one may not: a model or feature removed and added back is checked as first seen") {
    const auto first = load_models(model("m", "binary", "{name: x, type: categorical}, {name: c, type: numeric}"));
    ReloadHistory history(first);
    // Reload 1 removes the model "m"; reload 2 adds it back as a regression
    // model; reload 1' keeps "m" without "c"; reload 2' adds "c" back as text.
    const auto without_m = load_models(model("other", "binary", "{name: a, type: numeric}"));
    const auto m_changed = load_models(model("m", "regression", "{name: x, type: categorical}"));
    const auto without_c = load_models(model("m", "binary", "{name: x, type: categorical}"));
    const auto c_changed = load_models(model("m", "binary", "{name: x, type: categorical}, {name: c, type: categorical}"));

    REQUIRE(history.refused_changes(first, without_m).empty());
    history.accept(without_m);
    CHECK(refused_reload_changes(without_m, m_changed).empty());  // the running configuration alone lets it through
    const auto refused = history.refused_changes(without_m, m_changed);
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].starts_with("models[0].prediction_type: model \"m\" is binary in a configuration in force "
                                 "earlier since the daemon started and regression in the new one"));

    REQUIRE(history.refused_changes(first, without_c).empty());
    history.accept(without_c);
    CHECK(refused_reload_changes(without_c, c_changed).empty());
    const auto feature = history.refused_changes(without_c, c_changed);
    REQUIRE(feature.size() == 1);
    CHECK(feature[0].starts_with("models[0].features[1].type: feature \"c\" of model \"m\" is numeric"));

    // A change against both the running configuration and the history is
    // named once, in the running configuration's words.
    const auto both = history.refused_changes(first, m_changed);
    REQUIRE(both.size() == 1);
    CHECK(both[0].find("in the running configuration") != std::string::npos);
    // A model first seen in a reload is remembered too ("other", numeric "a").
    CHECK(history.refused_changes(without_c, load_models(model("other", "binary", "{name: a, type: boolean}")))
              .size() == 1);
}

TEST_CASE("a reload may not flip store_raw, nor change a profile-only model's window length") {
    const std::string profile_only = "    store_raw: false\n    window: {duration: 10s}\n";
    const auto running = load_models(model("m", "binary", "{name: c, type: numeric}") + profile_only);
    const auto flipped = load_models(model("m", "binary", "{name: c, type: numeric}") + "    window: {duration: 10s}\n");
    const auto longer =
        load_models(model("m", "binary", "{name: c, type: numeric}") + "    store_raw: false\n    window: {duration: 20s}\n");
    const auto same = load_models(model("m", "binary", "{name: c, type: numeric}, {name: d, type: categorical}") +
                                  profile_only);
    auto refused = refused_reload_changes(running, flipped);
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].starts_with("models[0].store_raw: model \"m\" has store_raw false in the running configuration "
                                 "and true in the new one; a reload cannot change it"));
    CHECK(refused_reload_changes(flipped, running).size() == 1);
    refused = refused_reload_changes(running, longer);
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].starts_with("models[0].window.duration: model \"m\" is profile-only (store_raw: false) and its "
                                 "stored profiles are cut at 10000 ms buckets"));
    // A model that stores rows may change its window; a profile-only one may add features.
    CHECK(refused_reload_changes(flipped, load_models(model("m", "binary", "{name: c, type: numeric}"))).empty());
    CHECK(refused_reload_changes(running, same).empty());
}
