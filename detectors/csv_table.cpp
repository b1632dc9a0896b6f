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

#include "stats/huge_pages.h"

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

    // Gives back the pages before `offset`, which the parser is past, every
    // 8 MiB: a file read in full does not stay resident beside the columns
    // read from it (with two files parsed at once, 266 MB of the bench's
    // peak). The pages stay in the page cache.
    void release_before(std::uint64_t offset) {
        constexpr std::size_t release_step_bytes = std::size_t{8} << 20;
        constexpr std::size_t release_alignment = std::size_t{64} << 10;  // a multiple of any page size
        if (offset < released_ + release_step_bytes) return;
        const std::size_t end = static_cast<std::size_t>(offset) & ~(release_alignment - 1);
        ::madvise(const_cast<char*>(data_) + released_, end - released_, MADV_DONTNEED);
        released_ = end;
    }

private:
    const char* data_ = nullptr;
    std::size_t bytes_ = 0;
    std::size_t released_ = 0;
};

// A column's numbers reserved for `rows` values, on huge pages (see
// stats/huge_pages.h): the column is written once, front to back.
void reserve_numbers(std::vector<double>& numbers, std::size_t rows) {
    numbers.reserve(rows);
    stats::prefer_huge_pages(numbers.data(), numbers.capacity() * sizeof(double));
}

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
    MappedCsvFile mapped(path);
    if (mapped.mapped()) {
        csv::Reader reader(mapped.text(), options_with(limits));
        // The record's views point into the mapping: released only after
        // on_record is done with it.
        auto on_record_then_release = [&](const csv::Record& record) {
            on_record(record);
            mapped.release_before(reader.input_offset());
        };
        return read_records_of(reader, path, header, on_record_then_release);
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

namespace {

// 10^0 .. 10^22: every one exactly a double.
constexpr double exact_powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                          1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// A plain decimal, -?[0-9]+(\.[0-9]+)?, of at most 19 digits whose digits
// as an integer m are at most 2^53 and with at most 22 after the point: its
// value is m / 10^k, both exact doubles, and one IEEE division rounds the
// quotient correctly (Clinger, "How to read floating point numbers
// accurately", PLDI 1990: the fast path), so the result is from_chars'
// bit for bit. Most cells of a CSV file are such decimals; anything else
// (exponents, long mantissas, "inf", ".5") returns false for from_chars.
bool parse_plain_decimal(std::string_view cell, double& value) {
    const char* p = cell.data();
    const char* const end = p + cell.size();
    const bool negative = p != end && *p == '-';
    if (negative) ++p;
    std::uint64_t digits = 0;
    const char* const first = p;
    while (p != end && static_cast<unsigned char>(*p - '0') < 10) digits = digits * 10 + static_cast<unsigned>(*p++ - '0');
    std::ptrdiff_t count = p - first;
    if (count == 0) return false;
    std::ptrdiff_t decimals = 0;
    if (p != end) {
        if (*p != '.') return false;
        const char* const point = ++p;
        while (p != end && static_cast<unsigned char>(*p - '0') < 10)
            digits = digits * 10 + static_cast<unsigned>(*p++ - '0');
        decimals = p - point;
        if (decimals == 0 || p != end) return false;
        count += decimals;
    }
    if (count > 19 || decimals > 22 || digits > (std::uint64_t{1} << 53)) return false;
    const double magnitude = static_cast<double>(digits) / exact_powers_of_ten[decimals];
    value = negative ? -magnitude : magnitude;
    return true;
}

}  // namespace

bool parse_number_cell(std::string_view cell, double& value) {
    if (parse_plain_decimal(cell, value)) return true;
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
                    reserve_numbers(table.columns[c].numbers, expected_rows);
            }
        }
        for (std::size_t c = 0; c < record.size(); ++c) {
            CsvColumn& column = table.columns[c];
            const std::string_view cell = record[c];
            if (column.numeric) {
                double value = 0;
                if (parse_number_cell(cell, value)) {
                    column.numbers.push_back(value);
                    continue;
                }
                if (is_missing_cell(cell)) {
                    column.numbers.push_back(std::numeric_limits<double>::quiet_NaN());
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
