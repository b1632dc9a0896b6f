// Replacing a small file so that a crash or power loss leaves either the old
// content or the new, never a mix or an empty file: write a temporary beside
// it, fsync, rename over the path, fsync the directory.
#pragma once

#include <string>
#include <string_view>

namespace mw {

// Returns an empty string on success, otherwise what failed (naming the file
// and the step). The temporary is `path` + ".tmp"; it is created with mode 0600.
std::string write_file_durably(const std::string& path, std::string_view content);

}  // namespace mw
