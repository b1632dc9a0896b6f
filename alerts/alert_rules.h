// How findings become alerts: which kinds alert, at which severity, to which
// receivers, and the pure state machine that turns one finding and the
// alert's current state into its next state. The outbox (alerts/outbox.h)
// applies it inside its transaction; nothing here touches the database.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "alerts/alert_sink.h"
#include "core/finding.h"

namespace mw::alerts {

// What the outbox needs to know about one receiver (its sink is configured
// elsewhere under the same name).
struct ReceiverPolicy {
    std::string name;
    // Re-send firing alerts every resend interval. Alertmanager needs it (an
    // alert it has not heard about for its resolve_timeout, 5 min by default,
    // is resolved); PagerDuty, Slack, webhooks and exec are told once per
    // state change, so false for them.
    bool resend = false;
    // Deliveries per minute to this receiver (token bucket in the
    // dispatcher); 0 means unlimited.
    int max_per_minute = 0;
};

std::set<std::string> default_alerting_set();

// The alert router's options; the defaults are the product's defaults.
struct AlertRoutingOptions {
    // Finding kinds that raise alerts at all; by default those marked so in
    // core/finding_kinds.cpp.
    std::set<std::string> alerting_kinds = default_alerting_set();
    // Severity of a kind's alerts; a kind not listed keeps the finding's own.
    std::map<std::string, Severity> severity_by_kind;
    // Receivers (names) per severity; a severity not listed goes to default_receivers.
    std::map<Severity, std::vector<std::string>> receivers_by_severity;
    std::vector<std::string> default_receivers;
    // Every receiver named above, with how it wants to be told.
    std::vector<ReceiverPolicy> receivers;
    // How often a still-firing alert is re-sent to receivers with resend = true.
    std::int64_t resend_interval_seconds = 300;
    // Consecutive non-triggered findings of the same fingerprint that resolve
    // a firing alert (1: the first clean window resolves it). At least 1.
    int resolve_after_clean_windows = 1;
    // Runbook link per alert; "{model}" and "{kind}" are replaced. Empty: no runbook_url annotation.
    std::string runbook_url_template;
    // The daemon's own base URL as receivers can reach it, e.g.
    // "https://modelwatch.example.com"; generatorURL is <external_url>/v1/findings/<id>.
    std::string external_url;
};

// Problems that make the options unusable (each names the field and value);
// empty when they are fine.
std::vector<std::string> validate(const AlertRoutingOptions& options);

// The receivers an alert of this severity goes to.
const std::vector<std::string>& receivers_for(Severity severity, const AlertRoutingOptions& options);
// Whether the receiver wants firing alerts re-sent (false for an unknown receiver).
bool wants_resend(const std::string& receiver, const AlertRoutingOptions& options);

// A finding as stored (table findings): the finding and its row id.
struct StoredFinding {
    std::int64_t id = 0;
    Finding finding;
};

// One row of the alerts table.
struct AlertRecord {
    std::string fingerprint;
    std::string model;
    std::string kind;
    std::string subject;
    Severity severity = Severity::warning;
    AlertState state = AlertState::firing;
    std::int64_t finding_id = 0;  // the finding that last changed or refreshed it
    std::string summary;
    std::string description;
    std::int64_t started_at_us = 0;
    std::optional<std::int64_t> resolved_at_us;
    // When a delivery of it was last enqueued; nothing when receivers have not
    // been told about the current firing episode (it was silenced, say).
    std::optional<std::int64_t> last_sent_at_us;
    std::int64_t updated_at_us = 0;
};

// What one finding does to its alert.
struct RoutingStep {
    // The alert row after the finding; nothing when the finding changes no
    // alert (its kind does not alert, it is clean and nothing fires, or it
    // is clean but not yet for resolve_after_clean_windows windows).
    std::optional<AlertRecord> alert;
    // The alert changed state (started firing, or resolved): receivers must
    // be told. Never true for a repeat of the same state: re-sends are
    // driven by time (AlertOutbox::enqueue_resends), not by findings.
    bool state_changed = false;
};

// The alert state machine (pure). `clean_windows` is the number of
// consecutive non-triggered findings of this fingerprint ending with this
// one (0 when this one triggered). A triggered finding starts a firing
// alert (or refreshes a firing one); a firing alert resolves once
// clean_windows reaches resolve_after_clean_windows.
RoutingStep route_finding(const StoredFinding& stored, const std::optional<AlertRecord>& current, int clean_windows,
                          const AlertRoutingOptions& options, std::int64_t now_us);

// One line, e.g. "Dataset drift on model elec2".
std::string summarize(const Finding& finding);
// Plain language from the finding's generic fields: kind, subject, method,
// statistic, threshold, p-value and window.
std::string describe(const Finding& finding);

// The alert as receivers see it. Firing: ends_at is now + 4 resend intervals,
// so that Alertmanager keeps it active across three missed re-sends and
// expires it on its own if modelwatch dies; resolved: the moment it cleared.
// `causes` (causes_annotation of its finding's evidence) becomes the
// `causes` annotation when not empty.
Alert render_alert(const AlertRecord& record, const AlertRoutingOptions& options, std::int64_t now_us,
                   const std::string& causes = {});

// What the finding's evidence says explains it, in plain words, one line
// per cause: the root-cause ranking of a performance drop
// (detectors/root_cause.h, evidence key "root_cause"): its named causes (at
// most three), else its summary ("no single cause: ..."). Empty when the
// evidence has no ranking.
std::string causes_annotation(const std::string& evidence_json);

// JSON forms for the outbox payload and the admin API.
nlohmann::json to_json(const Alert& alert);
// Reads to_json's output back; nothing when a field is missing or mistyped.
std::optional<Alert> alert_from_json(const nlohmann::json& json);
nlohmann::json to_json(const AlertRecord& record);

// Text forms stored in the database (the other way: to_string in alert_sink.h).
std::optional<AlertState> parse_state(std::string_view text);
std::optional<Severity> parse_severity(std::string_view text);

}  // namespace mw::alerts
