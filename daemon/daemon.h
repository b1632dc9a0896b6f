// The life of the modelwatchd process, read top to bottom in daemon.cpp's
// run(), one function per numbered step: 1 load the configuration, 2 the
// metrics, 3 the spool, the store drain and probe, 4 the collectors, 5 the
// monitoring workers, 6 the HTTP server, 7 the signals, 8 the watchdog, 9 tell
// systemd READY; on SIGHUP reload the configuration; on SIGTERM or SIGINT
// take the same steps down in reverse, each bounded in time.
#pragma once

#include <string>

namespace mw::daemon {

// Runs the daemon until it is told to stop. Returns the process exit code:
// 0 after a clean stop, 1 when start-up failed (the reason is logged).
int run(const std::string& config_path);

}  // namespace mw::daemon
