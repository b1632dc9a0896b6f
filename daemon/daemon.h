// The life of the modelwatchd process, read top to bottom in daemon.cpp:
// load the configuration, open the spool, start the store drain, the
// collectors and the HTTP server, tell systemd READY; on SIGHUP reload the
// configuration; on SIGTERM or SIGINT take the same steps down in reverse,
// each bounded in time.
#pragma once

#include <string>

namespace mw::daemon {

// Runs the daemon until it is told to stop. Returns the process exit code:
// 0 after a clean stop, 1 when start-up failed (the reason is logged).
int run(const std::string& config_path);

}  // namespace mw::daemon
