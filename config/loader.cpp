#include "config/loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config/sections.h"

namespace mw::config {

std::string to_string(const LoadError& error) {
    if (error.column > 0)
        return fmt::format("syntax error (line {}, column {}): {}", error.line, error.column, error.message);
    return fmt::format("{} (line {}): {}", error.path.empty() ? "top level" : error.path, error.line,
                       error.message);
}

Environment process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

LoadResult load_config_text(std::string_view yaml, std::string_view source_name, const Environment& environment,
                            const Catalog* catalog) {
    LoadResult result;
    result.source_name = std::string(source_name);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::ParserException& e) {
        result.errors.push_back({"", e.mark.line + 1, e.mark.column + 1, e.msg});
        return result;
    } catch (const YAML::Exception& e) {
        // Not a syntax error yaml-cpp can place (e.g. nesting too deep); still the input's fault.
        result.errors.push_back({"", std::max(e.mark.line + 1, 1), 0, e.msg});
        return result;
    }
    Reader reader(catalog);
    Config config;
    try {
        read_config(reader, root, environment, config);
    } catch (const YAML::Exception& e) {
        // Reading only walks the parsed tree; an exception here is a loader bug,
        // but a bug in reading one file must not take the daemon or the CLI down.
        reader.error("", std::max(e.mark.line + 1, 1), fmt::format("internal error while reading: {}", e.what()));
    }
    for (const auto& error : reader.errors()) result.errors.push_back({error.path, error.line, 0, error.message});
    std::stable_sort(result.errors.begin(), result.errors.end(),
                     [](const LoadError& a, const LoadError& b) { return a.line < b.line; });
    if (result.errors.empty()) result.config = std::move(config);
    return result;
}

namespace {

// Far above any real configuration (the annotated reference is about 30 KB);
// a file past it is a mistake or an attack, refused before YAML sees it.
constexpr std::size_t max_config_bytes = 16u << 20;

const char* file_type_name(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

}  // namespace

LoadResult load_config_file(const std::string& path, const Environment& environment, const Catalog* catalog) {
    LoadResult result;
    result.source_name = path;
    auto fail = [&](std::string message) {
        result.errors.push_back({"", 1, 0, std::move(message)});
        return result;
    };
    // O_NONBLOCK: a FIFO with no writer opens at once (and then reads as
    // empty) instead of holding a reload forever. A regular file's or a
    // pipe's reads are made blocking again below.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return fail(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    struct stat file_stat {};
    if (::fstat(fd, &file_stat) != 0) {
        const int error = errno;
        ::close(fd);
        return fail(fmt::format("cannot stat {}: {}", path, std::strerror(error)));
    }
    // A pipe is read (check-config <(envsubst < template.yaml)); a device
    // such as /dev/zero would never end.
    if (!S_ISREG(file_stat.st_mode) && !S_ISFIFO(file_stat.st_mode)) {
        ::close(fd);
        return fail(fmt::format("{} is {}, not a configuration file", path, file_type_name(file_stat.st_mode)));
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    std::string text;
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            const int error = errno;
            ::close(fd);
            return fail(fmt::format("cannot read {}: {}", path, std::strerror(error)));
        }
        if (got == 0) break;
        // One byte past the limit is enough to know; the rest is not read.
        if (text.size() + static_cast<std::size_t>(got) > max_config_bytes) {
            ::close(fd);
            return fail(fmt::format("{} is larger than {} bytes, not a configuration file", path, max_config_bytes));
        }
        text.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    return load_config_text(text, path, environment, catalog);
}

std::string summarize(const Config& config) {
    const std::size_t models = config.models.size();
    const std::size_t tails = config.file_tails.size();
    return fmt::format("config OK: {} model{}, {} file tail{}", models, models == 1 ? "" : "s", tails,
                       tails == 1 ? "" : "s");
}

}  // namespace mw::config
