#include "registry/docs.h"

#include <fmt/format.h>

namespace mw::registry {

namespace {

std::string options_cell(const config::ComponentInfo& info) {
    if (info.options == nullptr || info.options().empty()) return "-";
    std::string cell;
    for (const auto& row : info.options()) {
        // A required key or a list has no default to show; what it must hold is said in the parentheses.
        std::vector<std::string> notes;
        if (row.required) notes.emplace_back("required");
        if (config::is_list(row.kind) || row.kind == config::ValueKind::url ||
            row.kind == config::ValueKind::environment)
            notes.emplace_back(config::to_string(row.kind));
        if (const std::string rule = config::constraint_text(row); !rule.empty()) notes.push_back(rule);
        const bool shows_default = !row.required && !config::is_list(row.kind);
        cell += fmt::format("{}`{}{}`{}: {}", cell.empty() ? "" : "<br>", row.key,
                            shows_default ? "=" + std::string(row.default_text) : "",
                            notes.empty() ? "" : fmt::format(" ({})", fmt::join(notes, ", ")), row.help);
    }
    return cell;
}

void section(std::string& text, std::string_view title, std::string_view key,
             const std::vector<config::ComponentInfo>& infos, bool with_options) {
    text += fmt::format("### {}\n\nConfigured as `{}`.\n\n", title, key);
    text += with_options ? "| name | what | options (default, rule) |\n|---|---|---|\n" : "| name | what |\n|---|---|\n";
    for (const auto& info : infos) {
        text += fmt::format("| `{}` | {} |", info.name, info.summary);
        if (with_options) text += fmt::format(" {} |", options_cell(info));
        text += "\n";
    }
    text += "\n";
}

}  // namespace

std::string component_tables_markdown(const config::Catalog& catalog) {
    std::string text;
    section(text, "Drift methods", "drift.method, drift.features[].method", catalog.drift_methods, false);
    section(text, "Drift modes", "drift.mode, modelwatch drift --mode", catalog.drift_modes, false);
    section(text, "Multiple-testing corrections", "drift.correction, modelwatch drift --correction",
            catalog.corrections, false);
    section(text, "Performance metrics", "performance.thresholds[].metric", catalog.performance_metrics, false);
    section(text, "Concept-drift detectors", "concept_drift.detector, concept_drift.params",
            catalog.concept_detectors, true);
    section(text, "Anomaly detectors", "anomaly.detector, anomaly.params", catalog.anomaly_detectors, true);
    section(text, "Alert sinks", "alerting.receivers[].type, with the sink's keys beside name, type, timeout and "
            "max_per_minute", catalog.alert_sinks, true);
    section(text, "Report formats", "audits[].formats", catalog.report_formats, false);
    section(text, "Retraining job runners",
            "retrain.runner (default: the runner whose required key is given), with the runner's keys beside the "
            "other retrain keys",
            catalog.retrain_runners, true);
    section(text, "Retraining hooks", "each hook's key beside the other retrain keys", catalog.retrain_hooks, true);
    return text;
}

}  // namespace mw::registry
