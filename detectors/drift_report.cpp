#include "detectors/drift_report.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/html.h"

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
        {"reason", verdict_reason(feature, options)},
        {"reference_rows", feature.reference_rows},
        {"reference_missing", feature.reference_missing},
        {"reference_constant", feature.reference_distinct == 1},
        {"current_rows", feature.current_rows},
        {"current_missing", feature.current_missing},
        {"definition", statistic_definition(*feature.method, feature.categorical, options)},
    };
    if (!feature.reference_quantiles.empty()) {
        json levels = json::array();
        for (double level : report_quantile_levels) levels.push_back(level);
        out["quantile_levels"] = levels;
        out["reference_quantiles"] = feature.reference_quantiles;
        out["current_quantiles"] = feature.current_quantiles;
    }
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
    out["unseen_share"] = feature.current_rows > 0 ? json(static_cast<double>(feature.unseen_rows) /
                                                          static_cast<double>(feature.current_rows))
                                                   : json(nullptr);
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

// The text table: one line per feature, columns aligned, then why.
void append_table(std::string& out, const DriftVerdict& verdict, const DriftOptions& options) {
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
        out += "  " + verdict_reason(f, options);
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

// Inline SVG, one small multiple: reference and current shares per bin or
// category side by side, with axis titles.
std::string distribution_svg(const FeatureDriftResult& f) {
    constexpr double width = 340, height = 210, left = 46, right = 8, bottom = 58, top = 12;
    const std::size_t bins = f.bin_labels.size();
    if (bins == 0 || f.reference_shares.size() != bins || f.current_shares.size() != bins) return "";
    double peak = 0;
    for (std::size_t i = 0; i < bins; ++i) peak = std::max({peak, f.reference_shares[i], f.current_shares[i]});
    if (peak <= 0) peak = 1;
    const double plot_width = width - left - right, plot_height = height - top - bottom;
    const double slot = plot_width / static_cast<double>(bins);
    const double axis_y = top + plot_height;
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
        "aria-label=\"{2} distribution\">",
        width, height, html_escape(f.feature));
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#8a93a3\"/>", left, axis_y,
                       width - right);
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#8a93a3\"/>", left, top, axis_y);
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" fill=\"#5a6476\">{:.0f}%</text>"
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" fill=\"#5a6476\">0</text>",
        left - 3, top + 8, peak * 100, left - 3, axis_y);
    // Axis titles.
    svg += fmt::format(
        "<text transform=\"translate(11 {:.1f}) rotate(-90)\" font-size=\"10\" text-anchor=\"middle\" "
        "fill=\"#3a4354\">share of rows</text>",
        top + plot_height / 2);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#3a4354\">{}</text>",
                       left + plot_width / 2, height - 20,
                       f.categorical ? "category" : fmt::format("{} (lower edge of {} equal-width bins)",
                                                                html_escape(f.feature), bins));
    for (std::size_t i = 0; i < bins; ++i) {
        const double x = left + slot * static_cast<double>(i);
        const double bar = std::max(1.0, slot / 2 - 1);
        const double hr = plot_height * f.reference_shares[i] / peak;
        const double hc = plot_height * f.current_shares[i] / peak;
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#56B4E9\"><title>"
            "reference {}: {:.2f}%</title></rect>",
            x + 1, axis_y - hr, bar, hr, html_escape(f.bin_labels[i]), f.reference_shares[i] * 100);
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#D55E00\"><title>"
            "current {}: {:.2f}%</title></rect>",
            x + 1 + bar, axis_y - hc, bar, hc, html_escape(f.bin_labels[i]), f.current_shares[i] * 100);
        const std::size_t every = bins <= 6 ? 1 : (bins + 4) / 5;
        if (i % every == 0) {
            std::string text = f.bin_labels[i].size() > 10 ? f.bin_labels[i].substr(0, 9) + "…" : f.bin_labels[i];
            svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" fill=\"#5a6476\">{}</text>", x + 1,
                               axis_y + 12, html_escape(text));
        }
    }
    svg += fmt::format(
        "<rect x=\"{0}\" y=\"{1}\" width=\"9\" height=\"9\" fill=\"#56B4E9\"/><text x=\"{2}\" y=\"{3}\" "
        "font-size=\"10\">reference</text><rect x=\"{4}\" y=\"{1}\" width=\"9\" height=\"9\" fill=\"#D55E00\"/>"
        "<text x=\"{5}\" y=\"{3}\" font-size=\"10\">current</text>",
        left, height - 11, left + 13, height - 3, left + 80, left + 93);
    svg += "</svg>";
    return svg;
}

std::string percent(std::size_t part, std::size_t whole) {
    return whole == 0 ? "-" : fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

// The facts under a small multiple: sizes, missing shares, and quantiles
// (numeric) or the most frequent categories (categorical).
std::string feature_facts(const FeatureDriftResult& f) {
    std::string out = fmt::format(
        "n: reference {}, current {}; missing: reference {}, current {}", f.reference_rows, f.current_rows,
        percent(f.reference_missing, f.reference_rows + f.reference_missing),
        percent(f.current_missing, f.current_rows + f.current_missing));
    if (!f.reference_quantiles.empty()) {
        out += "<br>quantiles";
        for (double level : report_quantile_levels) out += fmt::format(" p{:.0f}", level * 100);
        out += ":<br>&nbsp;reference";
        for (double q : f.reference_quantiles) out += fmt::format(" {}", number(q));
        out += "<br>&nbsp;current";
        for (double q : f.current_quantiles) out += fmt::format(" {}", number(q));
    } else if (!f.bin_labels.empty()) {
        auto top = [&](const std::vector<double>& shares) {
            std::vector<std::size_t> order(shares.size());
            for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
            std::stable_sort(order.begin(), order.end(),
                             [&](std::size_t a, std::size_t b) { return shares[a] > shares[b]; });
            std::string text;
            for (std::size_t k = 0; k < std::min<std::size_t>(3, order.size()); ++k)
                text += fmt::format("{}{} {:.1f}%", k > 0 ? ", " : " ", html_escape(f.bin_labels[order[k]]),
                                    shares[order[k]] * 100);
            return text;
        };
        out += "<br>top categories:<br>&nbsp;reference" + top(f.reference_shares) + "<br>&nbsp;current" +
               top(f.current_shares);
    }
    return out;
}

void append_html_table(std::string& out, const DriftVerdict& verdict, const DriftOptions& options) {
    out +=
        "<table><thead><tr><th>column</th><th>method</th><th>statistic</th><th>p-value</th><th>adj. p</th>"
        "<th>threshold</th><th>effect size</th><th>noise limit</th><th>verdict</th></tr></thead><tbody>";
    for (const auto& f : verdict.features) {
        out += fmt::format(
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}<br><small>{}</small>",
            f.drifted ? "drift" : "", html_escape(f.feature), to_string(f.method), f.ok() ? number(f.statistic) : "-",
            optional_number(f.p_value), optional_number(f.adjusted_p_value), number(f.threshold),
            f.ok() ? number(f.effect_size) : "-", f.noise ? number(f.noise->limit) : "-", verdict_word(f),
            html_escape(verdict_reason(f, options)));
        if (!f.unseen_categories.empty()) {
            out += fmt::format("<br><small>{} unseen values in {} rows ({}):", f.unseen_distinct, f.unseen_rows,
                               percent(f.unseen_rows, f.current_rows));
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

std::string excluded_note(const std::vector<ExcludedColumn>& excluded) {
    std::string out;
    for (const auto& column : excluded)
        out += fmt::format("{}{} ({})", out.empty() ? "" : "; ", column.name, column.reason);
    return out;
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
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(350px,1fr));gap:14px}
.chart{border:1px solid #dde2ea;border-radius:6px;padding:8px 10px}.chart.drift{border-color:#D55E00}
.chart h3{font-size:14px;margin:0 0 2px}.chart p{font-size:12px;color:#3a4354;margin:4px 0 0}
dl.defs dt{font-weight:600;margin-top:8px}dl.defs dd{margin:2px 0 0 18px;color:#3a4354}
)css";

}  // namespace

std::string effect_size_definition() {
    return "numeric features: normalised Wasserstein = W1(reference, current) / max(population sd of the reference "
           "(ddof=0), 0.001), as Evidently; categorical features: Jensen-Shannon distance with natural logarithms "
           "(Evidently's base; NannyML uses base 2) over one bin per category (each category seen only in the current "
           "window is its own bin with reference count 0)";
}

std::string verdict_reason(const FeatureDriftResult& f, const DriftOptions& options) {
    if (!f.ok()) return "not evaluated: " + f.error;
    std::string why;
    const bool test = f.p_value.has_value();
    const double p = f.adjusted_p_value.value_or(f.p_value.value_or(0));
    const std::string p_name = f.adjusted_p_value ? "adjusted p" : "p";
    const std::string evidence =
        test ? fmt::format("{} {} {} {}", p_name, number(p), f.test_significant ? "<" : ">=", number(f.threshold))
             : fmt::format("statistic {} {} {}", number(f.statistic), f.test_significant ? ">=" : "<",
                           number(f.threshold));
    if (options.mode == DriftMode::legacy || !f.test_significant) {
        why = evidence;
    } else if (!(f.effect_size > options.effect_floor)) {
        why = fmt::format("{} but effect size {} is under the floor {}", evidence, number(f.effect_size),
                          number(options.effect_floor));
    } else if (f.noise && !(f.effect_size > f.noise->limit)) {
        why = fmt::format("{} but effect size {} is within the noise of reference resamples (limit {})", evidence,
                          number(f.effect_size), number(f.noise->limit));
    } else {
        why = fmt::format("{}, effect size {} > floor {}{}", evidence, number(f.effect_size),
                          number(options.effect_floor),
                          f.noise ? fmt::format(" and > noise limit {}", number(f.noise->limit)) : std::string());
    }
    if (f.reference_distinct == 1)
        why += "; the reference is constant (one distinct value): check its data quality";
    return why;
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
    out += "\n";
    if (!sources.excluded.empty())
        out += "not compared: " + excluded_note(sources.excluded) + " (name them in --columns to compare them)\n";
    out += "\n";
    append_table(out, result.overall, options.feature);
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
        append_table(out, segment.verdict, options.feature);
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
    json excluded = json::array();
    for (const auto& column : sources.excluded)
        excluded.push_back({{"column", column.name}, {"reason", column.reason}});
    out["excluded_columns"] = excluded;
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
    if (!sources.excluded.empty())
        out += "<p class=\"meta\">not compared: " + html_escape(excluded_note(sources.excluded)) +
               " (name them in --columns to compare them)</p>";
    append_html_table(out, o, options.feature);
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
    // Every feature, drifted first (stable: otherwise in column order).
    std::vector<const FeatureDriftResult*> charted;
    for (const auto& f : o.features) charted.push_back(&f);
    std::stable_sort(charted.begin(), charted.end(),
                     [](const FeatureDriftResult* a, const FeatureDriftResult* b) { return a->drifted > b->drifted; });
    out += "<h2>Distributions</h2><div class=\"charts\">";
    for (const FeatureDriftResult* f : charted) {
        out += fmt::format("<div class=\"chart{}\"><h3>{}: {}</h3><p>{}, {}, effect size {}</p>{}<p>{}</p></div>",
                           f->drifted ? " drift" : "", html_escape(f->feature), verdict_word(*f),
                           f->categorical ? "categorical" : "numeric", to_string(f->method),
                           f->ok() ? number(f->effect_size) : "-", distribution_svg(*f), feature_facts(*f));
    }
    out += "</div>";
    for (const auto& segment : result.segments) {
        out += fmt::format("<h2>Segment {} = {}</h2><p class=\"meta\">reference {} rows, current {} rows</p>",
                           html_escape(result.segment_column), html_escape(segment.value), segment.reference_rows,
                           segment.current_rows);
        if (!segment.error.empty()) {
            out += "<p>not evaluated: " + html_escape(segment.error) + "</p>";
            continue;
        }
        out += fmt::format("<p>{}</p>", html_escape(share_line(segment.verdict, options.feature)));
        append_html_table(out, segment.verdict, options.feature);
    }
    out += "<h2>Definitions</h2><dl class=\"defs\">";
    out += "<dt>verdict</dt><dd>" + html_escape(verdict_definition(options.feature)) + "</dd>";
    out += "<dt>effect size</dt><dd>" + html_escape(effect_size_definition()) + "</dd>";
    if (options.feature.mode == DriftMode::robust && options.feature.noise_resamples > 0)
        out += "<dt>noise limit</dt><dd>" + html_escape(noise_baseline_definition(options.feature)) + "</dd>";
    // Each method used, in registry order, numeric before categorical.
    std::set<std::pair<const DriftMethod*, bool>> used;
    for (const auto& f : o.features) used.insert({f.method, f.categorical});
    for (const auto& method : drift_methods())
        for (const bool categorical : {false, true})
            if (used.count({&method, categorical}) > 0)
                out += fmt::format("<dt>{} ({})</dt><dd>{}</dd>", method.info.name,
                                   categorical ? "categorical" : "numeric",
                                   html_escape(statistic_definition(method, categorical, options.feature)));
    if (options.multivariate.enabled)
        out += "<dt>multivariate</dt><dd>" + html_escape(multivariate_definition(options.multivariate)) + "</dd>";
    out += "</dl></main></body></html>\n";
    return out;
}

namespace {

constexpr DriftReportFormat drift_report_format_table[] = {
    {{"text", "a table per evaluation, for a terminal"}, render_text},
    {{"json", "every number of the report, for programs"}, render_json},
    {{"html", "a self-contained page with a chart per feature"}, render_html},
};

}  // namespace

std::span<const DriftReportFormat> drift_report_formats() { return drift_report_format_table; }

}  // namespace mw::drift
