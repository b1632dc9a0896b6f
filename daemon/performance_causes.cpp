#include "daemon/performance_causes.h"

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "daemon/detector_options.h"
#include "daemon/window_table.h"
#include "detectors/root_cause.h"

namespace mw::daemon {
namespace {

bool whole_window_drop(const Finding& finding) {
    return finding.kind == "performance" && finding.triggered && finding.subject.find('[') == std::string::npos;
}

rootcause::FeatureDrift drift_verdict(const Finding& finding) {
    return {.feature = finding.subject,
            .method = finding.method,
            .statistic = finding.statistic,
            .p_value = finding.p_value,
            .drifted = finding.triggered};
}

std::vector<rootcause::FeatureDrift> drift_verdicts(const std::vector<Finding>& findings) {
    std::vector<rootcause::FeatureDrift> verdicts;
    for (const auto& finding : findings)
        if (finding.kind == "feature_drift" && finding.subject.find('[') == std::string::npos)
            verdicts.push_back(drift_verdict(finding));
    return verdicts;
}

}  // namespace

void explain_performance_drops(pqxx::connection_base& connection, const ReferenceFit& fitted,
                               const config::ModelOptions& options, const std::vector<store::WindowRow>& rows,
                               std::int64_t window_sequence, std::vector<Finding>& findings) {
    const auto& model = options.schema.name;
    std::optional<drift::DriftTable> table;  // built once, when a drop needs it
    const auto current_drift = drift_verdicts(findings);
    for (auto& finding : findings) {
        if (!whole_window_drop(finding)) continue;
        const bool estimated = finding.method == "cbpe";
        auto evidence = nlohmann::json::parse(finding.evidence_json, nullptr, false);
        if (!evidence.is_object()) evidence = nlohmann::json::object();
        if (!fitted.causes_reference || (estimated && !fitted.cbpe)) {
            evidence["root_cause"] = {{"error", "the reference has no labelled rows to compare segments with"}};
            finding.evidence_json = evidence.dump();
            continue;
        }
        if (!table) table = rows_to_table(rows, fitted.judged);
        rootcause::RankingOptions ranking_options;
        ranking_options.metric = finding.subject;
        ranking_options.spec = performance_spec(options, "");
        // One minimum for every output: the segment-gap findings' too.
        ranking_options.min_segment_rows = options.performance.min_segment_rows;
        if (estimated) ranking_options.cbpe = &*fitted.cbpe;
        const auto window_rows = ranking_rows(*table, fitted.judged, options.drift.segments, !estimated);

        // The window's own drift verdicts: in memory while it closes, stored since for a realised judgement.
        auto history = store::recent_drift_verdicts(connection, model, finding.subject,
                                                    estimated ? window_sequence - 1 : window_sequence,
                                                    root_cause_history_windows);
        std::vector<rootcause::FeatureDrift> window_drift = current_drift;
        if (!estimated && !history.empty() && history.back().sequence == window_sequence)
            window_drift = drift_verdicts(history.back().drift);
        auto ranking = rootcause::rank_causes(window_rows, *fitted.causes_reference, ranking_options, window_drift);
        std::vector<rootcause::HistoryWindow> series;
        for (const auto& window : history) {
            if (!window.metric) continue;
            if (estimated || window.sequence != window_sequence)
                series.push_back({*window.metric, drift_verdicts(window.drift)});
        }
        series.push_back({finding.statistic, window_drift});
        if (ranking.ok()) rootcause::rank_by_history(ranking, series);
        evidence["root_cause"] = rootcause::to_json(ranking);
        finding.evidence_json = evidence.dump();
        if (!ranking.ok())
            log::warning("root_cause_unavailable model={} window={} metric={} error=\"{}\"", model, window_sequence,
                         finding.subject, ranking.error);
        else
            log::info("root_cause model={} window={} metric={} estimated={} single_cause={} summary=\"{}\"", model,
                      window_sequence, finding.subject, estimated, ranking.single_cause, ranking.summary);
    }
}

}  // namespace mw::daemon
