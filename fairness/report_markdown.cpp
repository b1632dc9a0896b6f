#include "fairness/report_markdown.h"

#include <fmt/format.h>

#include "fairness/report_text.h"

namespace mw::fairness {

namespace {

// Table cells must not break the table: pipes escaped, newlines flattened.
std::string cell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += "\\|";
        else if (c == '\n' || c == '\r') out += ' ';
        else out += c;
    }
    return out;
}

const char* status_line(AuditStatus status) {
    switch (status) {
        case AuditStatus::pass: return "**PASS**: every evaluated disparity is within tolerance.";
        case AuditStatus::review:
            return "**REVIEW**: some disparities are beyond tolerance, but none is statistically clear.";
        case AuditStatus::fail: return "**FAIL**: at least one disparity is beyond tolerance and statistically clear.";
    }
    return "";
}

}  // namespace

std::string render_markdown(const AuditResult& r) {
    std::string out;
    auto line = [&](const std::string& text) { out += text + "\n"; };
    const VerdictCounts counts = count_verdicts(r);
    line(fmt::format("# Fairness audit{}", r.model.empty() ? "" : ": " + r.model));
    line("");
    line(fmt::format("Generated {} from {} ({} rows, {} rejected; positive label `{}`).", r.generated_at,
                     cell(r.window.source), r.window.rows, r.window.rows_rejected, cell(r.window.positive_label)));
    line("");
    line("## Summary");
    line("");
    line(status_line(audit_status(counts)));
    line("");
    line(fmt::format("- within tolerance: {}\n- beyond tolerance, statistically clear: {}\n- beyond tolerance, not "
                     "statistically clear: {}\n- not evaluable: {}",
                     counts.within, counts.beyond_clear, counts.beyond_unclear, counts.not_evaluable));
    line("");
    for (const auto& g : r.groupings)
        for (const auto* list : {&g.disparities.between_groups, &g.disparities.to_reference})
            for (const auto& v : *list)
                if (v.verdict == Verdict::beyond_clear || v.verdict == Verdict::beyond_unclear)
                    line(fmt::format("- {} ({}): {}", definition_of(v.metric).title, grouping_name(g.attributes),
                                     cell(explain(v, g))));
    line("");

    for (const auto& g : r.groupings) {
        line(fmt::format("## {}", grouping_name(g.attributes)));
        line("");
        if (g.disparities.reference_index)
            line(fmt::format("Reference group: **{}** ({}).", cell(g.groups[*g.disparities.reference_index].label),
                             g.disparities.reference_configured ? "configured" : "the largest group"));
        line("");
        line("| Group | n | Base rate | Selection rate | TPR | FPR | FNR | PPV | NPV | Accuracy | ECE |");
        line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (const auto& m : g.groups) {
            if (m.complementary) {  // hidden so a smaller group cannot be recovered by subtraction
                line(fmt::format("| {} (suppressed with a smaller group) | - | - | - | - | - | - | - | - | - | - |",
                                 cell(m.label)));
                continue;
            }
            if (m.too_small) {  // named, never described (suppressed)
                line(fmt::format("| {} (too small: suppressed) | < {} | - | - | - | - | - | - | - | - | - |",
                                 cell(m.label), r.options.metrics.min_group_size));
                continue;
            }
            line(fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |", cell(m.label),
                             m.counts.total(),
                             format_percent(m.rate(Rate::base_rate).value),
                             format_percent(m.rate(Rate::selection_rate).value), format_percent(m.rate(Rate::tpr).value),
                             format_percent(m.rate(Rate::fpr).value), format_percent(m.rate(Rate::fnr).value),
                             format_percent(m.rate(Rate::ppv).value), format_percent(m.rate(Rate::npv).value),
                             format_percent(m.rate(Rate::accuracy).value), format_percent(m.calibration_error)));
        }
        line("");
        if (g.disparities.eligible.size() < 2) {
            line("Fewer than two groups reach the minimum size: no disparity can be computed.");
            line("");
            continue;
        }
        line("| Metric | Compared | Value | 95% interval | Tolerance | Verdict |");
        line("|---|---|---:|---|---|---|");
        for (const auto* list : {&g.disparities.between_groups, &g.disparities.to_reference})
            for (const auto& v : *list)
                line(fmt::format("| {} | {} | {} | {} | {} | {} |", definition_of(v.metric).title,
                                 v.group.empty() ? "across groups" : cell(v.group) + " vs reference", format_judged(v),
                                 format_judged_interval(v), format_band(v), verdict_phrase(v.verdict)));
        line("");
    }

    for (std::size_t shift_index = 0; shift_index < r.representation.size(); ++shift_index) {
        const auto& shift = r.representation[shift_index];
        line(fmt::format("## Who the model sees: {} (reference window vs this one)", grouping_name(shift.attributes)));
        line("");
        line("| Group | Reference rows | Current rows | Share change | Base rate (reference) | Base rate (current) | Change |");
        line("|---|---:|---:|---:|---:|---:|---:|");
        const auto suppressed = suppressed_rows(r.representation, shift_index, r.options.metrics.min_group_size);
        for (std::size_t k = 0; k < shift.rows.size(); ++k) {
            const auto& row = shift.rows[k];
            if (suppressed[k]) {
                line(fmt::format("| {} (too small: suppressed) | - | - | - | - | - | - |", cell(row.label)));
                continue;
            }
            line(fmt::format("| {} | {} | {} | {} | {} | {} | {} |", cell(row.label), row.reference_count,
                             row.current_count, format_signed_points(row.share_difference),
                             format_percent(row.reference_base_rate), format_percent(row.current_base_rate),
                             format_signed_points(row.base_rate_difference)));
        }
        line("");
    }

    line("## Definitions");
    line("");
    for (Rate rate : all_rates) line(fmt::format("- **{}**: {}.", title(rate), definition(rate)));
    for (const auto& d : disparity_definitions())
        line(fmt::format("- **{}**: {} Source: {}.", d.title, d.definition, d.source));
    line(fmt::format("- **Intervals**: Wilson score intervals ({:.0f}%) for rates; stratified bootstrap percentile "
                     "intervals ({} replicates, seed {}) for differences and ratios. A gap is statistically clear when "
                     "its whole interval lies outside the tolerance.",
                     r.options.metrics.confidence * 100, r.options.bootstrap.replicates, r.options.bootstrap.seed));
    line(fmt::format("- **Minimum group size**: {} rows; smaller groups are listed but take no part in disparities.",
                     r.options.metrics.min_group_size));
    line("");
    line("## Data window");
    line("");
    line(fmt::format("{}: {}; {} rows audited, {} rows rejected.", cell(r.window.source), cell(r.window.description),
                     r.window.rows, r.window.rows_rejected));
    return out;
}

}  // namespace mw::fairness
