#include "core/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/errno_text.h"

namespace mw {
namespace {


bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t written = ::write(fd, data.data(), data.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
}

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

std::string write_file_durably(const std::string& path, std::string_view content) {
    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fmt::format("{}: open: {}", temporary, errno_text());
    if (!write_all(fd, content)) {
        const std::string error = fmt::format("{}: write: {}", temporary, errno_text());
        ::close(fd);
        return error;
    }
    // The data must be on disk before the rename makes it the file, or a
    // crash could leave an empty file under the final name.
    if (::fsync(fd) != 0) {
        const std::string error = fmt::format("{}: fsync: {}", temporary, errno_text());
        ::close(fd);
        return error;
    }
    // close can report a failed write-back.
    if (::close(fd) != 0) return fmt::format("{}: close: {}", temporary, errno_text());
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        return fmt::format("{}: rename from {}: {}", path, temporary, errno_text());
    // The rename itself is durable only once the directory entry is.
    const std::string directory = directory_of(path);
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return fmt::format("{}: open directory {}: {}", path, directory, errno_text());
    const int synced = ::fsync(dir_fd);
    const std::string error = synced != 0 ? fmt::format("{}: fsync directory {}: {}", path, directory, errno_text())
                                          : std::string();
    ::close(dir_fd);
    return error;
}

}  // namespace mw
