#include "detectors/csv_table.h"

#include <set>

#include <fmt/format.h>

namespace mw::drift {

int CsvTable::column_index(std::string_view name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
    return -1;
}

namespace {

// The parser is a character-at-a-time state machine over the stream buffer,
// so memory is bounded by the limits whatever the input looks like.
class Parser {
public:
    Parser(std::istream& in, std::string_view source, const CsvLimits& limits)
        : buffer_(in.rdbuf()), source_(source), limits_(limits) {}

    CsvTable run() {
        if (buffer_ == nullptr) return fail(1, "cannot read the input");
        skip_byte_order_mark();
        std::vector<std::string> record;
        std::uint64_t record_line = 0;
        while (true) {
            const int status = read_record(record, record_line);
            if (status < 0) return std::move(table_);
            if (status == 0) break;
            if (table_.header.empty()) {
                if (!accept_header(record, record_line)) return std::move(table_);
                continue;
            }
            if (record.size() == 1 && record[0].empty()) continue;  // a blank line
            if (record.size() != table_.header.size())
                return fail(record_line, fmt::format("expected {} fields (as the header), got {}", table_.header.size(),
                                                     record.size()));
            if (table_.rows.size() >= limits_.max_rows)
                return fail(record_line, fmt::format("more than {} rows", limits_.max_rows));
            table_.rows.push_back(std::move(record));
            table_.row_lines.push_back(record_line);
            record = {};
        }
        if (table_.header.empty()) return fail(1, "empty input: expected a header row");
        return std::move(table_);
    }

private:
    static constexpr int end_of_input = std::char_traits<char>::eof();

    int next() {
        const int c = buffer_->sbumpc();
        if (c == end_of_input) return c;
        if (++bytes_ > limits_.max_bytes) return end_of_input - 1;  // signalled below as too large
        return c;
    }
    int peek() { return buffer_->sgetc(); }

    void skip_byte_order_mark() {
        const char bom[] = "\xEF\xBB\xBF";
        if (peek() != static_cast<unsigned char>(bom[0])) return;
        buffer_->sbumpc();
        for (int i = 1; i < 3; ++i)
            if (peek() == static_cast<unsigned char>(bom[i])) buffer_->sbumpc();
    }

    // Records the error; rows read so far are dropped so nobody uses half a file.
    void record_error(std::uint64_t line, const std::string& message) {
        table_.error = fmt::format("{}: line {}: {}", source_, line, message);
        table_.rows.clear();
        table_.row_lines.clear();
    }

    CsvTable fail(std::uint64_t line, const std::string& message) {
        record_error(line, message);
        return std::move(table_);
    }

    bool accept_header(std::vector<std::string>& record, std::uint64_t line) {
        std::set<std::string> seen;
        for (std::size_t i = 0; i < record.size(); ++i) {
            if (record[i].empty()) {
                record_error(line, fmt::format("header column {} has no name", i + 1));
                return false;
            }
            if (!seen.insert(record[i]).second) {
                record_error(line, fmt::format("header names column '{}' twice", record[i]));
                return false;
            }
        }
        table_.header = std::move(record);
        record = {};
        return true;
    }

    // Reads one record into `fields`. Returns 1 for a record, 0 at the end of
    // the input, -1 after recording an error in table_.
    int read_record(std::vector<std::string>& fields, std::uint64_t& record_line) {
        fields.clear();
        if (peek() == end_of_input) return 0;
        ++line_;
        record_line = line_;
        std::string field;
        bool quoted = false;      // inside a quoted field
        bool was_quoted = false;  // the current field started with a quote
        std::uint64_t quote_line = 0;
        auto finish_field = [&]() -> bool {
            if (fields.size() >= limits_.max_columns) {
                record_error(record_line, fmt::format("more than {} fields", limits_.max_columns));
                return false;
            }
            fields.push_back(std::move(field));
            field.clear();
            was_quoted = false;
            return true;
        };
        while (true) {
            const int c = next();
            if (c == end_of_input - 1) {
                record_error(line_, fmt::format("input larger than {} bytes", limits_.max_bytes));
                return -1;
            }
            if (quoted) {
                if (c == end_of_input) {
                    record_error(quote_line, "quoted field is never closed");
                    return -1;
                }
                if (c == '"') {
                    if (peek() == '"') {
                        next();
                        field += '"';
                    } else {
                        quoted = false;
                        const int after = peek();
                        if (after != ',' && after != '\n' && after != '\r' && after != end_of_input) {
                            record_error(line_,
                                         fmt::format("field {}: text after the closing quote", fields.size() + 1));
                            return -1;
                        }
                    }
                    continue;
                }
                if (c == '\n') ++line_;
            } else {
                if (c == end_of_input || c == '\n') return finish_field() ? 1 : -1;
                if (c == '\r') {
                    if (peek() == '\n') next();
                    return finish_field() ? 1 : -1;
                }
                if (c == ',') {
                    if (!finish_field()) return -1;
                    continue;
                }
                if (c == '"') {
                    if (!field.empty() || was_quoted) {
                        record_error(line_,
                                     fmt::format("field {}: a quote inside an unquoted field", fields.size() + 1));
                        return -1;
                    }
                    quoted = was_quoted = true;
                    quote_line = line_;
                    continue;
                }
            }
            if (field.size() >= limits_.max_field_bytes) {
                record_error(line_,
                             fmt::format("field {} longer than {} bytes", fields.size() + 1, limits_.max_field_bytes));
                return -1;
            }
            field += static_cast<char>(c);
        }
    }

    std::streambuf* buffer_;
    std::string_view source_;
    const CsvLimits& limits_;
    CsvTable table_;
    std::uint64_t line_ = 0;
    std::uint64_t bytes_ = 0;
};

}  // namespace

CsvTable read_csv(std::istream& in, std::string_view source, const CsvLimits& limits) {
    return Parser(in, source, limits).run();
}

}  // namespace mw::drift
