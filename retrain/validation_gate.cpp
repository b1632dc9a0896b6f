#include "retrain/validation_gate.h"

#include <cmath>

#include <fmt/format.h>

namespace mw::retrain {

namespace {

// Differences of decimal metrics are not exact in binary (0.75 - 0.74 is
// 0.010000000000000009, 0.3 - 0.29 is 0.009999999999999953): a margin met
// to within this tolerance counts as met.
constexpr double comparison_tolerance = 1e-9;

// Three decimals read well for rates; smaller margins need more digits so
// that the reason never shows "0.000".
std::string number(double value, double margin) {
    if (margin > 0 && margin < 0.001) return fmt::format("{:.6g}", value);
    return fmt::format("{:.3f}", value);
}

}  // namespace

GateDecision decide(const JobReport& report, const GateOptions& options) {
    const std::string& metric = options.metric;
    auto challenger = report.metrics.find(metric);
    if (challenger == report.metrics.end()) {
        return {false, fmt::format("the report has no challenger {} (metrics)", metric)};
    }
    if (options.require_fairness_pass && report.fairness_passed != true) {
        return {false, report.fairness_passed.has_value()
                           ? fmt::format("the challenger failed the fairness check the gate requires")
                           : fmt::format("the gate requires a fairness check and the report has none")};
    }
    if (report.champion_metrics.empty()) {
        return {true, fmt::format("no champion to compare with; challenger {} {}", metric,
                                  number(challenger->second, options.min_improvement))};
    }
    auto champion = report.champion_metrics.find(metric);
    if (champion == report.champion_metrics.end()) {
        return {false, fmt::format("the report has no champion {} (champion_metrics)", metric)};
    }
    // A figure measured on no rows (a job that says so) decides, as the
    // job reported it, but is no measurement of the champion to re-base on.
    const auto rows = report.champion_metrics.find("rows");
    const std::optional<double> measured =
        rows != report.champion_metrics.end() && rows->second < 1 ? std::nullopt : std::optional(champion->second);
    const double margin = options.min_improvement;
    const double improvement =
        options.higher_is_better ? challenger->second - champion->second : champion->second - challenger->second;
    const std::string challenger_text = number(challenger->second, margin);
    const std::string champion_text = number(champion->second, margin);
    if (improvement >= margin - comparison_tolerance) {
        return {true,
                fmt::format("challenger {} {} beats champion {} by {} >= margin {}", metric, challenger_text,
                            champion_text, number(improvement, margin), number(margin, margin)),
                measured};
    }
    if (improvement > 0) {
        return {false,
                fmt::format("challenger {} {} beats champion {} by only {} < margin {}", metric, challenger_text,
                            champion_text, number(improvement, margin), number(margin, margin)),
                measured};
    }
    return {false,
            fmt::format("challenger {} {} does not beat champion {} ({} {}, margin {})", metric, challenger_text,
                        champion_text, improvement == 0 ? "equal," : "worse by",
                        improvement == 0 ? "no gain" : number(-improvement, margin), number(margin, margin)),
            measured};
}

const char* to_string(ProbationVerdict verdict) {
    switch (verdict) {
        case ProbationVerdict::pending: return "pending";
        case ProbationVerdict::keep: return "keep";
        case ProbationVerdict::roll_back: return "roll_back";
    }
    return "unknown";
}

ProbationDecision should_roll_back(double champion_metric_at_promotion, std::span<const double> window_metrics,
                                   const ProbationOptions& probation, const GateOptions& gate) {
    const std::size_t needed = probation.window_count > 0 ? static_cast<std::size_t>(probation.window_count) : 1;
    // A window without a metric (no labels yet) is not evidence either way.
    std::size_t counted = 0;
    double sum = 0;
    for (double value : window_metrics) {
        if (counted == needed) break;
        if (!std::isfinite(value)) continue;
        sum += value;
        ++counted;
    }
    if (counted < needed) {
        return {ProbationVerdict::pending,
                fmt::format("probation: {} of {} windows have a measured {} so far", counted, needed, gate.metric)};
    }
    const double realised = sum / static_cast<double>(needed);
    const double drop = gate.higher_is_better ? champion_metric_at_promotion - realised
                                              : realised - champion_metric_at_promotion;
    const double margin = probation.max_drop;
    const std::string realised_text = number(realised, margin);
    const std::string champion_text = number(champion_metric_at_promotion, margin);
    if (drop > margin + comparison_tolerance) {
        return {ProbationVerdict::roll_back,
                fmt::format("promoted model's {} over {} windows {} is worse than the old champion's {} by {} > "
                            "max drop {}",
                            gate.metric, needed, realised_text, champion_text, number(drop, margin),
                            number(margin, margin))};
    }
    return {ProbationVerdict::keep,
            fmt::format("promoted model's {} over {} windows {} is within {} of the old champion's {}", gate.metric,
                        needed, realised_text, number(margin, margin), champion_text)};
}

}  // namespace mw::retrain
