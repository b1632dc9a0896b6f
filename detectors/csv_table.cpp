#include "detectors/csv_table.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <fmt/format.h>

namespace mw::drift {

int CsvTable::column_index(std::string_view name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
    return -1;
}

namespace {

csv::Options options_with(const CsvLimits& limits) {
    csv::Options options;
    options.limits = limits;
    return options;
}

// The header's columns must have distinct, non-empty names.
std::string check_header(const std::vector<std::string>& header) {
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header[i].empty()) return fmt::format("header column {} has no name", i + 1);
        if (!seen.insert(header[i]).second) return fmt::format("header names column '{}' twice", header[i]);
    }
    return "";
}

CsvTable to_drift_table(csv::Table table, std::string_view source) {
    CsvTable result;
    if (!table.ok()) {
        result.error = fmt::format("{}: {}", source, table.error->to_string());
        return result;
    }
    if (const std::string problem = check_header(table.header); !problem.empty()) {
        result.error = fmt::format("{}: line {}: {}", source, table.header_line, problem);
        return result;
    }
    result.header = std::move(table.header);
    result.rows = std::move(table.rows);
    result.row_lines = std::move(table.row_lines);
    return result;
}

// A file mapped read-only, so the reader parses it in place: its fields
// without quotes are views into the mapping, never copied. Empty when the
// file cannot be mapped (a pipe, an empty file); the caller then streams it.
class MappedCsvFile {
public:
    explicit MappedCsvFile(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        struct stat info {};
        if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
            const auto bytes = static_cast<std::size_t>(info.st_size);
            // MAP_POPULATE maps the file's pages in one go instead of one
            // page fault per 4 KiB as the parser walks through them.
            void* data = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
            if (data != MAP_FAILED) {
                ::madvise(data, bytes, MADV_SEQUENTIAL);
                data_ = static_cast<const char*>(data);
                bytes_ = bytes;
            }
        }
        ::close(fd);
    }
    MappedCsvFile(const MappedCsvFile&) = delete;
    MappedCsvFile& operator=(const MappedCsvFile&) = delete;
    ~MappedCsvFile() {
        if (data_ != nullptr) ::munmap(const_cast<char*>(data_), bytes_);
    }
    bool mapped() const { return data_ != nullptr; }
    std::string_view text() const { return {data_, bytes_}; }

private:
    const char* data_ = nullptr;
    std::size_t bytes_ = 0;
};

// Reads every record of `reader` after its header, calling on_record(record)
// for each; "" or the error naming the file and line.
template <typename OnRecord>
std::string read_records_of(csv::Reader& reader, const std::string& path, std::vector<std::string>& header,
                            OnRecord& on_record) {
    csv::Record record;
    csv::Status status = reader.read_header();
    if (status == csv::Status::error) return fmt::format("{}: {}", path, reader.error().to_string());
    if (status == csv::Status::end)
        return fmt::format("{}: {}", path, csv::Error{1, 0, "empty input: expected a header row"}.to_string());
    header = reader.header();
    if (const std::string problem = check_header(header); !problem.empty())
        return fmt::format("{}: line {}: {}", path, reader.header_line(), problem);
    while ((status = reader.next(record)) == csv::Status::record) on_record(record);
    if (status == csv::Status::error) return fmt::format("{}: {}", path, reader.error().to_string());
    return "";
}

// Reads every record of the file at `path` after its header: mapped and
// parsed in place when it is a regular file, else streamed.
template <typename OnRecord>
std::string read_csv_records(const std::string& path, const CsvLimits& limits, std::vector<std::string>& header,
                             OnRecord on_record) {
    const MappedCsvFile mapped(path);
    if (mapped.mapped()) {
        csv::Reader reader(mapped.text(), options_with(limits));
        return read_records_of(reader, path, header, on_record);
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return fmt::format("{}: cannot open", path);
    csv::Reader reader(in, options_with(limits));
    return read_records_of(reader, path, header, on_record);
}

}  // namespace

bool is_missing_cell(std::string_view cell) {
    return cell.empty() || cell == "NA" || cell == "NaN" || cell == "nan" || cell == "null";
}

bool parse_number_cell(std::string_view cell, double& value) {
    const auto [ptr, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
    return ec == std::errc() && ptr == cell.data() + cell.size() && std::isfinite(value);
}

int CsvColumns::column_index(std::string_view name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
    return -1;
}

CsvColumns read_csv_columns(const std::string& path, const std::vector<std::string>& text_columns,
                            const CsvLimits& limits) {
    CsvColumns table;
    // Columns that became text after holding numbers: their texts are read
    // in a second pass.
    std::vector<std::size_t> read_again;
    bool started = false;
    const std::string error = read_csv_records(path, limits, table.header, [&](const csv::Record& record) {
        if (!started) {
            started = true;
            table.columns.resize(table.header.size());
            // Reserve each column for the rows the file's size suggests at
            // the first row's width (times 1.5): growing a vector of a
            // million values by doubling copies it about twenty times, and
            // reserved pages never written cost no memory.
            std::size_t row_bytes = record.size();
            for (std::size_t c = 0; c < record.size(); ++c) row_bytes += record[c].size();
            std::error_code size_error;
            const auto file_bytes = std::filesystem::file_size(path, size_error);
            const std::uint64_t expected_rows =
                size_error ? 0 : std::min<std::uint64_t>(limits.max_rows, file_bytes / row_bytes * 3 / 2 + 16);
            for (std::size_t c = 0; c < table.header.size(); ++c) {
                const bool text = std::find(text_columns.begin(), text_columns.end(), table.header[c]) !=
                                  text_columns.end();
                table.columns[c].numeric = !text;
                if (text)
                    table.columns[c].texts.reserve(expected_rows);
                else
                    table.columns[c].numbers.reserve(expected_rows);
            }
        }
        for (std::size_t c = 0; c < record.size(); ++c) {
            CsvColumn& column = table.columns[c];
            const std::string_view cell = record[c];
            if (column.numeric) {
                double value = std::numeric_limits<double>::quiet_NaN();
                if (is_missing_cell(cell) || parse_number_cell(cell, value)) {
                    column.numbers.push_back(value);
                    continue;
                }
                // The first cell that is not a number: the column is text.
                column.numeric = false;
                const bool any_number = std::any_of(column.numbers.begin(), column.numbers.end(),
                                                    [](double v) { return !std::isnan(v); });
                if (any_number) read_again.push_back(c);
                const std::size_t capacity = column.numbers.capacity();
                column.texts.assign(column.numbers.size(), std::string_view());
                column.texts.reserve(capacity);
                std::vector<double>().swap(column.numbers);
            }
            column.texts.emplace_back(is_missing_cell(cell) ? std::string_view() : cell);
        }
        ++table.rows;
    });
    if (!error.empty()) {
        table.error = error;
        return table;
    }
    if (!started) table.columns.resize(table.header.size());
    for (std::size_t c : read_again) {
        std::string again_error;
        table.columns[c].texts = read_csv_text_column(path, table.header[c], again_error, limits);
        if (!again_error.empty()) {
            table.error = again_error;
            return table;
        }
    }
    return table;
}

TextColumn read_csv_text_column(const std::string& path, std::string_view name, std::string& error,
                                const CsvLimits& limits) {
    TextColumn texts;
    std::vector<std::string> header;
    std::size_t index = 0;
    bool found = false;
    error = read_csv_records(path, limits, header, [&](const csv::Record& record) {
        if (!found) {
            for (std::size_t c = 0; c < header.size(); ++c)
                if (header[c] == name) index = c;
            found = true;
        }
        const std::string_view cell = record[index];
        texts.emplace_back(is_missing_cell(cell) ? std::string_view() : cell);
    });
    if (error.empty() && std::find(header.begin(), header.end(), name) == header.end())
        error = fmt::format("{}: no column '{}' (the file changed while it was read)", path, name);
    return texts;
}

CsvTable read_csv(std::istream& in, std::string_view source, const CsvLimits& limits) {
    return to_drift_table(csv::read_table(in, options_with(limits)), source);
}

CsvTable read_csv(std::string_view text, std::string_view source, const CsvLimits& limits) {
    return to_drift_table(csv::read_table(text, options_with(limits)), source);
}

}  // namespace mw::drift
