// Runs a local program per delivery, for receivers with no HTTP API (a
// script that opens a ticket, writes to a pager gateway, ...).
//
// The program is started directly from an argv (never through a shell, so no
// value of an alert can be interpreted as shell syntax), in its own process
// group, with:
// - stdin: the webhook body (alerts/webhook_sink.h documents it);
// - environment: only PATH=/usr/bin:/bin and MODELWATCH_ALERT_* variables:
//   MODELWATCH_ALERT_STATE (firing|resolved), MODELWATCH_ALERT_FINGERPRINT,
//   MODELWATCH_ALERT_STARTS_AT, MODELWATCH_ALERT_ENDS_AT (RFC 3339),
//   MODELWATCH_ALERT_GENERATOR_URL, and one MODELWATCH_ALERT_LABEL_<NAME> per
//   label and MODELWATCH_ALERT_ANNOTATION_<NAME> per annotation (the name
//   upper-cased, any character other than A-Z, 0-9 and _ replaced by _),
//   each NAME=value cut at 8 KiB (the kernel limits what exec accepts; stdin
//   carries every value whole);
//   the daemon's own environment (credentials, DSNs) is not inherited;
// - stdout and stderr: one pipe, the first max_output_bytes kept for the
//   error message.
// Outcome: exit status 0 = delivered; 65 (EX_DATAERR, sysexits.h) = the
// program refuses this alert for good (not retried); any other status, a
// signal, or the timeout = retry later. At the timeout the whole process
// group gets SIGKILL; when the program exits, whatever it left running in its
// group is killed too, so nothing outlives its delivery.
#pragma once

#include <span>
#include <memory>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "alerts/alert_sink.h"
#include "config/config.h"
#include "config/option_table.h"

namespace mw::alerts {

struct ExecSinkOptions {
    std::vector<std::string> argv;            // argv[0] an absolute path (no PATH search)
    std::int64_t timeout_ms = 30000;          // from start to exit; then SIGKILL to the process group
    std::size_t max_output_bytes = 64 << 10;  // stdout+stderr kept for the error message
};

class ExecSink : public AlertSink {
public:
    ExecSink(std::string name, ExecSinkOptions options);
    const std::string& name() const override { return name_; }
    DeliveryResult deliver(const Alert& alert) override;

private:
    std::string name_;
    ExecSinkOptions options_;
};

// The environment the program gets ("NAME=value" strings).
std::vector<std::string> exec_environment(const Alert& alert);

// The receiver keys this sink takes besides name, type, timeout and
// max_per_minute (docs/monitoring.md, "Alert sinks"), and the sink made
// from a receiver the loader checked against them.
std::span<const config::SettingRow> exec_sink_options();
std::unique_ptr<AlertSink> make_exec_sink(const config::ReceiverConfig& receiver);

}  // namespace mw::alerts
