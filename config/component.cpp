#include "config/component.h"

#include <fmt/format.h>

namespace mw::config {

std::string unknown_component(std::string_view what, std::string_view name, std::span<const std::string_view> known) {
    std::string list;
    for (const auto candidate : known) list += (list.empty() ? "" : ", ") + std::string(candidate);
    const auto suggestion = suggest_key(name, known);
    return fmt::format("unknown {} \"{}\"{}; known: {}", what, name,
                       suggestion.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", suggestion), list);
}

SettingsParse configure(const ComponentInfo& component, std::span<const std::string> assignments) {
    SettingsParse parsed = parse_settings(component.options ? component.options() : std::span<const SettingRow>(), assignments);
    if (parsed.ok() && component.check != nullptr) {
        std::string problem = component.check(parsed.settings);
        if (!problem.empty()) parsed.errors.push_back(std::move(problem));
    }
    for (auto& error : parsed.errors) error = fmt::format("{}: {}", component.name, error);
    return parsed;
}

std::string constraint_text(const SettingRow& row) {
    if (row.kind != ValueKind::choice) return range_text(spec_of(row));
    std::string text = "one of ";
    for (std::size_t i = 0; i < row.choices.size(); ++i) text += (i ? ", " : "") + std::string(row.choices[i].text);
    return text;
}

std::string options_help(const ComponentInfo& component, std::string_view indent) {
    std::string text;
    if (component.options == nullptr) return text;
    for (const auto& row : component.options())
        text += fmt::format("{}{:<24} {:<8} default {:<7} {:<22} {}\n", indent, row.key, to_string(row.kind),
                            row.default_text, constraint_text(row), row.help);
    return text;
}

std::string joined(const std::vector<std::string>& errors) {
    std::string text;
    for (const auto& error : errors) text += (text.empty() ? "" : "; ") + error;
    return text;
}

}  // namespace mw::config
