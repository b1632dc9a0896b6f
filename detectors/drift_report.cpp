#include "detectors/drift_report.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mw::drift {

namespace {

using nlohmann::json;

std::string number(double value) {
    if (std::isnan(value)) return "-";
    return fmt::format("{:.4g}", value);
}

std::string optional_number(const std::optional<double>& value) {
    return value ? number(*value) : "-";
}

json json_number(double value) {
    return std::isfinite(value) ? json(value) : json(nullptr);
}
json json_optional(const std::optional<double>& value) {
    return value ? json_number(*value) : json(nullptr);
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string mode_name(DriftMode mode) {
    return mode == DriftMode::robust ? "robust" : "legacy";
}

std::string verdict_word(const FeatureDriftResult& feature) {
    if (!feature.ok()) return "error";
    return feature.drifted ? "DRIFT" : "ok";
}

json feature_json(const FeatureDriftResult& feature, const DriftOptions& options) {
    json out{
        {"column", feature.feature},
        {"method", to_string(feature.method)},
        {"kind", feature.categorical ? "categorical" : "numeric"},
        {"statistic", json_number(feature.statistic)},
        {"p_value", json_optional(feature.p_value)},
        {"adjusted_p_value", json_optional(feature.adjusted_p_value)},
        {"threshold", feature.threshold},
        {"test_significant", feature.test_significant},
        {"drifted", feature.drifted},
        {"effect_size", json_number(feature.effect_size)},
        {"effect_size_method", feature.categorical ? "jensenshannon" : "wasserstein"},
        {"reference_rows", feature.reference_rows},
        {"current_rows", feature.current_rows},
        {"current_missing", feature.current_missing},
        {"definition", statistic_definition(feature.method, feature.categorical, options)},
    };
    if (feature.noise) {
        out["noise_baseline"] = {{"mean", feature.noise->mean},
                                 {"sd", feature.noise->sd},
                                 {"limit", feature.noise->limit},
                                 {"resamples", feature.noise->resamples},
                                 {"sample_rows", feature.noise->sample_rows}};
    } else {
        out["noise_baseline"] = nullptr;
    }
    json unseen = json::array();
    for (const auto& category : feature.unseen_categories)
        unseen.push_back({{"value", category.value}, {"count", category.count}});
    out["unseen_categories"] = unseen;
    out["unseen_distinct"] = feature.unseen_distinct;
    out["unseen_rows"] = feature.unseen_rows;
    out["error"] = feature.ok() ? json(nullptr) : json(feature.error);
    return out;
}

json verdict_json(const DriftVerdict& verdict, const DriftOptions& options) {
    json features = json::array();
    for (const auto& feature : verdict.features) features.push_back(feature_json(feature, options));
    return {{"features", features},
            {"dataset",
             {{"evaluated_features", verdict.evaluated},
              {"drifted_features", verdict.drifted},
              {"share", verdict.share},
              {"drift_share", options.drift_share},
              {"dataset_drift", verdict.dataset_drift}}}};
}

json multivariate_json(const MultivariateDriftResult& m, const MultivariateOptions& options) {
    if (!options.enabled) return nullptr;
    return {{"method", "pca_reconstruction_error"},
            {"evaluated", m.evaluated},
            {"columns", m.columns},
            {"components", m.components},
            {"explained_variance_share", m.explained_variance_share},
            {"chunk_rows", m.chunk_rows},
            {"chunks", m.chunks},
            {"reference_mean", m.reference_mean},
            {"reference_sd", m.reference_sd},
            {"lower_threshold", m.lower},
            {"upper_threshold", m.upper},
            {"current_error", json_number(m.current_error)},
            {"drifted", m.drifted},
            {"definition", multivariate_definition(options)},
            {"error", m.error.empty() ? json(nullptr) : json(m.error)}};
}

// The text table: one line per feature, columns aligned.
void append_table(std::string& out, const DriftVerdict& verdict) {
    std::size_t width = 6;
    for (const auto& feature : verdict.features) width = std::max(width, feature.feature.size());
    out += fmt::format("{:<{}}  {:<13}  {:>10}  {:>10}  {:>10}  {:>9}  {:>8}  {:>8}  {}\n", "column", width, "method",
                       "statistic", "p-value", "adj. p", "threshold", "effect", "noise", "verdict");
    for (const auto& f : verdict.features) {
        out +=
            fmt::format("{:<{}}  {:<13}  {:>10}  {:>10}  {:>10}  {:>9}  {:>8}  {:>8}  {}", f.feature, width,
                        to_string(f.method), f.ok() ? number(f.statistic) : "-", optional_number(f.p_value),
                        optional_number(f.adjusted_p_value), number(f.threshold), f.ok() ? number(f.effect_size) : "-",
                        f.noise ? number(f.noise->limit) : "-", verdict_word(f));
        if (!f.ok()) out += "  (" + f.error + ")";
        if (!f.unseen_categories.empty()) {
            out += "  unseen:";
            const std::size_t shown = std::min<std::size_t>(f.unseen_categories.size(), 5);
            for (std::size_t i = 0; i < shown; ++i)
                out += fmt::format(" {}={}", f.unseen_categories[i].value, f.unseen_categories[i].count);
            if (shown < f.unseen_distinct) out += fmt::format(" (+{} more values)", f.unseen_distinct - shown);
        }
        out += '\n';
    }
}

std::string share_line(const DriftVerdict& verdict, const DriftOptions& options) {
    return fmt::format("{} of {} features drifted (share {:.3g}, dataset drift at >= {:.3g}): {}", verdict.drifted,
                       verdict.evaluated, verdict.share, options.drift_share,
                       verdict.dataset_drift ? "DATASET DRIFT" : "no dataset drift");
}

// Inline SVG: reference and current shares per bin or category, side by side.
std::string distribution_svg(const FeatureDriftResult& f) {
    constexpr double width = 640, height = 220, left = 44, bottom = 40, top = 14;
    const std::size_t bins = f.bin_labels.size();
    if (bins == 0 || f.reference_shares.size() != bins || f.current_shares.size() != bins) return "";
    double peak = 0;
    for (std::size_t i = 0; i < bins; ++i) peak = std::max({peak, f.reference_shares[i], f.current_shares[i]});
    if (peak <= 0) peak = 1;
    const double plot_width = width - left - 10, plot_height = height - top - bottom;
    const double slot = plot_width / static_cast<double>(bins);
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
        "aria-label=\"{2} distribution\">",
        width, height, html_escape(f.feature));
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#8a93a3\"/>", left,
                       top + plot_height, width - 10);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5a6476\">{:.0f}%</text>",
                       left - 4, top + 4, peak * 100);
    for (std::size_t i = 0; i < bins; ++i) {
        const double x = left + slot * static_cast<double>(i);
        const double bar = std::max(1.0, slot / 2 - 1);
        const double hr = plot_height * f.reference_shares[i] / peak;
        const double hc = plot_height * f.current_shares[i] / peak;
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#56B4E9\"><title>"
            "reference {}: {:.2f}%</title></rect>",
            x + 1, top + plot_height - hr, bar, hr, html_escape(f.bin_labels[i]), f.reference_shares[i] * 100);
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#D55E00\"><title>"
            "current {}: {:.2f}%</title></rect>",
            x + 1 + bar, top + plot_height - hc, bar, hc, html_escape(f.bin_labels[i]), f.current_shares[i] * 100);
        const bool label = bins <= 12 || i % ((bins + 9) / 10) == 0;
        if (label) {
            std::string text = f.bin_labels[i].size() > 12 ? f.bin_labels[i].substr(0, 11) + "…" : f.bin_labels[i];
            svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" fill=\"#5a6476\">{}</text>", x + 1,
                               top + plot_height + 14, html_escape(text));
        }
    }
    svg += fmt::format(
        "<rect x=\"{0}\" y=\"{1}\" width=\"10\" height=\"10\" fill=\"#56B4E9\"/><text x=\"{2}\" y=\"{3}\" "
        "font-size=\"11\">reference</text><rect x=\"{4}\" y=\"{1}\" width=\"10\" height=\"10\" fill=\"#D55E00\"/>"
        "<text x=\"{5}\" y=\"{3}\" font-size=\"11\">current</text>",
        left, height - 14, left + 14, height - 5, left + 90, left + 104);
    svg += "</svg>";
    return svg;
}

void append_html_table(std::string& out, const DriftVerdict& verdict) {
    out +=
        "<table><thead><tr><th>column</th><th>method</th><th>statistic</th><th>p-value</th><th>adj. p</th>"
        "<th>threshold</th><th>effect size</th><th>noise limit</th><th>verdict</th></tr></thead><tbody>";
    for (const auto& f : verdict.features) {
        out += fmt::format(
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}",
            f.drifted ? "drift" : "", html_escape(f.feature), to_string(f.method), f.ok() ? number(f.statistic) : "-",
            optional_number(f.p_value), optional_number(f.adjusted_p_value), number(f.threshold),
            f.ok() ? number(f.effect_size) : "-", f.noise ? number(f.noise->limit) : "-", verdict_word(f));
        if (!f.ok()) out += " (" + html_escape(f.error) + ")";
        if (!f.unseen_categories.empty()) {
            out += fmt::format("<br><small>{} unseen values in {} rows:", f.unseen_distinct, f.unseen_rows);
            const std::size_t shown = std::min<std::size_t>(f.unseen_categories.size(), 8);
            for (std::size_t i = 0; i < shown; ++i)
                out += fmt::format(" {}={}", html_escape(f.unseen_categories[i].value), f.unseen_categories[i].count);
            if (shown < f.unseen_distinct) out += " …";
            out += "</small>";
        }
        out += "</td></tr>";
    }
    out += "</tbody></table>";
}

constexpr const char* stylesheet = R"css(
body{margin:0;color:#1b2230;font:15px/1.5 system-ui,"Segoe UI",Roboto,"Liberation Sans",sans-serif}
main{max-width:1100px;margin:0 auto;padding:28px 40px 60px}
h1{font-size:26px;margin:0 0 6px}h2{font-size:20px;margin:34px 0 8px;border-top:1px solid #dde2ea;padding-top:10px}
.meta{color:#5a6476;margin:0}
.summary{border:1px solid #dde2ea;border-left:6px solid #009E73;border-radius:8px;padding:14px 20px;margin:18px 0;
background:#f5f7fa;font-size:17px;font-weight:600}
.summary.fail{border-left-color:#D55E00}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #dde2ea;padding:5px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th:last-child,td:last-child{text-align:left;max-width:320px}td small{font-weight:400;color:#5a6476}
th{background:#f5f7fa}tr.drift td{background:#fbe9e0;font-weight:600}
.chart{margin:10px 0 22px}.chart h3{font-size:15px;margin:14px 0 4px}
dl.defs dt{font-weight:600;margin-top:8px}dl.defs dd{margin:2px 0 0 18px;color:#3a4354}
)css";

}  // namespace

std::string effect_size_definition() {
    return "numeric features: normalised Wasserstein = W1(reference, current) / max(population sd of the reference "
           "(ddof=0), 0.001), as Evidently; categorical features: Jensen-Shannon distance with natural logarithms "
           "(Evidently's base; NannyML uses base 2) over the reference categories plus an explicit unseen bin";
}

std::string noise_baseline_definition(const DriftOptions& options) {
    return fmt::format(
        "the effect size of {} bootstrap resamples (with replacement, seed {}) of the reference, each of the current "
        "window's size, against the reference; limit = mean + {} * sd (ddof=1)",
        options.noise_resamples, options.seed, options.noise_sd_multiplier);
}

std::string verdict_definition(const DriftOptions& options) {
    if (options.mode == DriftMode::legacy)
        return "legacy (Evidently) mode: a feature drifts when its p-value < threshold (tests) or its statistic >= "
               "threshold (distances); no correction, no effect-size gate";
    return fmt::format(
        "robust mode: a feature drifts when (a) its p-value after the {} correction across the features of the "
        "evaluation is < threshold (tests) or its statistic >= threshold (distances), AND (b) its effect size > {} "
        "(floor){}",
        to_string(options.correction), options.effect_floor,
        options.noise_resamples > 0 ? ", AND (c) its effect size > the noise baseline limit" : "");
}

std::string multivariate_definition(const MultivariateOptions& options) {
    return fmt::format(
        "PCA reconstruction error as NannyML's DataReconstructionDriftCalculator: numeric features standardised "
        "with the reference mean and population sd (missing -> mean), PCA of the reference correlation matrix "
        "(Jacobi eigen-decomposition) keeping the fewest components explaining >= {:.0f}% of the variance; error = "
        "mean over rows of the Euclidean distance between a standardised row and its reconstruction; drift when "
        "outside reference chunk mean +- {} sd (ddof=1); chunks of the current window's size if the reference holds "
        ">= {} of them, else {} equal chunks",
        options.variance_share * 100, options.sd_multiplier, options.min_chunks, options.fallback_chunks);
}

std::string render_text(const DatasetDriftResult& result, const DatasetDriftOptions& options,
                        const ReportSources& sources) {
    std::string out =
        fmt::format("drift report: reference {} ({} rows) vs current {} ({} rows), {} mode", sources.reference,
                    result.reference_rows, sources.current, result.current_rows, mode_name(options.feature.mode));
    if (options.feature.mode == DriftMode::robust)
        out += fmt::format(", {} correction, effect floor {}", to_string(options.feature.correction),
                           options.feature.effect_floor);
    out += "\n\n";
    append_table(out, result.overall);
    out += '\n' + share_line(result.overall, options.feature) + '\n';
    if (options.multivariate.enabled) {
        const auto& m = result.multivariate;
        if (m.evaluated)
            out += fmt::format(
                "multivariate (PCA reconstruction error, {} components, {:.0f}% variance): {:.4g} vs "
                "reference band [{:.4g}, {:.4g}]: {}\n",
                m.components, m.explained_variance_share * 100, m.current_error, m.lower, m.upper,
                m.drifted ? "DRIFT" : "ok");
        else
            out += "multivariate: not evaluated (" + m.error + ")\n";
    }
    for (const auto& segment : result.segments) {
        out += fmt::format("\nsegment {}={} (reference {} rows, current {} rows)", result.segment_column, segment.value,
                           segment.reference_rows, segment.current_rows);
        if (!segment.error.empty()) {
            out += ": not evaluated (" + segment.error + ")\n";
            continue;
        }
        out += "\n";
        append_table(out, segment.verdict);
        out += share_line(segment.verdict, options.feature) + '\n';
    }
    return out;
}

std::string render_json(const DatasetDriftResult& result, const DatasetDriftOptions& options,
                        const ReportSources& sources) {
    const auto& feature_options = options.feature;
    json out = verdict_json(result.overall, feature_options);
    out["reference"] = {{"source", sources.reference}, {"rows", result.reference_rows}};
    out["current"] = {{"source", sources.current}, {"rows", result.current_rows}};
    out["mode"] = mode_name(feature_options.mode);
    out["correction"] = feature_options.mode == DriftMode::robust ? to_string(feature_options.correction) : "none";
    out["effect_floor"] = feature_options.effect_floor;
    out["definitions"] = {
        {"verdict", verdict_definition(feature_options)},
        {"effect_size", effect_size_definition()},
        {"noise_baseline", noise_baseline_definition(feature_options)},
        {"dataset_drift", fmt::format("drifted features / evaluated features >= {}", feature_options.drift_share)}};
    out["multivariate"] = multivariate_json(result.multivariate, options.multivariate);
    json segments = json::array();
    for (const auto& segment : result.segments) {
        json entry = segment.error.empty() ? verdict_json(segment.verdict, feature_options) : json::object();
        entry["value"] = segment.value;
        entry["reference_rows"] = segment.reference_rows;
        entry["current_rows"] = segment.current_rows;
        entry["error"] = segment.error.empty() ? json(nullptr) : json(segment.error);
        segments.push_back(entry);
    }
    out["segment_column"] = result.segment_column.empty() ? json(nullptr) : json(result.segment_column);
    out["segments"] = segments;
    // Column names and categories come from the input files and need not be
    // UTF-8: invalid bytes become U+FFFD rather than failing the report.
    return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string render_html(const DatasetDriftResult& result, const DatasetDriftOptions& options,
                        const ReportSources& sources) {
    const auto& o = result.overall;
    std::string out =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>modelwatch drift report"
        "</title><style>";
    out += stylesheet;
    out += "</style></head><body><main>";
    out += fmt::format(
        "<h1>Drift report</h1><p class=\"meta\">reference {} ({} rows) vs current {} ({} rows), {} mode</p>",
        html_escape(sources.reference), result.reference_rows, html_escape(sources.current), result.current_rows,
        mode_name(options.feature.mode));
    out += fmt::format("<div class=\"summary{}\">{}</div>", o.dataset_drift ? " fail" : "",
                       html_escape(share_line(o, options.feature)));
    append_html_table(out, o);
    if (options.multivariate.enabled) {
        const auto& m = result.multivariate;
        out += "<h2>Multivariate drift</h2><p>";
        if (m.evaluated)
            out += fmt::format(
                "PCA reconstruction error {:.4g} vs reference band [{:.4g}, {:.4g}] ({} components, "
                "{:.0f}% of the variance, {} features): <b>{}</b>",
                m.current_error, m.lower, m.upper, m.components, m.explained_variance_share * 100, m.columns.size(),
                m.drifted ? "DRIFT" : "no drift");
        else
            out += "not evaluated: " + html_escape(m.error);
        out += "</p>";
    }
    bool any_chart = false;
    for (const auto& f : o.features) {
        if (!f.drifted) continue;
        if (!any_chart) out += "<h2>Distributions of the drifted features</h2>";
        any_chart = true;
        out += fmt::format("<div class=\"chart\"><h3>{} ({}, effect size {})</h3>{}</div>", html_escape(f.feature),
                           to_string(f.method), number(f.effect_size), distribution_svg(f));
    }
    for (const auto& segment : result.segments) {
        out += fmt::format("<h2>Segment {} = {}</h2><p class=\"meta\">reference {} rows, current {} rows</p>",
                           html_escape(result.segment_column), html_escape(segment.value), segment.reference_rows,
                           segment.current_rows);
        if (!segment.error.empty()) {
            out += "<p>not evaluated: " + html_escape(segment.error) + "</p>";
            continue;
        }
        out += fmt::format("<p>{}</p>", html_escape(share_line(segment.verdict, options.feature)));
        append_html_table(out, segment.verdict);
    }
    out += "<h2>Definitions</h2><dl class=\"defs\">";
    out += "<dt>verdict</dt><dd>" + html_escape(verdict_definition(options.feature)) + "</dd>";
    out += "<dt>effect size</dt><dd>" + html_escape(effect_size_definition()) + "</dd>";
    if (options.feature.mode == DriftMode::robust && options.feature.noise_resamples > 0)
        out += "<dt>noise limit</dt><dd>" + html_escape(noise_baseline_definition(options.feature)) + "</dd>";
    std::set<std::pair<DriftMethod, bool>> methods;
    for (const auto& f : o.features) methods.insert({f.method, f.categorical});
    for (const auto& [method, categorical] : methods)
        out += fmt::format("<dt>{} ({})</dt><dd>{}</dd>", to_string(method), categorical ? "categorical" : "numeric",
                           html_escape(statistic_definition(method, categorical, options.feature)));
    if (options.multivariate.enabled)
        out += "<dt>multivariate</dt><dd>" + html_escape(multivariate_definition(options.multivariate)) + "</dd>";
    out += "</dl></main></body></html>\n";
    return out;
}

}  // namespace mw::drift
