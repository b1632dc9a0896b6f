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
