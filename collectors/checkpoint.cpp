#include "collectors/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "core/unique_fd.h"

#include "core/durable_file.h"
#include "core/errno_text.h"

namespace mw {
namespace {

constexpr std::string_view header = "modelwatch-file-tail-checkpoint 1";


struct Field {
    std::string_view key;
    std::uint64_t TailCheckpoint::*number;
};

constexpr std::array<Field, 6> number_fields{{
    {"device", &TailCheckpoint::device},
    {"inode", &TailCheckpoint::inode},
    {"offset", &TailCheckpoint::offset},
    {"line", &TailCheckpoint::line},
    {"fingerprint_bytes", &TailCheckpoint::fingerprint_bytes},
    {"fingerprint", &TailCheckpoint::fingerprint},
}};

}  // namespace

std::uint64_t fnv1a64(const char* data, std::size_t size, std::uint64_t hash) {
    for (std::size_t i = 0; i < size; ++i) {
        hash ^= static_cast<unsigned char>(data[i]);
        hash *= 1099511628211ull;
    }
    return hash;
}

CheckpointLoad load_checkpoint(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return {};
        return {std::nullopt, fmt::format("checkpoint {}: open: {}", path, errno_text())};
    }
    std::string text;
    char buffer[4096];
    for (;;) {
        ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR) continue;
            return {std::nullopt, fmt::format("checkpoint {}: read: {}", path, errno_text())};
        }
        if (got == 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
        if (text.size() > 64 * 1024) return {std::nullopt, fmt::format("checkpoint {}: larger than 64 KiB", path)};
    }

    TailCheckpoint checkpoint;
    std::string_view rest = text;
    std::size_t line_number = 0;
    unsigned seen = 0;  // bit per number field, plus bit 6 for skipping_line
    while (!rest.empty()) {
        auto newline = rest.find('\n');
        if (newline == std::string_view::npos)
            return {std::nullopt, fmt::format("checkpoint {}: line {} has no newline (torn write?)", path,
                                              line_number + 1)};
        std::string_view line = rest.substr(0, newline);
        rest.remove_prefix(newline + 1);
        ++line_number;
        if (line_number == 1) {
            if (line != header)
                return {std::nullopt, fmt::format("checkpoint {}: line 1: expected \"{}\"", path, header)};
            continue;
        }
        auto equals = line.find('=');
        if (equals == std::string_view::npos)
            return {std::nullopt, fmt::format("checkpoint {}: line {}: expected key=value", path, line_number)};
        std::string_view key = line.substr(0, equals);
        std::string_view value = line.substr(equals + 1);
        std::uint64_t number = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (ec != std::errc() || end != value.data() + value.size() || value.empty())
            return {std::nullopt, fmt::format("checkpoint {}: line {}: {} is not an unsigned number", path,
                                              line_number, key)};
        bool known = false;
        for (std::size_t i = 0; i < number_fields.size(); ++i) {
            if (number_fields[i].key != key) continue;
            checkpoint.*number_fields[i].number = number;
            seen |= 1u << i;
            known = true;
        }
        if (key == "skipping_line") {
            if (number > 1)
                return {std::nullopt, fmt::format("checkpoint {}: line {}: skipping_line must be 0 or 1", path,
                                                  line_number)};
            checkpoint.skipping_line = number == 1;
            seen |= 1u << number_fields.size();
            known = true;
        }
        if (!known)
            return {std::nullopt, fmt::format("checkpoint {}: line {}: unknown key {}", path, line_number, key)};
    }
    if (seen != (1u << (number_fields.size() + 1)) - 1)
        return {std::nullopt, fmt::format("checkpoint {}: incomplete (a key is missing)", path)};
    return {checkpoint, {}};
}

std::string write_checkpoint(const std::string& path, const TailCheckpoint& checkpoint) {
    std::string text = fmt::format("{}\n", header);
    for (const auto& field : number_fields) text += fmt::format("{}={}\n", field.key, checkpoint.*field.number);
    text += fmt::format("skipping_line={}\n", checkpoint.skipping_line ? 1 : 0);

    if (auto error = write_file_durably(path, text); !error.empty()) return "checkpoint " + error;
    return {};
}

}  // namespace mw
