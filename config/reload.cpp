#include "config/reload.h"

#include <algorithm>

#include <fmt/format.h>

namespace mw::config {

std::vector<std::string> refused_reload_changes(const Config& running, const Config& next) {
    std::vector<std::string> refused;
    for (std::size_t m = 0; m < next.models.size(); ++m) {
        const ModelSchema& schema = next.models[m].schema;
        const ModelOptions* before = running.find_model(schema.name);
        if (before == nullptr) continue;  // a new model: anything goes
        const ModelSchema& old_schema = before->schema;
        if (old_schema.prediction_type != schema.prediction_type)
            refused.push_back(fmt::format(
                "models[{}].prediction_type: model \"{}\" is {} in the running configuration and {} in the new one; "
                "a reload cannot change a model's prediction type (stored predictions, outcomes and the reference "
                "hold the old one): configure it as a new model",
                m, schema.name, to_string(old_schema.prediction_type), to_string(schema.prediction_type)));
        if (!(old_schema.privacy == schema.privacy))
            refused.push_back(fmt::format(
                "models[{}].privacy: the privacy policy of model \"{}\" (or its key file's content) differs from the "
                "running one; a reload cannot change it: the open window, the reference and predictions awaiting "
                "their outcomes hold values under the running policy and key, and mixing the two would read as "
                "drift and break the outcome join. Restart the daemon to apply it (docs/privacy.md, \"Changing the "
                "policy and rotating the key\")",
                m, schema.name));
        const ModelOptions& model = next.models[m];
        if (before->store_raw != model.store_raw)
            refused.push_back(fmt::format(
                "models[{}].store_raw: model \"{}\" has store_raw {} in the running configuration and {} in the new "
                "one; a reload cannot change it: the reference and the open window are kept as {} and would have "
                "to be judged as the other. Restart the daemon to apply it (the model then takes a new reference; "
                "docs/privacy.md, \"Profile-only models\")",
                m, schema.name, before->store_raw, model.store_raw, before->store_raw ? "rows" : "profiles"));
        else if (!model.store_raw && before->window.duration_ms != model.window.duration_ms)
            refused.push_back(fmt::format(
                "models[{}].window.duration: model \"{}\" is profile-only (store_raw: false) and its stored "
                "profiles are cut at {} ms buckets; a reload cannot change the window length: windows of another "
                "length would not be the merge of whole buckets. Restart the daemon to apply it",
                m, schema.name, before->window.duration_ms));
        for (std::size_t f = 0; f < schema.features.size(); ++f) {
            const FeatureSpec& feature = schema.features[f];
            const int old_index = old_schema.feature_index(feature.name);
            if (old_index < 0) continue;  // added
            const FeatureType old_type = old_schema.features[static_cast<std::size_t>(old_index)].type;
            if (old_type == feature.type) continue;
            refused.push_back(fmt::format(
                "models[{}].features[{}].type: feature \"{}\" of model \"{}\" is {} in the running configuration "
                "and {} in the new one; a reload may add, remove and reorder features but not change a type "
                "(stored rows, the reference and the open window hold the old type): give the feature a new name",
                m, f, feature.name, schema.name, to_string(old_type), to_string(feature.type)));
        }
    }
    return refused;
}

ReloadHistory::ReloadHistory(const Config& initial) { accept(initial); }

std::vector<std::string> ReloadHistory::refused_changes(const Config& running, const Config& next) const {
    auto refused = refused_reload_changes(running, next);
    const auto key_path = [](const std::string& message) { return message.substr(0, message.find(':')); };
    for (auto& earlier : refused_reload_changes(first_seen_, next)) {
        const bool known = std::any_of(refused.begin(), refused.end(), [&](const std::string& message) {
            return key_path(message) == key_path(earlier);
        });
        if (known) continue;
        // The same words, naming what the change is measured against.
        for (const std::string_view running_words : {"the running configuration", "the running one"}) {
            const auto at = earlier.find(running_words);
            if (at != std::string::npos)
                earlier.replace(at, running_words.size(), "a configuration in force earlier since the daemon started");
        }
        refused.push_back(std::move(earlier));
    }
    return refused;
}

void ReloadHistory::accept(const Config& next) {
    for (const auto& model : next.models) {
        auto known = std::find_if(first_seen_.models.begin(), first_seen_.models.end(),
                                  [&](const ModelOptions& seen) { return seen.schema.name == model.schema.name; });
        if (known == first_seen_.models.end()) {
            first_seen_.models.push_back(model);
            continue;
        }
        for (const auto& feature : model.schema.features)
            if (known->schema.feature_index(feature.name) < 0) known->schema.features.push_back(feature);
    }
}

}  // namespace mw::config
