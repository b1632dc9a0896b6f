#include "config/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

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

LoadResult load_config_file(const std::string& path, const Environment& environment, const Catalog* catalog) {
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored)) {
        LoadResult result;
        result.source_name = path;
        result.errors.push_back({"", 1, 0, fmt::format("{} is a directory, not a configuration file", path)});
        return result;
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        LoadResult result;
        result.source_name = path;
        result.errors.push_back({"", 1, 0, fmt::format("cannot open {}: {}", path, std::strerror(errno))});
        return result;
    }
    std::ostringstream text;
    text << file.rdbuf();
    return load_config_text(text.str(), path, environment, catalog);
}

std::string summarize(const Config& config) {
    const std::size_t models = config.models.size();
    const std::size_t tails = config.file_tails.size();
    return fmt::format("config OK: {} model{}, {} file tail{}", models, models == 1 ? "" : "s", tails,
                       tails == 1 ? "" : "s");
}

}  // namespace mw::config
