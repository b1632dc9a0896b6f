// The sections of the configuration file and their option tables: reading
// the whole document into a Config, the checks that span several keys, and
// the documentation rows of every table.
#pragma once

#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/catalog.h"
#include "config/config.h"
#include "config/loader.h"
#include "config/option_table.h"

namespace mw::config {

// Reads the document root (a mapping, or null for an empty file) against the
// tables, then applies the checks that span keys (store.dsn or dsn_env,
// duplicate model and feature names, file tails naming declared models) and
// resolves derived values (spool.dir). Errors go to the reader.
// The reader's catalog (may be null) names the registered components and
// checks their options and the programs they run (config/catalog.h).
void read_config(Reader& reader, const YAML::Node& root, const Environment& environment, Config& out);

// Every row of every table, with its full key path, in table order.
std::vector<OptionDoc> describe_options();

}  // namespace mw::config
