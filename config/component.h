// What every registry entry says about itself, whatever it builds (STYLE.md
// sections 1 and 2): a name, a one-line description and its option table in
// the configuration's own table type. The registries live next to the code
// they register (detectors/concept_registry.cpp, alerts/sink_registry.cpp,
// ...); each entry holds a ComponentInfo and a factory. The config loader
// sees the registries only through this type (config/catalog.h), so config/
// stays below the stages whose components it validates.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/option_table.h"

namespace mw::config {

struct ComponentInfo {
    std::string_view name;
    std::string_view summary;  // one line, for --help, the docs and the reference file
    // The option table; a function so that registries in other translation
    // units can be constant-initialised. Null: no options.
    std::span<const SettingRow> (*options)() = nullptr;
    // Rules between options that one row cannot express; "" when fine. May be null.
    std::string (*check)(const Settings&) = nullptr;
};

// "a, b, c", in registry order.
template <typename Entry>
std::string component_names(std::span<const Entry> entries) {
    std::string text;
    for (const auto& entry : entries) text += (text.empty() ? "" : ", ") + std::string(entry.info.name);
    return text;
}

template <typename Entry>
const Entry* find_component(std::span<const Entry> entries, std::string_view name) {
    for (const auto& entry : entries)
        if (entry.info.name == name) return &entry;
    return nullptr;
}

// The one wording of an unknown name everywhere (config, CLI):
// "unknown drift method \"x\"; known: auto, ks, ..." plus a suggestion within
// edit distance 2.
std::string unknown_component(std::string_view what, std::string_view name, std::span<const std::string_view> known);

template <typename Entry>
std::string unknown_component(std::string_view what, std::string_view name, std::span<const Entry> entries) {
    std::vector<std::string_view> known;
    for (const auto& entry : entries) known.push_back(entry.info.name);
    return unknown_component(what, name, std::span<const std::string_view>(known));
}

// Validates "key=value" assignments against a component's table and its
// check; every error is prefixed with the component's name.
SettingsParse configure(const ComponentInfo& component, std::span<const std::string> assignments);

// The rule a row's value must follow, as people read it: "0 to 1",
// "(0, 1)", "one of up, down, both"; empty when there is none.
std::string constraint_text(const SettingRow& row);

// The option rows of a component for a --help text, one per line under `indent`:
// "key  kind  default D  constraint  help".
std::string options_help(const ComponentInfo& component, std::string_view indent);

// The errors of a SettingsParse in one line, "; "-separated.
std::string joined(const std::vector<std::string>& errors);

}  // namespace mw::config
