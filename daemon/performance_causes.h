// Why a window's performance dropped: each triggered whole-window
// `performance` finding (realised, or estimated by CBPE) gets the root-cause
// ranking of detectors/root_cause.h in its evidence under "root_cause",
// computed from the window's rows (its labelled rows, for a realised metric)
// and the reference's labelled rows, with the window's drift verdicts and the
// recent windows' as second opinions. The alert router turns its "causes"
// into the alert's `causes` annotation (alerts/alert_rules.h).
#pragma once

#include <cstdint>
#include <vector>

#include <pqxx/connection_base>

#include "config/config.h"
#include "core/finding.h"
#include "daemon/reference_fit.h"
#include "store/monitor_store.h"

namespace mw::daemon {

// Recent windows read for the correlation and alert-count rankings.
inline constexpr std::size_t root_cause_history_windows = 20;

// `findings` are the window's (sequence `window_sequence`); an estimated
// finding's window is being closed, so its drift verdicts are among them,
// while a realised finding's window was stored with its verdicts earlier.
void explain_performance_drops(pqxx::connection_base& connection, const ReferenceFit& fitted,
                               const config::ModelOptions& options, const std::vector<store::WindowRow>& rows,
                               std::int64_t window_sequence, std::vector<Finding>& findings);

}  // namespace mw::daemon
