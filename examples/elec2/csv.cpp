#include "examples/elec2/csv.h"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mw::elec2 {

Result<CsvTable> parse_csv(std::string_view text) {
    CsvTable table;
    CsvRecord record;
    std::string field;
    std::size_t line = 1;
    std::size_t record_line = 1;
    bool in_quotes = false;
    bool field_was_quoted = false;
    bool record_has_content = false;

    auto finish_record = [&]() -> std::string {
        record.push_back(std::move(field));
        field.clear();
        field_was_quoted = false;
        if (table.header.empty() && table.records.empty()) {
            table.header = std::move(record);
        } else {
            if (record.size() != table.header.size())
                return fmt::format("line {}: {} fields, the header has {}", record_line, record.size(),
                                   table.header.size());
            table.records.push_back(std::move(record));
            table.record_lines.push_back(record_line);
        }
        record.clear();
        record_has_content = false;
        return {};
    };

    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_quotes) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field.push_back('"');
                    ++i;
                } else {
                    in_quotes = false;
                }
            } else {
                if (c == '\n') ++line;
                field.push_back(c);
            }
            continue;
        }
        switch (c) {
            case '"':
                if (!field.empty() || field_was_quoted)
                    return Result<CsvTable>::failure(
                        fmt::format("line {}: a quote inside an unquoted field (RFC 4180 section 2)", line));
                in_quotes = true;
                field_was_quoted = true;
                record_has_content = true;
                break;
            case ',':
                record.push_back(std::move(field));
                field.clear();
                field_was_quoted = false;
                record_has_content = true;
                break;
            case '\r':
                if (i + 1 < text.size() && text[i + 1] == '\n') break;  // the LF ends the record
                return Result<CsvTable>::failure(fmt::format("line {}: a bare carriage return", line));
            case '\n':
                // An empty line (e.g. the end of the file) is not a record.
                if (record_has_content || !field.empty()) {
                    if (auto error = finish_record(); !error.empty()) return Result<CsvTable>::failure(error);
                }
                ++line;
                record_line = line;
                break;
            default:
                if (field_was_quoted)
                    return Result<CsvTable>::failure(
                        fmt::format("line {}: text after a closing quote (RFC 4180 section 2)", line));
                field.push_back(c);
                record_has_content = true;
        }
    }
    if (in_quotes) return Result<CsvTable>::failure(fmt::format("line {}: unterminated quoted field", record_line));
    if (record_has_content || !field.empty()) {
        if (auto error = finish_record(); !error.empty()) return Result<CsvTable>::failure(error);
    }
    if (table.header.empty()) return Result<CsvTable>::failure("no header line");
    return {std::move(table), {}};
}

Result<std::string> read_maybe_gzip_file(const std::string& path) {
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) return Result<std::string>::failure(fmt::format("{}: {}", path, std::strerror(errno)));
    std::string content;
    std::array<char, 1 << 16> buffer;
    while (true) {
        const int n = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()));
        if (n < 0) {
            int code = 0;
            const std::string message = gzerror(file, &code);
            gzclose(file);
            return Result<std::string>::failure(fmt::format("{}: {}", path, message));
        }
        if (n == 0) break;
        content.append(buffer.data(), static_cast<std::size_t>(n));
    }
    gzclose(file);
    return {std::move(content), {}};
}

int column_index(const CsvRecord& header, std::string_view name) {
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
    return -1;
}

}  // namespace mw::elec2
