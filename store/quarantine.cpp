#include "store/quarantine.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <system_error>
#include <tuple>

#include <fmt/format.h>

#include "store/copy_encoding.h"

namespace mw::store {
namespace {

constexpr std::string_view name_prefix = "quarantine-";
constexpr std::string_view name_suffix = ".copy";
constexpr std::string_view reason_prefix = "-- ";

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Fills `file`'s name, time and kind when `name` is a quarantine file's.
bool parse_name(std::string_view name, QuarantineFile& file) {
    if (!name.starts_with(name_prefix) || !name.ends_with(name_suffix)) return false;
    auto rest = name.substr(name_prefix.size(), name.size() - name_prefix.size() - name_suffix.size());
    const auto first_dash = rest.find('-');
    if (first_dash == std::string_view::npos) return false;
    const auto time = rest.substr(0, first_dash);
    rest.remove_prefix(first_dash + 1);
    const auto second_dash = rest.find('-');
    if (second_dash == std::string_view::npos || !all_digits(time) || !all_digits(rest.substr(0, second_dash)))
        return false;
    const auto kind = rest.substr(second_dash + 1);
    if (kind != "predictions" && kind != "outcomes") return false;
    if (std::from_chars(time.data(), time.data() + time.size(), file.written_us).ec != std::errc()) return false;
    file.name = std::string(name);
    file.kind = std::string(kind);
    return true;
}

// Every entry's path in `directory`, without throwing: a directory that is
// missing or unreadable (or fails while listed) yields what was listed.
std::vector<std::filesystem::path> entries_of(const std::string& directory) {
    std::vector<std::filesystem::path> paths;
    std::error_code error;
    std::filesystem::directory_iterator it(directory, error);
    for (; !error && it != std::filesystem::directory_iterator(); it.increment(error)) paths.push_back(it->path());
    return paths;
}

}  // namespace

std::string quarantine_file_name(std::int64_t written_us, std::uint64_t sequence, std::string_view kind) {
    return fmt::format("{}{}-{}-{}{}", name_prefix, written_us, sequence, kind, name_suffix);
}

std::string quarantine_header(std::string_view reason) {
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r' || reason.back() == ' '))
        reason.remove_suffix(1);
    std::string header(reason_prefix);
    for (const char c : reason) header.push_back(c == '\n' || c == '\r' ? ' ' : c);
    header.push_back('\n');
    return header;
}

std::optional<QuarantineFile> read_quarantine_file(const std::filesystem::path& path) {
    QuarantineFile file;
    if (!parse_name(path.filename().string(), file)) return std::nullopt;
    std::error_code error;
    if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(path, error))) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    const std::size_t record_tabs =
        (file.kind == "predictions" ? prediction_copy_columns.size() : outcome_copy_columns.size()) - 1;
    // Line by line, through a fixed buffer: the first line is the reason;
    // each later line is a record when it has exactly the kind's tabs, else
    // a line of the reason (before the first record) or an unframed line.
    enum class Part { first_line, reason, records } part = Part::first_line;
    std::string reason;        // with its prefix, kept up to max_reason_bytes
    std::string continuation;  // the current line while it may be the reason's
    std::size_t line_bytes = 0;
    std::size_t line_tabs = 0;
    const auto keep = [&](char c) {
        if (reason.size() < max_reason_bytes) reason.push_back(c);
    };
    const auto end_line = [&] {
        if (part == Part::first_line) {
            part = Part::reason;
        } else if (line_tabs == record_tabs) {
            ++file.records;
            part = Part::records;
        } else if (part == Part::reason) {
            keep(' ');  // its line break, as quarantine_header writes it
            for (const char c : continuation) keep(c);
        } else {
            ++file.unframed_lines;
        }
        continuation.clear();
        line_bytes = 0;
        line_tabs = 0;
    };
    std::array<char, 1 << 16> buffer{};
    while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
        const auto got = static_cast<std::size_t>(in.gcount());
        file.bytes += got;
        for (std::size_t i = 0; i < got; ++i) {
            const char c = buffer[i];
            if (c == '\n') {
                end_line();
                continue;
            }
            ++line_bytes;
            if (c == '\t') ++line_tabs;
            if (part == Part::first_line) keep(c);
            else if (part == Part::reason && continuation.size() < max_reason_bytes) continuation.push_back(c);
        }
    }
    if (in.bad()) return std::nullopt;
    if (line_bytes > 0) end_line();  // a last line without its newline
    if (file.bytes == 0) {
        file.not_quarantine = "it is empty";
    } else if (!reason.starts_with(reason_prefix)) {
        file.not_quarantine = fmt::format("its first line does not start with \"{}\" (a reason line)", reason_prefix);
    }
    if (!file.not_quarantine.empty()) {
        file.records = 0;
        file.unframed_lines = 0;
        return file;
    }
    file.reason = reason.substr(reason_prefix.size());
    while (file.reason.ends_with(' ')) file.reason.pop_back();  // an older reason's last line break
    return file;
}

std::vector<QuarantineFile> list_quarantine(const std::string& directory) {
    std::vector<QuarantineFile> files;
    for (const auto& path : entries_of(directory))
        if (auto file = read_quarantine_file(path)) files.push_back(std::move(*file));
    std::sort(files.begin(), files.end(), [](const QuarantineFile& a, const QuarantineFile& b) {
        return std::tie(a.written_us, a.name) < std::tie(b.written_us, b.name);
    });
    return files;
}

QuarantineCount QuarantineCensus::count() {
    // One count at a time (counting_), its files read outside mutex_, so
    // that last() (/metrics, /readyz) never waits for a large new file.
    std::lock_guard counting(counting_);
    std::map<std::string, QuarantineFile> known;
    {
        std::lock_guard lock(mutex_);
        known = known_;
    }
    std::map<std::string, QuarantineFile> present;
    for (const auto& path : entries_of(directory_)) {
        const auto name = path.filename().string();
        if (const auto found = known.find(name); found != known.end()) {
            present.emplace(name, found->second);  // still listed: read when it was new
            continue;
        }
        if (auto file = read_quarantine_file(path)) present.emplace(name, std::move(*file));
    }
    QuarantineCount counted;
    for (const auto& [name, file] : present) {
        if (!file.not_quarantine.empty()) continue;
        ++counted.files;
        counted.records += file.records;
        counted.bytes += file.bytes;
        if (counted.oldest_us == 0 || file.written_us < counted.oldest_us) counted.oldest_us = file.written_us;
        counted.newest_us = std::max(counted.newest_us, file.written_us);
    }
    std::lock_guard lock(mutex_);
    known_ = std::move(present);
    last_ = counted;
    return counted;
}

QuarantineCount QuarantineCensus::last() const {
    std::lock_guard lock(mutex_);
    return last_;
}

}  // namespace mw::store
