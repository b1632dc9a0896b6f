#include "fairness/report_html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "core/html.h"
#include "fairness/report_text.h"

namespace mw::fairness {

namespace {

constexpr const char* stylesheet = R"css(
:root{--ink:#1b2230;--muted:#5a6476;--faint:#8a93a3;--line:#dde2ea;--panel:#f5f7fa;--blue:#0072B2;--sky:#56B4E9;
--orange:#E69F00;--verm:#D55E00;--green:#009E73;--purple:#CC79A7;--band:#e3f1ea}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:#fff;color:var(--ink);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",
Arial,"Noto Sans","Liberation Sans",sans-serif}
main{max-width:1200px;margin:0 auto;padding:36px 44px 72px}
header{border-bottom:1px solid var(--line);padding-bottom:18px;margin-bottom:26px}
.eyebrow{text-transform:uppercase;letter-spacing:.09em;font-size:12px;color:var(--muted);margin:0 0 6px;font-weight:600}
h1{font-size:30px;line-height:1.2;margin:0 0 8px;font-weight:700}
h2{font-size:22px;margin:44px 0 6px;padding-top:8px;border-top:1px solid var(--line)}
h3{font-size:16px;margin:22px 0 8px}
.meta{color:var(--muted);margin:0}
.summary{border:1px solid var(--line);border-left:6px solid var(--green);border-radius:10px;padding:22px 26px;
background:var(--panel)}
.summary.fail{border-left-color:var(--verm)}
.summary.review{border-left-color:var(--orange)}
.status{display:flex;align-items:center;gap:14px;margin-bottom:6px}
.badge{display:inline-block;font-weight:700;font-size:14px;letter-spacing:.04em;padding:4px 12px;border-radius:999px;
color:#fff;background:var(--green)}
.fail .badge{background:var(--verm)}
.review .badge{background:#a36f00}
.lead{font-size:18px;font-weight:600;margin:0}
.counts{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:18px 0 6px}
.count{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.count b{display:block;font-size:26px;line-height:1.1}
.count span{color:var(--muted);font-size:13px}
.findings{margin:6px 0 0;padding-left:20px}
.scorecard{background:#fff;margin-top:4px}
.scorecard td{text-align:left}
.scorecard .value{font-weight:600;margin-left:4px}
h3 .note{font-weight:400}
.findings li{margin:6px 0}
.tag{display:inline-block;font-size:12px;font-weight:600;border-radius:4px;padding:1px 7px;margin-right:6px;
white-space:nowrap;border:1px solid}
.tag.clear{color:#9a3b00;border-color:var(--verm);background:#fbe9df}
.tag.unclear{color:#7a5200;border-color:var(--orange);background:#fdf3dc}
.tag.ok{color:#00684d;border-color:var(--green);background:#e0f3ec}
.tag.na{color:var(--muted);border-color:var(--line);background:#fff}
nav{margin:18px 0 0;font-size:14px;color:var(--muted)}
nav a{color:var(--blue);margin-right:14px}
.note{color:var(--muted);font-size:14px;margin:4px 0 12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px 26px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px 12px 4px;background:#fff;break-inside:avoid}
figure svg{width:100%;height:auto;display:block}
figcaption{font-size:13px;color:var(--muted);margin:2px 0 6px}
figcaption b{color:var(--ink);font-size:14px}
.legend{display:flex;flex-wrap:wrap;gap:16px;font-size:13px;color:var(--muted);margin:10px 0 12px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:5px;vertical-align:-1px}
.legend i.sq{border-radius:2px}
.legend i.bandkey{border-radius:2px;background:var(--band);border:1px solid #b8dcc9;width:18px}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:10px 0 4px;font-variant-numeric:tabular-nums}
th,td{padding:6px 9px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600;background:var(--panel)}
th:first-child,td:first-child,td.text,th.text{text-align:left}
td small{display:block;color:var(--faint);font-size:11.5px}
tr.small td{color:var(--faint)}
tr.ref td:first-child{font-weight:700}
dl{margin:0}
dt{font-weight:600;margin-top:12px}
dd{margin:2px 0 0;color:#333c4d}
dd small{color:var(--muted)}
footer{margin-top:48px;color:var(--faint);font-size:12.5px;border-top:1px solid var(--line);padding-top:12px}
@media (max-width:900px){.grid{grid-template-columns:1fr}.counts{grid-template-columns:1fr 1fr}main{padding:20px}}
@media print{main{max-width:none;padding:0}h2{break-before:auto;break-after:avoid}figure,tr{break-inside:avoid}
nav{display:none}body{font-size:12px}.summary{break-inside:avoid}}
)css";

enum class Scale { percent, ratio, points };

struct PanelRow {
    std::string label;
    double value = std::nan("");
    Interval interval;
    std::string css;  // "ok", "clear", "unclear", "na", "rate", "small"
    bool emphasise = false;
    std::string note;  // e.g. "too small"
};

struct Panel {
    std::string title;
    std::string subtitle;
    Scale scale = Scale::percent;
    bool log_scale = false;
    std::optional<Interval> band;
    std::optional<double> marker;
    std::string marker_label;
    std::vector<PanelRow> rows;
};

std::string format_tick(double v, Scale scale) {
    switch (scale) {
        case Scale::percent: return fmt::format("{:.0f}%", v * 100);
        case Scale::ratio: return v < 1 ? fmt::format("{:.2g}", v) : fmt::format("{:.3g}", v);
        case Scale::points: return fmt::format("{:+.0f}", v * 100);
    }
    return "";
}

std::string format_value(double v, Scale scale) {
    switch (scale) {
        case Scale::percent: return format_percent(v);
        case Scale::ratio: return format_ratio(v);
        case Scale::points: return format_signed_points(v);
    }
    return "";
}

const char* colour_of(const std::string& css) {
    if (css == "clear") return "#D55E00";
    if (css == "unclear") return "#E69F00";
    if (css == "small" || css == "na") return "#9aa3b2";
    return "#0072B2";
}

std::string shorten(const std::string& label, std::size_t max_chars) {
    if (label.size() <= max_chars) return label;
    return label.substr(0, max_chars - 1) + "\u2026";
}

// One horizontal dot-and-whisker panel: a row per group, the value as a dot
// (a square when a gap is statistically clear), the interval as a whisker,
// the tolerance band shaded and a reference line.
std::string render_panel(const Panel& p) {
    constexpr double width = 560, label_width = 190, value_width = 62, top = 30, row_height = 24, bottom = 28;
    const double plot_left = label_width, plot_right = width - value_width - 10;
    const double height = top + row_height * static_cast<double>(std::max<std::size_t>(p.rows.size(), 1)) + bottom;

    double lo = INFINITY, hi = -INFINITY;
    auto include = [&](double v) {
        if (std::isfinite(v) && (!p.log_scale || v > 0)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    };
    for (const auto& r : p.rows) {
        include(r.value);
        include(r.interval.lower);
        include(r.interval.upper);
    }
    if (p.band) {
        include(p.band->lower);
        if (std::isfinite(p.band->upper)) include(p.band->upper);
    }
    if (p.marker) include(*p.marker);
    if (!std::isfinite(lo)) {
        lo = p.log_scale ? 0.5 : 0;
        hi = p.log_scale ? 2 : 1;
    }
    if (p.scale == Scale::percent) {
        lo = 0;
        hi = std::min(1.0, std::ceil(hi * 10 + 1e-9) / 10);
        if (hi <= 0) hi = 0.1;
    } else if (p.log_scale) {
        lo = std::max(lo / 1.15, 0.05);
        hi = std::min(hi * 1.15, 20.0);
    } else {
        const double extent = std::max({std::fabs(lo), std::fabs(hi), 0.02}) * 1.15;
        lo = std::min(lo, 0.0) < 0 ? -extent : 0;
        hi = extent;
    }
    auto x_of = [&](double v) {
        double t = p.log_scale ? (std::log(v) - std::log(lo)) / (std::log(hi) - std::log(lo)) : (v - lo) / (hi - lo);
        t = std::clamp(t, 0.0, 1.0);
        return plot_left + t * (plot_right - plot_left);
    };

    std::string s = fmt::format(
        R"(<svg viewBox="0 0 {w} {h}" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg" )"
        R"(font-family="system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif" font-size="12">)",
        fmt::arg("w", width), fmt::arg("h", height), fmt::arg("title", html_escape(p.title)));
    const double plot_top = top - 8, plot_bottom = height - bottom + 4;
    if (p.band) {
        const double x0 = x_of(p.band->lower), x1 = x_of(std::isfinite(p.band->upper) ? p.band->upper : hi);
        s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#e3f1ea" stroke="#b8dcc9"/>)",
                         x0, plot_top, std::max(0.0, x1 - x0), plot_bottom - plot_top);
    }
    // Ticks: a few round values inside the domain.
    std::vector<double> ticks;
    if (p.log_scale) {
        for (double t : {0.1, 0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0, 10.0})
            if (t >= lo && t <= hi) ticks.push_back(t);
    } else {
        const double span = hi - lo;
        const double step = span > 0.6 ? 0.2 : span > 0.3 ? 0.1 : span > 0.12 ? 0.05 : span > 0.06 ? 0.02 : 0.01;
        for (double t = std::ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push_back(std::fabs(t) < 1e-12 ? 0 : t);
    }
    for (double t : ticks) {
        const double x = x_of(t);
        s += fmt::format(R"(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1:.1f}" y2="{2:.1f}" stroke="#e6e9ef"/>)", x, plot_top,
                         plot_bottom);
        s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" fill="#5a6476" font-size="11">{}</text>)",
                         x, height - 10, html_escape(format_tick(t, p.scale)));
    }
    if (p.marker) {
        const double x = x_of(*p.marker);
        s += fmt::format(R"(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1:.1f}" y2="{2:.1f}" stroke="#1b2230" )"
                         R"(stroke-dasharray="4 3" stroke-width="1.2"/>)",
                         x, plot_top, plot_bottom);
        s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle" fill="#1b2230" font-size="11">{}</text>)",
                         x, plot_top - 4, html_escape(p.marker_label));
    }
    double y = top + row_height / 2;
    for (const auto& r : p.rows) {
        const std::string label = shorten(r.label, 27) + (r.note.empty() ? "" : " (" + r.note + ")");
        s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="end" fill="{}" font-weight="{}">)"
                         R"(<title>{}</title>{}</text>)",
                         label_width - 10, y + 4, r.css == "small" ? "#8a93a3" : "#1b2230",
                         r.emphasise ? 700 : 400, html_escape(r.label), html_escape(shorten(label, 34)));
        const char* colour = colour_of(r.css);
        if (r.interval.defined()) {
            const double x0 = x_of(r.interval.lower), x1 = x_of(r.interval.upper);
            s += fmt::format(R"(<line x1="{0:.1f}" x2="{1:.1f}" y1="{2:.1f}" y2="{2:.1f}" stroke="{3}" stroke-width="2"/>)"
                             R"(<line x1="{0:.1f}" x2="{0:.1f}" y1="{4:.1f}" y2="{5:.1f}" stroke="{3}" stroke-width="2"/>)"
                             R"(<line x1="{1:.1f}" x2="{1:.1f}" y1="{4:.1f}" y2="{5:.1f}" stroke="{3}" stroke-width="2"/>)",
                             x0, x1, y, colour, y - 5, y + 5);
        }
        if (std::isfinite(r.value) && (!p.log_scale || r.value > 0)) {
            const double x = x_of(r.value);
            if (r.css == "clear") {
                s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="11" height="11" fill="{}" stroke="#fff"/>)", x - 5.5,
                                 y - 5.5, colour);
            } else if (r.css == "unclear") {
                s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="5.5" fill="#fff" stroke="{}" stroke-width="3"/>)", x,
                                 y, colour);
            } else {
                s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="5.5" fill="{}" stroke="#fff"/>)", x, y, colour);
            }
        }
        s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" fill="#1b2230" font-size="11.5">{}</text>)", plot_right + 10,
                         y + 4, html_escape(format_value(r.value, p.scale)));
        y += row_height;
    }
    if (p.rows.empty())
        s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" fill="#5a6476">no group to compare</text>)", plot_left + 10,
                         top + 12);
    s += "</svg>";
    return fmt::format("<figure><figcaption><b>{}</b><br>{}</figcaption>{}</figure>\n", html_escape(p.title),
                       html_escape(p.subtitle), s);
}

std::string verdict_css(Verdict v) {
    switch (v) {
        case Verdict::within_tolerance: return "ok";
        case Verdict::beyond_clear: return "clear";
        case Verdict::beyond_unclear: return "unclear";
        case Verdict::not_evaluable: return "na";
    }
    return "na";
}

std::string verdict_tag(Verdict v) {
    const char* text = "not evaluable";
    switch (v) {
        case Verdict::within_tolerance: text = "\u2713 within tolerance"; break;
        case Verdict::beyond_clear: text = "\u2717 beyond, clear"; break;
        case Verdict::beyond_unclear: text = "? beyond, not clear"; break;
        case Verdict::not_evaluable: break;
    }
    return fmt::format(R"(<span class="tag {}">{}</span>)", verdict_css(v), text);
}

std::string rate_panels(const GroupingResult& g, const AuditResult& r) {
    std::string out = R"(<div class="grid">)";
    for (Rate rate : {Rate::selection_rate, Rate::tpr, Rate::fpr, Rate::ppv}) {
        Panel p;
        p.title = title(rate);
        p.subtitle = fmt::format("{}. Whiskers: {:.0f}% Wilson interval; dashed: all rows.", definition(rate),
                                 r.options.metrics.confidence * 100);
        p.scale = Scale::percent;
        p.marker = r.overall.rate(rate).value;
        p.marker_label = "all " + format_percent(r.overall.rate(rate).value);
        for (std::size_t k = 0; k < g.groups.size(); ++k) {
            const GroupMetrics& m = g.groups[k];
            // A group under the minimum size is listed without its rate (suppressed).
            PanelRow row{m.label, m.too_small ? std::nan("") : m.rate(rate).value,
                         m.too_small ? Interval{} : m.rate(rate).wilson, m.too_small ? "small" : "rate",
                         g.disparities.reference_index == k,
                         m.complementary ? "suppressed with a smaller group" : m.too_small ? "too small: suppressed" : ""};
            p.rows.push_back(std::move(row));
        }
        out += render_panel(p);
    }
    return out + "</div>\n";
}

std::string disparity_panels(const GroupingResult& g, const AuditResult& r) {
    if (!g.disparities.reference_index) return "";
    const std::string reference = g.groups[*g.disparities.reference_index].label;
    std::string out = R"(<div class="grid">)";
    for (const auto& d : disparity_definitions()) {
        Panel p;
        p.title = d.title;
        const bool by_ratio = d.judged_by == JudgedBy::ratio;
        p.scale = by_ratio ? Scale::ratio : Scale::points;
        p.log_scale = by_ratio;
        p.marker = by_ratio ? 1.0 : 0.0;
        p.marker_label = by_ratio ? "= " + reference : "";
        p.band = tolerance_band(d.metric, false, r.options.tolerance);
        p.subtitle = by_ratio ? fmt::format("Ratio to {} (log scale); shaded: tolerance {} to {}.", reference,
                                            format_ratio(p.band->lower), format_ratio(p.band->upper))
                              : fmt::format("Difference from {} in percentage points; shaded: tolerance.", reference);
        for (const auto& v : g.disparities.to_reference) {
            if (v.metric != d.metric) continue;
            p.rows.push_back({v.group, v.judged_value, v.judged_interval, verdict_css(v.verdict), false, ""});
        }
        if (p.rows.empty()) continue;
        out += render_panel(p);
    }
    return out + "</div>\n";
}

std::string group_table(const GroupingResult& g, std::uint64_t min_group_size) {
    std::string out = "<table><thead><tr><th class=\"text\">Group</th><th>n</th>";
    const Rate shown[] = {Rate::base_rate, Rate::selection_rate, Rate::tpr, Rate::fpr, Rate::fnr, Rate::ppv, Rate::npv,
                          Rate::accuracy};
    const char* headings[] = {"Base rate", "Selection", "TPR", "FPR", "FNR", "PPV", "NPV", "Accuracy"};
    for (const char* h : headings) out += fmt::format("<th>{}</th>", h);
    out += "<th>ECE</th></tr></thead><tbody>";
    for (std::size_t k = 0; k < g.groups.size(); ++k) {
        const GroupMetrics& m = g.groups[k];
        const bool reference = g.disparities.reference_index == k;
        if (m.complementary) {
            // Hidden so the smaller suppressed group cannot be recovered by subtraction.
            out += fmt::format("<tr class=\"small\"><td>{} <small>suppressed</small></td><td>-</td>"
                               "<td colspan=\"{}\" class=\"text\">not shown, so that a group of fewer than {} rows "
                               "cannot be worked out from the others</td></tr>",
                               html_escape(m.label), std::size(shown) + 1, min_group_size);
            continue;
        }
        if (m.too_small) {
            // Named, never described: its counts and rates would single out a handful of people.
            out += fmt::format("<tr class=\"small\"><td>{} <small>too small: suppressed</small></td><td>&lt; {}</td>"
                               "<td colspan=\"{}\" class=\"text\">fewer than {} rows: not shown</td></tr>",
                               html_escape(m.label), min_group_size, std::size(shown) + 1, min_group_size);
            continue;
        }
        out += fmt::format("<tr class=\"{}\"><td>{}{}</td><td>{}</td>", reference ? "ref" : "", html_escape(m.label),
                           reference ? " <small>reference group</small>" : "", m.counts.total());
        for (Rate rate : shown) {
            const RateEstimate& e = m.rate(rate);
            out += fmt::format("<td>{}<small>{}</small></td>", format_percent(e.value),
                               e.wilson.defined() ? format_percent(e.wilson.lower) + "\u2013" + format_percent(e.wilson.upper)
                                                  : "");
        }
        out += fmt::format("<td>{}</td></tr>", format_percent(m.calibration_error));
    }
    return out + "</tbody></table>\n";
}

std::string disparity_table(const GroupingResult& g) {
    std::string out =
        "<table><thead><tr><th class=\"text\">Metric</th><th class=\"text\">Compared</th><th>Value</th>"
        "<th>95% interval</th><th>Tolerance</th><th class=\"text\">Verdict</th></tr></thead><tbody>";
    for (const auto* list : {&g.disparities.between_groups, &g.disparities.to_reference})
        for (const auto& v : *list)
            out += fmt::format("<tr><td>{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td><td>{}</td>"
                               "<td class=\"text\">{}</td></tr>",
                               html_escape(definition_of(v.metric).title),
                               v.group.empty() ? "across all groups" : html_escape(v.group) + " vs reference",
                               html_escape(format_judged(v)), html_escape(format_judged_interval(v)),
                               html_escape(format_band(v)), verdict_tag(v.verdict));
    return out + "</tbody></table>\n";
}

// A small line chart per metric: the between-groups judged value of each
// grouping over past audits and this one, with the tolerance band.
std::string trend_section(const AuditResult& r) {
    if (r.history.empty()) return "";
    const char* colours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"};
    std::vector<std::string> labels;
    for (const auto& h : r.history)
        if (std::find(labels.begin(), labels.end(), h.label) == labels.end()) labels.push_back(h.label);
    labels.push_back(r.generated_at + " (this audit)");
    std::string out = "<section id=\"trend\"><h2>Trend over past audits</h2><p class=\"note\">The across-groups value "
                      "of each metric in every audit; the shaded area is the tolerance.</p><div class=\"grid\">";
    for (const auto& d : disparity_definitions()) {
        // grouping -> value per audit label
        std::map<std::string, std::vector<double>> series;
        auto put = [&](const std::string& grouping, const std::string& label, double v) {
            auto& values = series.try_emplace(grouping, std::vector<double>(labels.size(), std::nan(""))).first->second;
            const auto at = std::find(labels.begin(), labels.end(), label) - labels.begin();
            values[static_cast<std::size_t>(at)] = v;
        };
        for (const auto& h : r.history)
            if (h.metric == d.metric) put(h.grouping, h.label, h.judged_value);
        for (const auto& g : r.groupings)
            for (const auto& v : g.disparities.between_groups)
                if (v.metric == d.metric) put(grouping_name(g.attributes), labels.back(), v.judged_value);
        if (series.empty()) continue;
        const Interval band = tolerance_band(d.metric, true, r.options.tolerance);
        const bool by_ratio = d.judged_by == JudgedBy::ratio;
        double lo = by_ratio ? std::min(band.lower, 1.0) : 0.0, hi = by_ratio ? 1.0 : band.upper;
        for (const auto& [name, values] : series)
            for (double v : values)
                if (std::isfinite(v)) {
                    lo = std::min(lo, v);
                    hi = std::max(hi, v);
                }
        const double pad = (hi - lo) * 0.1 + 1e-6;
        lo = std::max(0.0, lo - pad);  // min / max and max - min are never negative
        hi += pad;
        constexpr double w = 560, h = 220, left = 52, right = 60, top = 14, bottom = 44;
        auto x_of = [&](std::size_t i) {
            return labels.size() == 1 ? left : left + static_cast<double>(i) * (w - left - right) /
                                                          static_cast<double>(labels.size() - 1);
        };
        auto y_of = [&](double v) { return top + (hi - v) / (hi - lo) * (h - top - bottom); };
        std::string s = fmt::format(R"(<svg viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg" font-size="11" )"
                                    R"(font-family="system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif">)",
                                    w, h);
        const double band_top = y_of(std::min(band.upper, hi)), band_bottom = y_of(std::max(band.lower, lo));
        s += fmt::format(R"(<rect x="{}" y="{:.1f}" width="{}" height="{:.1f}" fill="#e3f1ea" stroke="#b8dcc9"/>)", left,
                         band_top, w - left - right, std::max(0.0, band_bottom - band_top));
        for (int t = 0; t <= 4; ++t) {
            const double v = lo + (hi - lo) * t / 4;
            s += fmt::format(R"(<text x="{}" y="{:.1f}" text-anchor="end" fill="#5a6476">{}</text>)", left - 6,
                             y_of(v) + 4, by_ratio ? format_ratio(v) : fmt::format("{:.1f}", v * 100));
        }
        // Audit times as "2026-11-25 13:33", the first label left-aligned so it stays inside the chart.
        for (std::size_t i = 0; i < labels.size(); ++i) {
            std::string text = labels[i].substr(0, 16);
            if (text.size() > 10 && text[10] == 'T') text[10] = ' ';
            s += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="{}" fill="#5a6476">{}</text>)", x_of(i),
                             h - 26 + (i % 2) * 13, i == 0 ? "start" : "middle", html_escape(text));
        }
        std::size_t colour = 0, legend = 0;
        for (const auto& [name, values] : series) {
            const char* c = colours[colour++ % 6];
            std::string path;
            for (std::size_t i = 0; i < values.size(); ++i) {
                if (!std::isfinite(values[i])) continue;
                path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", x_of(i), y_of(values[i]));
                s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3.5" fill="{}"/>)", x_of(i), y_of(values[i]), c);
            }
            s += fmt::format(R"(<path d="{}" fill="none" stroke="{}" stroke-width="2"/>)", path, c);
            s += fmt::format(R"(<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" )"
                             R"(fill="#1b2230">{}</text>)",
                             left + 8 + legend * 130, h - 12, c, left + 22 + legend * 130, h - 3, html_escape(name));
            ++legend;
        }
        s += "</svg>";
        out += fmt::format("<figure><figcaption><b>{}</b><br>{}</figcaption>{}</figure>", html_escape(d.title),
                           by_ratio ? "min / max across groups" : "max \u2212 min across groups, percentage points", s);
    }
    return out + "</div></section>\n";
}

}  // namespace

std::string render_html(const AuditResult& r) {
    const VerdictCounts counts = count_verdicts(r);
    const AuditStatus status = audit_status(counts);
    std::string out;
    out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">";
    out += fmt::format("<title>Fairness audit{}</title><style>{}</style></head><body><main>\n",
                       r.model.empty() ? "" : " \u2013 " + html_escape(r.model), stylesheet);
    out += fmt::format("<header><p class=\"eyebrow\">modelwatch \u00b7 fairness audit</p><h1>{}</h1>"
                       "<p class=\"meta\">Generated {} \u00b7 {} \u00b7 {} rows audited{} \u00b7 positive label "
                       "\u201c{}\u201d</p></header>\n",
                       r.model.empty() ? "Fairness audit" : html_escape(r.model), html_escape(r.generated_at),
                       html_escape(r.window.source), r.window.rows,
                       r.window.rows_rejected ? fmt::format(" ({} rejected)", r.window.rows_rejected) : "",
                       html_escape(r.window.positive_label));

    // Summary: the verdict in one line, the counts, then every gap beyond
    // tolerance explained, the clear ones first.
    const char* lead = status == AuditStatus::fail ? "At least one disparity is beyond tolerance and statistically clear."
                       : status == AuditStatus::review
                           ? "Some disparities are beyond tolerance, but none is statistically clear: review them."
                           : "Every evaluated disparity is within tolerance.";
    const char* badge = status == AuditStatus::fail ? "\u2717 FAIL" : status == AuditStatus::review ? "? REVIEW" : "\u2713 PASS";
    out += fmt::format("<section class=\"summary {}\" id=\"summary\"><div class=\"status\"><span class=\"badge\">{}"
                       "</span><p class=\"lead\">{}</p></div>",
                       to_string(status), badge, lead);
    out += fmt::format("<div class=\"counts\"><div class=\"count\"><b>{}</b><span>comparisons within tolerance</span></div>"
                       "<div class=\"count\"><b>{}</b><span>beyond tolerance, statistically clear</span></div>"
                       "<div class=\"count\"><b>{}</b><span>beyond tolerance, not clear</span></div>"
                       "<div class=\"count\"><b>{}</b><span>not evaluable</span></div></div>",
                       counts.within, counts.beyond_clear, counts.beyond_unclear, counts.not_evaluable);
    // The scorecard: one row per metric, one column per grouping, the
    // across-groups verdict in each cell; the per-group comparisons follow
    // in the details.
    out += "<h3>Scorecard <span class=\"note\">(across all groups of each grouping)</span></h3>"
           "<table class=\"scorecard\"><thead><tr><th class=\"text\">Metric</th>";
    for (const auto& g : r.groupings) out += fmt::format("<th class=\"text\">{}</th>", html_escape(grouping_name(g.attributes)));
    out += "</tr></thead><tbody>";
    for (const auto& d : disparity_definitions()) {
        std::string row = fmt::format("<tr><td>{}</td>", html_escape(d.title));
        bool any = false;
        for (const auto& g : r.groupings) {
            const DisparityValue* found = nullptr;
            for (const auto& v : g.disparities.between_groups)
                if (v.metric == d.metric) found = &v;
            any = any || found;
            row += found ? fmt::format("<td class=\"text\">{} <span class=\"value\">{}</span></td>",
                                       verdict_tag(found->verdict), html_escape(format_judged(*found)))
                         : "<td class=\"text\"><span class=\"tag na\">not computed</span></td>";
        }
        if (any) out += row + "</tr>";
    }
    out += "</tbody></table>";

    std::vector<std::string> clear, unclear, passed;
    for (const auto& g : r.groupings)
        for (const auto& v : g.disparities.between_groups) {
            const std::string item = fmt::format("<li>{}<b>{}</b> ({}): {}</li>", verdict_tag(v.verdict),
                                                 html_escape(definition_of(v.metric).title),
                                                 html_escape(grouping_name(g.attributes)), html_escape(explain(v, g)));
            if (v.verdict == Verdict::beyond_clear) clear.push_back(item);
            if (v.verdict == Verdict::beyond_unclear) unclear.push_back(item);
            if (v.verdict == Verdict::within_tolerance)
                passed.push_back(fmt::format("{} ({})", definition_of(v.metric).title, grouping_name(g.attributes)));
        }
    constexpr std::size_t shown_findings = 6;
    if (!clear.empty() || !unclear.empty()) {
        out += "<h3>What failed</h3><ul class=\"findings\">";
        std::size_t shown = 0;
        for (const auto* list : {&clear, &unclear})
            for (const auto& item : *list)
                if (shown++ < shown_findings) out += item;
        out += "</ul>";
        if (clear.size() + unclear.size() > shown_findings)
            out += fmt::format("<p class=\"note\">{} more across-group findings, and every group compared with its "
                               "reference group, are in the details below.</p>",
                               clear.size() + unclear.size() - shown_findings);
    }
    if (!passed.empty()) {
        out += "<h3>What passed</h3><p class=\"note\">Within tolerance across all groups: ";
        for (std::size_t i = 0; i < passed.size(); ++i) out += (i ? "; " : "") + html_escape(passed[i]);
        out += ".</p>";
    }
    out += "<nav>Details: ";
    for (std::size_t i = 0; i < r.groupings.size(); ++i)
        out += fmt::format("<a href=\"#grouping-{}\">{}</a>", i, html_escape(grouping_name(r.groupings[i].attributes)));
    out += "<a href=\"#definitions\">Definitions</a><a href=\"#window\">Data window</a></nav></section>\n";

    out += "<div class=\"legend\"><span><i style=\"background:#0072B2\"></i>within tolerance / rate</span>"
           "<span><i style=\"background:#fff;border:3px solid #E69F00;width:11px;height:11px\"></i>beyond tolerance, "
           "not clear</span><span><i class=\"sq\" style=\"background:#D55E00\"></i>beyond tolerance, clear</span>"
           "<span><i style=\"background:#9aa3b2\"></i>group too small</span><span><i class=\"bandkey\"></i>tolerance "
           "band</span></div>\n";

    for (std::size_t i = 0; i < r.groupings.size(); ++i) {
        const GroupingResult& g = r.groupings[i];
        out += fmt::format("<section id=\"grouping-{}\"><h2>By {}</h2>", i, html_escape(grouping_name(g.attributes)));
        std::size_t small = 0;
        for (const auto& m : g.groups) small += m.too_small ? 1 : 0;
        out += fmt::format("<p class=\"note\">{} groups{}. {}</p>", g.groups.size(),
                           small ? fmt::format(", {} below the minimum size of {} rows (listed, not compared)", small,
                                               r.options.metrics.min_group_size)
                                 : "",
                           g.disparities.reference_index
                               ? fmt::format("Reference group: <b>{}</b> ({}).",
                                             html_escape(g.groups[*g.disparities.reference_index].label),
                                             g.disparities.reference_configured ? "configured" : "the largest group")
                               : "Fewer than two groups reach the minimum size: no disparity is computed.");
        out += "<h3>Rates per group</h3>" + rate_panels(g, r);
        if (!g.disparities.to_reference.empty())
            out += "<h3>Disparities against the reference group</h3>" + disparity_panels(g, r);
        out += "<h3>Group metrics</h3>" + group_table(g, r.options.metrics.min_group_size);
        if (!g.disparities.between_groups.empty()) out += "<h3>All disparities</h3>" + disparity_table(g);
        out += "</section>\n";
    }
    out += trend_section(r);
    if (!r.representation.empty()) {
        out += "<section id=\"representation\"><h2>Who the model sees</h2><p class=\"note\">Pre-training (data) bias: "
               "each group's share of rows and base rate in the reference window against this one. A shift here "
               "changes the disparities above even when the model does not change.</p>";
        for (std::size_t shift_index = 0; shift_index < r.representation.size(); ++shift_index) {
            const auto& shift = r.representation[shift_index];
            out += fmt::format("<h3>By {}</h3><table><thead><tr><th class=\"text\">Group</th><th>Reference rows</th>"
                               "<th>Current rows</th><th>Reference share</th><th>Current share</th><th>Change</th>"
                               "<th>Base rate (reference)</th><th>Base rate (current)</th><th>Change</th></tr></thead>"
                               "<tbody>",
                               html_escape(grouping_name(shift.attributes)));
            const auto suppressed = suppressed_rows(r.representation, shift_index, r.options.metrics.min_group_size);
            for (std::size_t k = 0; k < shift.rows.size(); ++k) {
                const auto& row = shift.rows[k];
                if (suppressed[k]) {
                    out += fmt::format("<tr class=\"small\"><td>{} <small>too small: suppressed</small></td>"
                                       "<td colspan=\"8\" class=\"text\">fewer than {} rows in a window, or "
                                       "hidden with such a group: not shown</td></tr>",
                                       html_escape(row.label), r.options.metrics.min_group_size);
                    continue;
                }
                out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                   "<td>{}</td><td>{}</td></tr>",
                                   html_escape(row.label), row.reference_count, row.current_count,
                                   format_percent(row.reference_share), format_percent(row.current_share),
                                   html_escape(format_signed_points(row.share_difference)),
                                   format_percent(row.reference_base_rate), format_percent(row.current_base_rate),
                                   html_escape(format_signed_points(row.base_rate_difference)));
            }
            out += "</tbody></table>";
        }
        out += "</section>\n";
    }

    out += "<section id=\"definitions\"><h2>Definitions</h2><dl>";
    for (Rate rate : all_rates)
        out += fmt::format("<dt>{}</dt><dd>{}.</dd>", html_escape(title(rate)), html_escape(definition(rate)));
    for (const auto& d : disparity_definitions())
        out += fmt::format("<dt>{}</dt><dd>{} <small>Matches: {}.</small></dd>", html_escape(d.title),
                           html_escape(d.definition), html_escape(d.source));
    out += fmt::format(
        "<dt>Intervals and verdicts</dt><dd>Rates carry {0:.0f}% Wilson score intervals. Differences and ratios carry "
        "{0:.0f}% percentile bootstrap intervals ({1} replicates, stratified by group, seed {2}; calibration gaps get "
        "none). A disparity is <i>within tolerance</i> when its value is inside the band; <i>beyond tolerance, "
        "statistically clear</i> when the value and its whole interval are outside; <i>beyond tolerance, not "
        "clear</i> when the value is outside but the interval reaches into the band.</dd>",
        r.options.bootstrap.confidence * 100, r.options.bootstrap.replicates, r.options.bootstrap.seed);
    out += fmt::format("<dt>Tolerances</dt><dd>Ratios {} to {} (Aequitas's default; across groups min / max at least "
                       "{}, the four-fifths rule for selection rates); differences within \u00b1{:.1f} percentage "
                       "points; calibration gaps within \u00b1{:.1f} points. Groups under {} rows are too small to "
                       "compare.</dd></dl></section>\n",
                       format_ratio(r.options.tolerance.ratio_lower), format_ratio(r.options.tolerance.ratio_upper),
                       format_ratio(r.options.tolerance.ratio_lower), r.options.tolerance.difference * 100,
                       r.options.tolerance.calibration_difference * 100, r.options.metrics.min_group_size);

    out += fmt::format("<section id=\"window\"><h2>Data window</h2><table><tbody>"
                       "<tr><td>Source</td><td class=\"text\">{}</td></tr>"
                       "<tr><td>Window</td><td class=\"text\">{}</td></tr>"
                       "<tr><td>Rows audited</td><td class=\"text\">{}</td></tr>"
                       "<tr><td>Rows rejected</td><td class=\"text\">{}</td></tr>"
                       "<tr><td>Positive label</td><td class=\"text\">{}</td></tr>"
                       "<tr><td>Scores</td><td class=\"text\">{}</td></tr>"
                       "<tr><td>Overall</td><td class=\"text\">base rate {}, selection rate {}, accuracy {}</td></tr>"
                       "</tbody></table></section>\n",
                       html_escape(r.window.source), html_escape(r.window.description), r.window.rows,
                       r.window.rows_rejected, html_escape(r.window.positive_label),
                       r.has_scores ? "present: calibration measured" : "absent: no calibration",
                       format_percent(r.overall.rate(Rate::base_rate).value),
                       format_percent(r.overall.rate(Rate::selection_rate).value),
                       format_percent(r.overall.rate(Rate::accuracy).value));
    out += fmt::format("<footer>modelwatch fairness audit \u00b7 report schema {} \u00b7 generated {}</footer>\n",
                       1, html_escape(r.generated_at));
    out += "</main></body></html>\n";
    return out;
}

}  // namespace mw::fairness
