#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace mw::log {
namespace {

std::atomic<int> current_level{static_cast<int>(Level::info)};
std::mutex write_mutex;

const char* level_name(Level level) {
    switch (level) {
        case Level::error: return "error";
        case Level::warning: return "warning";
        case Level::notice: return "notice";
        case Level::info: return "info";
        case Level::debug: return "debug";
    }
    return "?";
}

}  // namespace

void set_level(Level new_level) { current_level.store(static_cast<int>(new_level), std::memory_order_relaxed); }
Level level() { return static_cast<Level>(current_level.load(std::memory_order_relaxed)); }
bool enabled(Level candidate) { return static_cast<int>(candidate) <= current_level.load(std::memory_order_relaxed); }

void write(Level line_level, std::string_view text) {
    static const bool to_terminal = isatty(STDERR_FILENO) == 1;
    std::string line;
    line.reserve(text.size() + 16);
    if (to_terminal) {
        line += level_name(line_level);
        line += ": ";
    } else {
        line += '<';
        line += static_cast<char>('0' + static_cast<int>(line_level));
        line += '>';
    }
    for (char c : text) {
        if (c == '\n') line += "\\n";
        else line += c;
    }
    line += '\n';
    std::lock_guard lock(write_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace mw::log
