// One line per event: an event name, then key=value context, e.g.
//   spool_replayed segments=3 records=1200
// When stderr is not a terminal (systemd, journald) each line starts with the
// syslog priority prefix "<N>" so journald files it at the right level.
//
// The level and the sink are process-wide on purpose: stderr is a process-wide
// resource, and threading a logger through every constructor buys nothing.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace mw::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

void set_level(Level level);
Level level();
bool enabled(Level level);

// Writes one line (the text must not end in a newline; embedded newlines are escaped).
void write(Level level, std::string_view text);

template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(Level::error)) write(Level::error, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void warning(fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(Level::warning)) write(Level::warning, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void notice(fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(Level::notice)) write(Level::notice, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(Level::info)) write(Level::info, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(Level::debug)) write(Level::debug, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace mw::log
