// The read-only HTML pages the daemon serves to people (docs/monitoring.md,
// "Status page"): the status page at / (every model: latest window, drift
// share, performance, open alerts, retraining jobs, last audit) and a
// finding's page (what GET /v1/findings/{id} answers a browser, the target
// of an alert's generatorURL). Plain HTML with inline CSS: no script, no
// request to anywhere else, so it works on a host without network access.
// Every value from the store or the configuration is escaped (core/html.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/connection_base>

#include "config/config.h"
#include "store/quarantine.h"

namespace mw::daemon {

// What the status page shows of one model, as the admin API's JSON rows.
struct ModelStatus {
    std::string model;
    nlohmann::json latest_window;   // a /v1/windows row, or null
    nlohmann::json judged_window;   // the latest window with realised performance, or null
    nlohmann::json dataset_drift;   // the latest window's whole-dataset drift finding, or null
    nlohmann::json open_alerts = nlohmann::json::array();  // /v1/alerts rows, firing
    nlohmann::json jobs = nlohmann::json::array();         // /v1/jobs rows, newest first
    nlohmann::json last_audit;      // a /v1/audits row, or null
    bool breaker_open = false;
};

// Reads what the page shows for each configured model (a few bounded
// queries per model).
std::vector<ModelStatus> read_status(pqxx::connection_base& connection, const config::Config& config);

// The quarantine files in the spool directory (store/quarantine.h): the
// page says so above the models while there are any.
struct QuarantineStatus {
    store::QuarantineCount count;
    std::string directory;
};

std::string render_status_page(const std::vector<ModelStatus>& models, const QuarantineStatus& quarantine,
                               std::int64_t now_us);

// A finding (a /v1/findings/{id} row) for a person: verdict, statistic
// against threshold, window, evidence, and links back.
std::string render_finding_page(const nlohmann::json& finding);

// A page that says what went wrong (401, 404, ...); for 401 it offers a
// token form whose GET sets the cookie.
std::string render_error_page(unsigned status, const std::string& message, bool ask_for_token);

// An audit's HTML report as stored on disk: only a regular .html file
// under `reports_dir` (the path comes from the store, which another daemon
// or a person may have written), at most max_report_bytes.
struct ReportFile {
    std::string html;
    std::string error;  // set when it cannot be served, saying why
};
inline constexpr std::uintmax_t max_report_bytes = 32u << 20;
ReportFile read_report(const std::string& path, const std::string& reports_dir);

// Content-Security-Policy of every page the daemon serves as HTML (the
// audit reports included): nothing but inline styles and inline images.
inline constexpr const char* page_security_policy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";

}  // namespace mw::daemon
