// The text of the current errno, for error messages that name a system call's
// failure ("open: No such file or directory").
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

namespace mw {

inline std::string errno_text() { return std::strerror(errno); }

}  // namespace mw
