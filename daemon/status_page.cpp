#include "daemon/status_page.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <pqxx/result>
#include <pqxx/transaction>

#include "alerts/outbox.h"
#include "alerts/alert_rules.h"
#include "core/html.h"
#include "core/time.h"
#include "retrain/job_queue.h"
#include "retrain/policy_store.h"
#include "store/admin_queries.h"

namespace mw::daemon {
namespace {

using nlohmann::json;

// Rows the page reads per model: enough windows to find the latest judged
// one behind a few unlabelled ones, the newest jobs, the open alerts shown.
constexpr std::int64_t windows_read = 50;
constexpr int jobs_shown = 5;
constexpr std::size_t alerts_shown = 50;

constexpr const char* stylesheet = R"css(
:root{--ink:#1b2230;--muted:#5a6476;--line:#dde2ea;--panel:#f5f7fa;--bad:#b3261e;--warn:#8a5a00;--ok:#1e6b3a}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);margin:0;background:#fff}
header{padding:14px 24px;border-bottom:1px solid var(--line);background:var(--panel)}
header h1{font-size:20px;margin:0}
header p{margin:2px 0 0;color:var(--muted)}
main{padding:8px 24px 32px;max-width:1200px}
section.model{border:1px solid var(--line);border-radius:6px;margin:18px 0;padding:4px 16px 12px}
h2{font-size:18px;margin:10px 0}
h3{font-size:14px;margin:12px 0 4px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:12px}
.card{background:var(--panel);border-radius:4px;padding:6px 12px;overflow-x:auto}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:4px 0}
dt{color:var(--muted)}dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;margin-left:6px;
  vertical-align:middle;border:1px solid currentColor}
.bad{color:var(--bad)}.warn{color:var(--warn)}.ok{color:var(--ok)}.muted{color:var(--muted)}
pre{background:var(--panel);padding:8px;overflow:auto;font-size:13px}
)css";

std::string e(std::string_view text) { return html_escape(text); }

// A JSON value as text: strings as they are, numbers with 4 significant
// digits, null as a dash.
std::string text_of(const json& value) {
    if (value.is_null()) return "-";
    if (value.is_string()) return value.get<std::string>();
    if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
    if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
    if (value.is_number()) {
        const double number = value.get<double>();
        return std::isfinite(number) ? fmt::format("{:.4g}", number) : "-";
    }
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string field(const json& row, const char* key) {
    return row.is_object() && row.contains(key) ? e(text_of(row[key])) : "-";
}

std::string page(const std::string& title, const std::string& header_line, const std::string& body) {
    return fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<title>{0}</title><style>{1}</style></head>\n<body><header><h1>{0}</h1><p>{2}</p></header>\n<main>{3}</main>"
        "</body></html>\n",
        e(title), stylesheet, header_line, body);
}

std::string finding_link(const json& id) {
    if (!id.is_number_integer()) return "-";
    return fmt::format("<a href=\"/v1/findings/{0}\">#{0}</a>", id.get<std::int64_t>());
}

std::string window_card(const ModelStatus& status) {
    const auto& w = status.latest_window;
    if (!w.is_object()) return "<div class=\"card latest-window\"><h3>Latest window</h3><p class=\"muted\">none closed yet</p></div>";
    return fmt::format(
        "<div class=\"card latest-window\"><h3>Latest window</h3><dl><dt>sequence</dt><dd class=\"sequence\">{}</dd>"
        "<dt>rows</dt><dd class=\"rows\">{}</dd><dt>first</dt><dd>{}</dd><dt>last</dt><dd>{}</dd>"
        "<dt>label coverage</dt><dd>{}</dd></dl></div>",
        field(w, "sequence"), field(w, "rows"), field(w, "first_ts"), field(w, "last_ts"), field(w, "label_coverage"));
}

std::string drift_card(const ModelStatus& status) {
    const auto& d = status.dataset_drift;
    if (!d.is_object())
        return "<div class=\"card drift\"><h3>Drift</h3><p class=\"muted\">no drift verdict yet</p></div>";
    const bool triggered = d.value("triggered", false);
    const double share = d.contains("statistic") && d["statistic"].is_number() ? d["statistic"].get<double>() : NAN;
    const json evidence = d.contains("evidence") ? d["evidence"] : json();
    return fmt::format(
        "<div class=\"card drift\"><h3>Drift</h3><dl><dt>drift share</dt><dd class=\"drift-share\">{}</dd>"
        "<dt>features drifted</dt><dd>{} of {}</dd><dt>verdict</dt><dd class=\"{}\">{}</dd>"
        "<dt>finding</dt><dd>{}</dd></dl></div>",
        std::isfinite(share) ? fmt::format("{:.1f}%", share * 100) : "-", field(evidence, "drifted"),
        field(evidence, "evaluated"), triggered ? "bad" : "ok",
        triggered ? "dataset drift" : "no dataset drift", finding_link(d.contains("id") ? d["id"] : json()));
}

std::string performance_card(const ModelStatus& status) {
    // Realised figures of the latest judged window beside the CBPE estimates
    // of the latest closed one.
    const json realised = status.judged_window.is_object() ? status.judged_window.value("metrics", json()) : json();
    const json latest = status.latest_window.is_object() ? status.latest_window.value("metrics", json()) : json();
    std::string rows;
    const auto add = [&](const std::string& name) {
        const json r = realised.is_object() && realised.contains(name) ? realised[name] : json();
        const json est = latest.is_object() && latest.contains(name + "_estimated") ? latest[name + "_estimated"] : json();
        if (r.is_null() && est.is_null()) return;
        rows += fmt::format("<tr data-metric=\"{0}\"><td>{0}</td><td class=\"realised\">{1}</td><td>{2}</td></tr>",
                            e(name), e(text_of(r)), e(text_of(est)));
    };
    for (const char* name : {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier", "mae", "rmse",
                             "r2", "label_delay_p50_seconds"})
        add(name);
    if (rows.empty())
        return "<div class=\"card performance\"><h3>Performance</h3><p class=\"muted\">no outcomes or estimates yet</p></div>";
    return fmt::format(
        "<div class=\"card performance\"><h3>Performance</h3><table><thead><tr><th>metric</th><th>realised</th>"
        "<th>estimated</th></tr></thead><tbody>{2}</tbody></table><p class=\"muted\">realised: window {0}; "
        "estimated (CBPE): window {1}</p></div>",
        field(status.judged_window, "sequence"), field(status.latest_window, "sequence"), rows);
}

// An open alert's causes, one line each, under its summary.
std::string causes_block(const json& alert) {
    const auto causes = alert.find("causes");
    if (causes == alert.end() || !causes->is_string() || causes->get<std::string>().empty()) return {};
    std::string lines;
    std::string_view text = causes->get_ref<const std::string&>();
    while (!text.empty()) {
        const auto end = text.find('\n');
        lines += "<div>" + e(text.substr(0, end)) + "</div>";
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    }
    return "<div class=\"causes muted\">" + lines + "</div>";
}

std::string alerts_table(const ModelStatus& status) {
    if (status.open_alerts.empty()) return "<p class=\"muted open-alerts\">no open alerts</p>";
    std::string rows;
    std::size_t shown = 0;
    for (const auto& alert : status.open_alerts) {
        if (++shown > alerts_shown) break;
        const std::string severity = alert.value("severity", "");
        rows += fmt::format(
            "<tr class=\"alert\"><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            severity == "critical" ? "bad" : "warn", e(severity), field(alert, "kind"), field(alert, "subject"),
            field(alert, "summary") + causes_block(alert), field(alert, "started_at"),
            finding_link(alert.contains("finding_id") ? alert["finding_id"] : json()));
    }
    const std::string more = status.open_alerts.size() > alerts_shown
                                 ? fmt::format("<p class=\"muted\">and {} more: /v1/alerts</p>",
                                               status.open_alerts.size() - alerts_shown)
                                 : "";
    return "<table class=\"open-alerts\"><thead><tr><th>severity</th><th>kind</th><th>subject</th><th>summary</th>"
           "<th>since</th><th>finding</th></tr></thead><tbody>" +
           rows + "</tbody></table>" + more;
}

std::string jobs_table(const ModelStatus& status) {
    std::string out;
    if (status.breaker_open)
        out += fmt::format("<p class=\"bad breaker\">The retraining circuit breaker is open: no job is queued until "
                           "it is reset (<code>POST /v1/models/{}/breaker/reset</code>).</p>",
                           e(status.model));
    if (status.jobs.empty()) return out + "<p class=\"muted jobs\">no retraining jobs</p>";
    std::string rows;
    for (const auto& job : status.jobs) {
        const std::string state = job.value("state", "");
        const char* tone = state == "failed" || state == "timed_out" || state == "rejected" || state == "rolled_back" ? "bad"
                           : state == "promoted" || state == "succeeded"                     ? "ok"
                                                                                             : "warn";
        rows += fmt::format(
            "<tr class=\"job\"><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            field(job, "id"), tone, e(state), field(job, "trigger"), field(job, "reason"), field(job, "created_at"),
            field(job, "finished_at"));
    }
    return out + "<table class=\"jobs\"><thead><tr><th>job</th><th>state</th><th>trigger</th><th>reason</th>"
                 "<th>created</th><th>finished</th></tr></thead><tbody>" +
           rows + "</tbody></table>";
}

std::string audit_block(const ModelStatus& status) {
    const auto& a = status.last_audit;
    if (!a.is_object()) return "<p class=\"muted last-audit\">no audit has run</p>";
    const std::string state = a.value("state", "");
    std::string report = "no report";
    if (a.contains("reports") && a["reports"].is_object() && a["reports"].contains("html") && a["id"].is_number_integer())
        report = fmt::format("<a class=\"report\" href=\"/audits/{}/report\">HTML report</a>", a["id"].get<std::int64_t>());
    return fmt::format(
        "<dl class=\"last-audit\"><dt>audit</dt><dd>{} (run {})</dd><dt>state</dt><dd class=\"{} audit-state\">{}</dd>"
        "<dt>finished</dt><dd>{}</dd><dt>rows</dt><dd>{}</dd><dt>report</dt><dd>{}</dd>{}</dl>",
        field(a, "audit"), field(a, "id"), state == "passed" ? "ok" : state == "running" ? "muted" : "bad", e(state),
        field(a, "finished_at"), field(a, "rows"), report,
        a.contains("error") && a["error"].is_string() ? "<dt>error</dt><dd>" + field(a, "error") + "</dd>" : "");
}

std::string model_section(const ModelStatus& status) {
    std::string badges;
    if (status.dataset_drift.is_object() && status.dataset_drift.value("triggered", false))
        badges += "<span class=\"badge bad\">drift</span>";
    if (!status.open_alerts.empty())
        badges += fmt::format("<span class=\"badge warn\">{} open alert{}</span>", status.open_alerts.size(),
                              status.open_alerts.size() == 1 ? "" : "s");
    if (status.breaker_open) badges += "<span class=\"badge bad\">breaker open</span>";
    return fmt::format(
        "<section class=\"model\" data-model=\"{0}\"><h2>{0}{1}</h2><div class=\"grid\">{2}{3}{4}</div>"
        "<h3>Open alerts</h3>{5}<h3>Retraining jobs</h3>{6}<h3>Last audit</h3>{7}</section>\n",
        e(status.model), badges, window_card(status), drift_card(status), performance_card(status),
        alerts_table(status), jobs_table(status), audit_block(status));
}

// Records the store refused, kept aside: nothing the daemon will do about
// them, so the page says what the operator does (docs/privacy.md).
std::string quarantine_section(const QuarantineStatus& quarantine) {
    const auto& count = quarantine.count;
    return fmt::format(
        "<section class=\"quarantine\"><h2>Quarantine<span class=\"badge warn\">{0} file{1}</span></h2>"
        "<p>{0} quarantine file{1} holding {2} record{3} that were acknowledged but not stored, in <code>{4}</code> "
        "(oldest {5}, newest {6}). The daemon never loads them back: each file's first line says why; keep them as "
        "the record of what was refused, and delete them once the clients have sent those records again "
        "(<code>modelwatch quarantine list</code>; docs/privacy.md, \"Quarantine files\").</p></section>\n",
        count.files, count.files == 1 ? "" : "s", count.records, count.records == 1 ? "" : "s",
        e(quarantine.directory), e(format_rfc3339_us(count.oldest_us)), e(format_rfc3339_us(count.newest_us)));
}

json first_or_null(const json& rows) { return rows.is_array() && !rows.empty() ? rows[0] : json(); }

}  // namespace

std::vector<ModelStatus> read_status(pqxx::connection_base& connection, const config::Config& config) {
    std::vector<ModelStatus> out;
    for (const auto& model : config.models) {
        ModelStatus status;
        status.model = model.schema.name;
        {
            pqxx::read_transaction transaction(connection, "status_page");
            const auto windows = json::parse(store::windows_json(transaction, status.model, windows_read));
            status.latest_window = first_or_null(windows);
            // Realised performance: the newest window with a realised metric
            // (a window judged with too few outcomes has none).
            for (const auto& window : windows)
                if (window["metrics"].is_object() &&
                    (window["metrics"].contains("accuracy") || window["metrics"].contains("mae"))) {
                    status.judged_window = window;
                    break;
                }
            if (status.latest_window.is_object()) {
                store::FindingFilter filter;
                filter.model = status.model;
                filter.kind = "dataset_drift";
                filter.limit = 1;
                filter.subject = "";  // the whole dataset, not a segment
                status.dataset_drift = first_or_null(json::parse(store::findings_json(transaction, filter)));
            }
            status.last_audit = first_or_null(json::parse(store::audits_json(transaction, status.model, 1)));
        }
        for (const auto& alert : alerts::list_alerts(connection, status.model)) {
            if (alert.state != alerts::AlertState::firing) continue;
            auto row = alerts::to_json(alert);
            // What its finding says explains it (a performance drop's ranking), as the alert's annotation.
            if (alert.kind == "performance" && alert.finding_id != 0) {
                pqxx::read_transaction transaction(connection, "status_page_causes");
                for (const auto& found : transaction.exec_params(
                         "SELECT evidence::text FROM findings WHERE id = $1", alert.finding_id))
                    row["causes"] = alerts::causes_annotation(found[0].as<std::string>());
            }
            status.open_alerts.push_back(std::move(row));
        }
        for (const auto& job : retrain::list_jobs(connection, status.model, jobs_shown))
            status.jobs.push_back(retrain::to_json(job));
        status.breaker_open = retrain::breaker_open(connection, status.model);
        out.push_back(std::move(status));
    }
    return out;
}

std::string render_status_page(const std::vector<ModelStatus>& models, const QuarantineStatus& quarantine,
                               std::int64_t now_us) {
    std::string body;
    for (const auto& status : models) body += model_section(status);
    if (models.empty()) body = "<p class=\"muted\">no models are configured</p>";
    if (quarantine.count.files > 0)
        body = quarantine_section(quarantine) + body;
    return page("modelwatch status",
                fmt::format("{} model{} &middot; generated {} &middot; <a href=\"/metrics\">metrics</a> &middot; "
                            "<a href=\"/readyz\">readiness</a>",
                            models.size(), models.size() == 1 ? "" : "s", e(format_rfc3339_us(now_us))),
                body);
}

// A performance drop's ranking (detectors/root_cause.h, evidence "root_cause"):
// the summary, the named causes, and the ranked segments and features.
std::string root_cause_section(const json& ranking) {
    if (!ranking.is_object()) return {};
    if (ranking.contains("error")) return fmt::format("<h3>Root cause</h3><p class=\"muted\">{}</p>", field(ranking, "error"));
    // Ranked after the window is stored (daemon/performance_causes.h): not yet.
    if (ranking.contains("pending"))
        return fmt::format("<h3>Root cause</h3><p class=\"muted\">{}</p>", field(ranking, "summary"));
    std::string causes;
    if (ranking.contains("causes") && ranking["causes"].is_array())
        for (const auto& cause : ranking["causes"]) causes += "<li>" + e(text_of(cause)) + "</li>";
    const auto number = [](const json& item, const char* key, const char* format, double scale = 1) {
        const auto found = item.find(key);
        return found != item.end() && found->is_number()
                   ? fmt::format(fmt::runtime(format), found->get<double>() * scale)
                   : std::string("-");
    };
    std::string rows;
    if (ranking.contains("ranked") && ranking["ranked"].is_array())
        for (const auto& item : ranking["ranked"]) {
            std::string interval = "-";
            if (item.contains("interval") && item["interval"].is_array() && item["interval"].size() == 3)
                interval = fmt::format("[{:.3g}, {:.3g}] {}", item["interval"][0].get<double>(),
                                       item["interval"][1].get<double>(), e(text_of(item["interval"][2])));
            rows += fmt::format(
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                item.value("significant", false) ? "bad" : "ok", field(item, "name"), number(item, "window_metric", "{:.3g}"),
                interval, number(item, "reference_metric", "{:.3g}"), number(item, "window_share", "{:.3f}"),
                number(item, "contribution", "{:.4f}"), number(item, "explained_share", "{:.0f}%", 100));
        }
    // The second opinions over recent windows (never used to name a cause): the top five of each.
    const auto opinion = [&](const char* key, const char* title, bool correlation) {
        std::string items;
        if (!ranking.contains(key) || !ranking[key].is_array()) return items;
        for (std::size_t i = 0; i < ranking[key].size() && i < 5; ++i) {
            const auto& rank = ranking[key][i];
            items += fmt::format("{}{} ({})", items.empty() ? "" : ", ", field(rank, "feature"),
                                 correlation ? number(rank, "correlation", "{:.2f}")
                                             : fmt::format("{} of {} windows", field(rank, "alerts"), field(rank, "windows")));
        }
        return items.empty() ? items : fmt::format("<p class=\"muted\">{}: {}</p>", title, items);
    };
    // Which columns the bounded work left out, by name (escaped: they come from clients).
    std::string not_compared;
    if (const auto names = ranking.find("columns_not_compared"); names != ranking.end() && names->is_array())
        for (const auto& name : *names) not_compared += (not_compared.empty() ? ": " : ", ") + e(text_of(name));
    // Which values the correlation ran over: realised, or CBPE's estimates.
    const std::string correlation_title =
        ranking.contains("correlation_values")
            ? fmt::format("correlation with the {} metric over recent windows", field(ranking, "correlation_values"))
            : std::string("correlation with the metric over recent windows");
    const std::string opinions = opinion("correlation_ranking", correlation_title.c_str(), true) +
                                 opinion("alert_count_ranking", "drift alerts over recent windows", false);
    return fmt::format(
        "<h3>Root cause</h3><p class=\"root-cause\">{}</p>{}<table class=\"root-cause\"><tr><th>segment or feature</th>"
        "<th>window</th><th>interval</th><th>reference</th><th>share of window</th><th>contribution</th>"
        "<th>of the drop</th></tr>{}</table><p class=\"muted\">{} candidates; {} segments below the minimum size "
        "suppressed{}; shares of the drop overlap (a segment is part of its feature)</p>",
        field(ranking, "summary"), causes.empty() ? "" : "<ol class=\"causes\">" + causes + "</ol>", rows,
        field(ranking, "candidates"), field(ranking, "suppressed_segments"),
        ranking.value("columns_left_out", 0) > 0
            ? fmt::format("; {} columns not compared ({}){}", field(ranking, "columns_left_out"),
                          ranking.value("time_budget_reached", false) ? "time budget reached" : "work bounded",
                          not_compared)
            : std::string()) + opinions;
}

std::string render_finding_page(const json& finding) {
    const bool triggered = finding.value("triggered", false);
    std::string evidence;
    std::string root_cause;
    if (finding.contains("evidence") && finding["evidence"].is_object())
        for (const auto& [key, value] : finding["evidence"].items()) {
            if (key == "root_cause") {
                root_cause = root_cause_section(value);
                continue;
            }
            evidence += fmt::format("<dt>{}</dt><dd>{}</dd>", e(key), e(text_of(value)));
        }
    const std::string id = field(finding, "id");
    const std::string subject = finding.value("subject", "");
    const std::string title =
        fmt::format("Finding {}: {}{}", text_of(finding.value("id", json())), finding.value("kind", ""),
                    subject.empty() ? "" : " " + subject);
    const std::string body = fmt::format(
        "<section class=\"finding\"><h2 class=\"{0}\">{1}</h2><dl>"
        "<dt>model</dt><dd class=\"model\">{2}</dd><dt>kind</dt><dd>{3}</dd><dt>subject</dt><dd class=\"subject\">{4}</dd>"
        "<dt>method</dt><dd>{5}</dd><dt>statistic</dt><dd class=\"statistic\">{6}</dd><dt>threshold</dt><dd>{7}</dd>"
        "<dt>p-value</dt><dd>{8}</dd><dt>severity</dt><dd>{9}</dd><dt>window</dt><dd>{10} &ndash; {11}</dd>"
        "<dt>window id</dt><dd>{12}</dd><dt>recorded</dt><dd>{13}</dd></dl>"
        "<h3>Evidence</h3>{14}{16}<p><a href=\"/\">status page</a> &middot; <a href=\"/v1/findings/{15}?format=json\">"
        "JSON</a></p></section>",
        triggered ? "bad" : "ok", triggered ? "triggered" : "not triggered", field(finding, "model"),
        field(finding, "kind"), subject.empty() ? "(whole model)" : e(subject), field(finding, "method"),
        field(finding, "statistic"), field(finding, "threshold"), field(finding, "p_value"), field(finding, "severity"),
        field(finding, "window_start"), field(finding, "window_end"), field(finding, "window_id"),
        field(finding, "created_at"), evidence.empty() ? "<p class=\"muted\">none</p>" : "<dl class=\"evidence\">" + evidence + "</dl>",
        id, root_cause);
    return page(title, "modelwatch &middot; " + field(finding, "model"), body);
}

ReportFile read_report(const std::string& path, const std::string& reports_dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path root = fs::canonical(reports_dir, ec);
    if (ec) return {{}, fmt::format("the reports folder {} is not readable: {}", reports_dir, ec.message())};
    const fs::path file = fs::canonical(path, ec);
    if (ec) return {{}, fmt::format("the report {} is gone: {}", path, ec.message())};
    const auto relative = file.lexically_relative(root);
    if (relative.empty() || *relative.begin() == "..")
        return {{}, fmt::format("the report {} is outside the reports folder {}", path, reports_dir)};
    if (file.extension() != ".html" || !fs::is_regular_file(file, ec))
        return {{}, fmt::format("the report {} is not an HTML file", path)};
    const auto size = fs::file_size(file, ec);
    if (ec || size > max_report_bytes)
        return {{}, fmt::format("the report {} is larger than {} bytes", path, max_report_bytes)};
    std::ifstream in(file, std::ios::binary);
    std::string html(size, '\0');
    if (!in.read(html.data(), static_cast<std::streamsize>(size))) return {{}, fmt::format("cannot read {}", path)};
    return {std::move(html), {}};
}

std::string render_error_page(unsigned status, const std::string& message, bool ask_for_token) {
    std::string body = fmt::format("<p class=\"error\">{}</p>", e(message));
    if (ask_for_token)
        body += "<form method=\"get\" action=\"\"><label>Admin token <input type=\"password\" name=\"token\" "
                "autocomplete=\"current-password\"></label> <button type=\"submit\">Open</button></form>"
                "<p class=\"muted\">The token is kept in a cookie for this site (HttpOnly, SameSite=Strict), which "
                "authorises reading pages, never changes.</p>";
    return page(fmt::format("modelwatch: {}", status), "modelwatch", body);
}

}  // namespace mw::daemon
