#include "fairness/report_json.h"

#include <cmath>

#include <fmt/format.h>

#include "fairness/report_text.h"

namespace mw::fairness {

namespace {

using nlohmann::json;

// JSON has no NaN: undefined numbers are null.
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
json interval(const Interval& i) { return i.defined() ? json::array({i.lower, i.upper}) : json(nullptr); }

json group_json(const GroupMetrics& g) {
    // A group under the minimum size is named and flagged, nothing more: its
    // counts and rates would describe a handful of people.
    // A group hidden only so a smaller one cannot be recovered by
    // subtraction (`complementary`) is shown the same way.
    if (g.too_small)
        return {{"label", g.label},         {"values", g.values},      {"count", nullptr},
                {"too_small", !g.complementary}, {"suppressed", true}, {"complementary", g.complementary},
                {"confusion", nullptr},     {"rates", nullptr},        {"calibration_error", nullptr},
                {"calibration", json::array()}};
    json rates = json::object();
    for (Rate rate : all_rates) {
        const RateEstimate& e = g.rate(rate);
        rates[to_string(rate)] = {{"value", number(e.value)},
                                  {"numerator", e.fraction.numerator},
                                  {"denominator", e.fraction.denominator},
                                  {"interval", interval(e.wilson)}};
    }
    json calibration = json::array();
    for (const auto& b : g.calibration)
        calibration.push_back({{"lower", b.lower},
                               {"upper", b.upper},
                               {"count", b.count},
                               {"mean_score", number(b.mean_score)},
                               {"positive_rate", number(b.positive_rate)}});
    return {{"label", g.label},
            {"values", g.values},
            {"count", g.counts.total()},
            {"too_small", g.too_small},
            {"confusion", {{"tp", g.counts.tp}, {"fp", g.counts.fp}, {"tn", g.counts.tn}, {"fn", g.counts.fn}}},
            {"rates", rates},
            {"calibration_error", number(g.calibration_error)},
            {"calibration", calibration}};
}

json disparity_json(const DisparityValue& v) {
    const DisparityDefinition& d = definition_of(v.metric);
    json j = {{"metric", d.id},
              {"difference", number(v.difference)},
              {"difference_interval", interval(v.difference_interval)},
              {"ratio", number(v.ratio)},
              {"ratio_interval", interval(v.ratio_interval)},
              {"judged_by", d.judged_by == JudgedBy::ratio ? "ratio" : "difference"},
              {"judged_value", number(v.judged_value)},
              {"judged_interval", interval(v.judged_interval)},
              {"band", json::array({v.band.lower, v.band.upper})},
              {"verdict", to_string(v.verdict)}};
    if (!v.group.empty()) j["group"] = v.group;
    return j;
}

}  // namespace

json report_json(const AuditResult& r) {
    const VerdictCounts counts = count_verdicts(r);
    json definitions_rates = json::object();
    for (Rate rate : all_rates) definitions_rates[to_string(rate)] = definition(rate);
    json definitions_disparities = json::array();
    for (const auto& d : disparity_definitions())
        definitions_disparities.push_back({{"id", d.id},
                                           {"title", d.title},
                                           {"definition", d.definition},
                                           {"source", d.source},
                                           {"judged_by", d.judged_by == JudgedBy::ratio ? "ratio" : "difference"}});

    json groupings = json::array();
    for (const auto& g : r.groupings) {
        json groups = json::array();
        for (const auto& m : g.groups) groups.push_back(group_json(m));
        json to_reference = json::array();
        for (const auto& v : g.disparities.to_reference) to_reference.push_back(disparity_json(v));
        json between = json::array();
        for (const auto& v : g.disparities.between_groups) between.push_back(disparity_json(v));
        json reference = nullptr;
        if (g.disparities.reference_index) reference = g.groups[*g.disparities.reference_index].label;
        groupings.push_back({{"name", grouping_name(g.attributes)},
                             {"attributes", g.attributes},
                             {"reference_group", reference},
                             {"reference_configured", g.disparities.reference_configured},
                             {"eligible_groups", g.disparities.eligible.size()},
                             {"groups", groups},
                             {"disparities", {{"to_reference", to_reference}, {"between_groups", between}}}});
    }
    json history = json::array();
    for (const auto& h : r.history)
        history.push_back({{"label", h.label},
                           {"grouping", h.grouping},
                           {"metric", definition_of(h.metric).id},
                           {"judged_value", h.judged_value}});

    json representation = json::array();
    for (std::size_t shift_index = 0; shift_index < r.representation.size(); ++shift_index) {
        const auto& shift = r.representation[shift_index];
        json rows = json::array();
        const auto suppressed = suppressed_rows(r.representation, shift_index, r.options.metrics.min_group_size);
        for (std::size_t k = 0; k < shift.rows.size(); ++k) {
            const auto& row = shift.rows[k];
            if (suppressed[k]) {
                rows.push_back({{"label", row.label}, {"values", row.values}, {"suppressed", true},
                                {"reference_count", nullptr}, {"current_count", nullptr},
                                {"reference_share", nullptr}, {"current_share", nullptr},
                                {"share_difference", nullptr}, {"reference_base_rate", nullptr},
                                {"current_base_rate", nullptr}, {"base_rate_difference", nullptr}});
                continue;
            }
            rows.push_back({{"label", row.label},
                            {"values", row.values},
                            {"reference_count", row.reference_count},
                            {"current_count", row.current_count},
                            {"reference_share", row.reference_share},
                            {"current_share", row.current_share},
                            {"share_difference", row.share_difference},
                            {"reference_base_rate", number(row.reference_base_rate)},
                            {"current_base_rate", number(row.current_base_rate)},
                            {"base_rate_difference", number(row.base_rate_difference)}});
        }
        representation.push_back({{"name", grouping_name(shift.attributes)}, {"attributes", shift.attributes}, {"groups", rows}});
    }

    const AuditOptions& o = r.options;
    return {{"schema_version", report_schema_version},
            {"kind", "modelwatch.fairness_audit"},
            {"model", r.model},
            {"generated_at", r.generated_at},
            {"data_window",
             {{"source", r.window.source},
              {"description", r.window.description},
              {"rows", r.window.rows},
              {"rows_rejected", r.window.rows_rejected},
              {"positive_label", r.window.positive_label},
              {"has_scores", r.has_scores}}},
            {"options",
             {{"sensitive_attributes", o.sensitive_attributes},
              {"reference_values", o.reference_values},
              {"min_group_size", o.metrics.min_group_size},
              {"confidence", o.metrics.confidence},
              {"calibration_buckets", o.metrics.calibration_buckets},
              {"tolerance",
               {{"ratio_lower", o.tolerance.ratio_lower},
                {"ratio_upper", o.tolerance.ratio_upper},
                {"difference", o.tolerance.difference},
                {"calibration_difference", o.tolerance.calibration_difference}}},
              {"bootstrap",
               {{"replicates", o.bootstrap.replicates},
                {"seed", o.bootstrap.seed},
                {"confidence", o.bootstrap.confidence}}}}},
            {"summary",
             {{"status", to_string(audit_status(counts))},
              {"within_tolerance", counts.within},
              {"beyond_tolerance_clear", counts.beyond_clear},
              {"beyond_tolerance_not_clear", counts.beyond_unclear},
              {"not_evaluable", counts.not_evaluable}}},
            {"definitions", {{"rates", definitions_rates}, {"disparities", definitions_disparities}}},
            {"overall", group_json(r.overall)},
            {"groupings", groupings},
            {"history", history},
            {"representation", representation}};
}

std::string render_json(const AuditResult& result) { return report_json(result).dump(2) + "\n"; }

HistoryRead history_from_report_json(const std::string& text) {
    HistoryRead read;
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        read.error = "not a JSON object";
        return read;
    }
    if (j.value("schema_version", 0) != report_schema_version) {
        read.error = fmt::format("schema_version is not {}", report_schema_version);
        return read;
    }
    const std::string label = j.value("generated_at", std::string("unknown"));
    const json groupings = j.value("groupings", json::array());
    for (const auto& g : groupings) {
        if (!g.is_object()) continue;
        const std::string name = g.value("name", std::string());
        const json between = g.value("disparities", json::object()).value("between_groups", json::array());
        for (const auto& v : between) {
            if (!v.is_object() || !v.contains("judged_value") || !v["judged_value"].is_number()) continue;
            const std::string metric = v.value("metric", std::string());
            for (const auto& d : disparity_definitions())
                if (metric == d.id) read.points.push_back({label, name, d.metric, v["judged_value"].get<double>()});
        }
    }
    return read;
}

}  // namespace mw::fairness
