// Every registry of pluggable components, gathered for the config loader
// (config/catalog.h): drift methods, performance metrics, concept-drift and
// anomaly detectors (detectors/), report formats (fairness/), retraining job
// runners and hooks (retrain/), alert sinks
// (alerts/). Finding kinds, cron expressions and time zones are core's, which
// config/ reads directly. This folder
// sits above the stages it gathers and below daemon/ and cli/, so config/
// never depends on the stages whose names it validates.
#pragma once

#include <string>

#include "config/catalog.h"
#include "config/loader.h"

namespace mw::registry {

// Built once, on first use.
const config::Catalog& catalog();

// The daemon's and the CLI's way to load a configuration: every check,
// component names and options included.
config::LoadResult load_config_file(const std::string& path,
                                    const config::Environment& environment = config::process_environment());

}  // namespace mw::registry
