#include "registry/docs.h"

#include <fmt/format.h>

namespace mw::registry {

namespace {

std::string options_cell(const config::ComponentInfo& info) {
    if (info.options == nullptr || info.options().empty()) return "-";
    std::string cell;
    for (const auto& row : info.options()) {
        const std::string rule = config::constraint_text(row);
        cell += fmt::format("{}`{}={}`{}: {}", cell.empty() ? "" : "<br>", row.key, row.default_text,
                            rule.empty() ? "" : " (" + rule + ")", row.help);
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
    section(text, "Performance metrics", "performance.thresholds[].metric", catalog.performance_metrics, false);
    section(text, "Concept-drift detectors", "concept_drift.detector, concept_drift.params",
            catalog.concept_detectors, true);
    section(text, "Anomaly detectors", "anomaly.detector, anomaly.params", catalog.anomaly_detectors, true);
    std::vector<config::ComponentInfo> sinks;
    for (const auto& sink : catalog.alert_sinks) sinks.push_back(sink.info);
    section(text, "Alert sinks", "alerting.receivers[].type", sinks, false);
    section(text, "Report formats", "audits[].formats", catalog.report_formats, false);
    section(text, "Retraining job runners", "retrain.command (exec), retrain.http_url (http_trigger)",
            catalog.retrain_runners, false);
    section(text, "Retraining hooks", "retrain.promote_command, retrain.rollback_command", catalog.retrain_hooks,
            false);
    return text;
}

}  // namespace mw::registry
