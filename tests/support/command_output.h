// The standard output of a shell command, for tests that read the bundled
// gzipped data sets (`gzip -dc data/adult/adult.csv.gz`). Header-only, like the
// rest of tests/support.
#pragma once

#include <stdio.h>

#include <stdexcept>
#include <string>

namespace mw::testing {

// Throws when the command cannot start or exits with a failure, so a test
// never runs on a silently empty data set.
inline std::string command_output(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run: " + command);
    std::string text;
    char buffer[1 << 16];
    std::size_t n = 0;
    while ((n = ::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
    if (::pclose(pipe) != 0) throw std::runtime_error("failed: " + command);
    return text;
}

// The bundled data file data/<relative> (gzip), decompressed.
inline std::string bundled_data(const std::string& relative) {
    return command_output("gzip -dc '" + std::string(MODELWATCH_SOURCE_DIR) + "/data/" + relative + "'");
}

}  // namespace mw::testing
