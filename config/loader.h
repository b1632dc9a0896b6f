// Loads the daemon's YAML configuration into validated structs
// (config/config.h), validating every key against the option tables
// (config/sections.cpp). A bad file is an expected outcome, so it is a value:
// the result carries either the configuration or every error found, each
// naming the key path and the 1-based line, e.g.
//   models[2].features[0].type (line 41): expected one of numeric, categorical, boolean, got "float"
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/catalog.h"
#include "config/config.h"

namespace mw::config {

struct LoadError {
    std::string path;  // key path, e.g. "server.listen"; empty for errors about the whole file
    int line = 0;      // 1-based
    int column = 0;    // 1-based; only YAML syntax errors know it, 0 otherwise
    std::string message;
};

// "path (line N): message", or "syntax error (line N, column C): message".
std::string to_string(const LoadError& error);

struct LoadResult {
    std::string source_name;       // the file path, or the name given to load_config_text
    std::optional<Config> config;  // set exactly when `errors` is empty
    std::vector<LoadError> errors; // in file order

    bool ok() const { return config.has_value(); }
};

// Looks up an environment variable (store.dsn_env); injected so tests do not
// depend on the process environment.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();

// `catalog`: the registered components (config/catalog.h). Without one only
// the file's own shape is checked, not component names, their options, cron
// expressions or time zones: the daemon and the CLI load through
// registry::load_config_file, which always gives it.
LoadResult load_config_text(std::string_view yaml, std::string_view source_name,
                            const Environment& environment = process_environment(),
                            const Catalog* catalog = nullptr);
LoadResult load_config_file(const std::string& path, const Environment& environment = process_environment(),
                            const Catalog* catalog = nullptr);

// The one-line summary `modelwatch check-config` prints for a valid file:
// "config OK: 2 models, 1 file tail".
std::string summarize(const Config& config);

}  // namespace mw::config
