#include "fairness/audit_csv.h"

#include <charconv>
#include <cmath>
#include <memory>

#include <fmt/format.h>

namespace mw::fairness {

namespace {

// Splits the input into records of fields, one record per call. Tracks the
// physical line a record starts on (newlines inside quotes count) so that
// messages point at the line a person sees in an editor.
class CsvRecordReader {
public:
    CsvRecordReader(std::istream& in, const CsvLimits& limits) : in_(in), limits_(limits) {}

    enum class Status { record, end, error };

    Status next(std::vector<std::string>& fields) {
        fields.clear();
        if (at_end_) return Status::end;
        record_line_ = line_;
        std::string field;
        bool quoted = false;       // inside a quoted field
        bool was_quoted = false;   // the current field started with a quote
        bool any_char = false;     // the record has at least one character
        while (true) {
            int c = get();
            if (c == eof) {
                if (error_.empty() && quoted) error_ = fmt::format("line {}: a quoted field is not closed", record_line_);
                if (!error_.empty()) return Status::error;
                at_end_ = true;
                if (!any_char) return Status::end;
                fields.push_back(std::move(field));
                return Status::record;
            }
            any_char = true;
            if (quoted) {
                if (c == '"') {
                    if (peek() == '"') {
                        get();
                        field.push_back('"');
                    } else {
                        quoted = false;
                    }
                } else {
                    if (c == '\n') ++line_;
                    field.push_back(static_cast<char>(c));
                }
            } else if (c == '"' && field.empty() && !was_quoted) {
                quoted = true;
                was_quoted = true;
            } else if (c == ',') {
                fields.push_back(std::move(field));
                field.clear();
                was_quoted = false;
                if (fields.size() > limits_.max_columns) {
                    error_ = fmt::format("line {}: more than {} fields", record_line_, limits_.max_columns);
                    return Status::error;
                }
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && peek() == '\n') get();
                ++line_;
                fields.push_back(std::move(field));
                return Status::record;
            } else {
                // Text after a closing quote ("ab"c) is kept, as most readers do.
                field.push_back(static_cast<char>(c));
            }
            if (field.size() > limits_.max_field_bytes) {
                error_ = fmt::format("line {}: a field is longer than {} bytes", record_line_, limits_.max_field_bytes);
                return Status::error;
            }
        }
    }

    std::uint64_t record_line() const { return record_line_; }
    const std::string& error() const { return error_; }

private:
    static constexpr int eof = -1;

    int get() {
        if (pos_ == end_ && !fill()) return eof;
        return static_cast<unsigned char>(buffer_[pos_++]);
    }
    int peek() {
        if (pos_ == end_ && !fill()) return eof;
        return static_cast<unsigned char>(buffer_[pos_]);
    }
    bool fill() {
        if (!error_.empty()) return false;
        in_.read(buffer_.get(), buffer_size);
        end_ = static_cast<std::size_t>(in_.gcount());
        pos_ = 0;
        if (total_ == 0 && end_ >= 3 && std::string_view(buffer_.get(), 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 BOM
        total_ += end_;
        if (total_ > limits_.max_bytes) {
            error_ = fmt::format("the input is larger than {} bytes", limits_.max_bytes);
            return false;
        }
        return end_ > 0;
    }

    static constexpr std::size_t buffer_size = 1 << 16;
    std::istream& in_;
    const CsvLimits& limits_;
    std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(buffer_size);
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
    std::uint64_t total_ = 0;
    std::uint64_t line_ = 1;
    std::uint64_t record_line_ = 1;
    bool at_end_ = false;
    std::string error_;
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool parse_probability(std::string_view text, double& value) {
    text = trim(text);
    if (text.empty()) return false;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && end == text.data() + text.size() && std::isfinite(value) && value >= 0.0 && value <= 1.0;
}

}  // namespace

CsvAuditRead read_audit_csv(std::istream& in, const CsvAuditSpec& spec) {
    CsvAuditRead read;
    CsvRecordReader reader(in, spec.limits);
    std::vector<std::string> header;
    if (reader.next(header) != CsvRecordReader::Status::record) {
        read.error = reader.error().empty() ? "the input is empty (no header row)" : reader.error();
        return read;
    }
    auto column = [&](const std::string& name) -> int {
        for (std::size_t i = 0; i < header.size(); ++i)
            if (trim(header[i]) == name) return static_cast<int>(i);
        return -1;
    };
    auto require = [&](const std::string& name, const char* role) -> int {
        const int index = column(name);
        if (index < 0 && read.error.empty())
            read.error = fmt::format("line 1: the header has no column '{}' ({})", name, role);
        return index;
    };
    std::vector<int> sensitive;
    for (const auto& name : spec.sensitive_columns) sensitive.push_back(require(name, "--sensitive"));
    const int y_true = require(spec.y_true_column, "--y-true");
    const int y_pred = require(spec.y_pred_column, "--y-pred");
    const int score = spec.score_column ? require(*spec.score_column, "--score") : -1;
    if (!read.error.empty()) return read;

    AuditData& data = read.data;
    data.attributes.resize(sensitive.size());
    std::vector<AttributeEncoder> encoders;
    for (std::size_t a = 0; a < sensitive.size(); ++a) {
        data.attributes[a].name = spec.sensitive_columns[a];
        encoders.emplace_back(data.attributes[a]);
    }

    auto reject = [&](std::string problem) {
        ++read.rows_rejected;
        if (read.problems.size() < spec.limits.max_reported_problems) read.problems.push_back(std::move(problem));
    };
    std::vector<std::string> fields;
    std::uint64_t rows = 0;
    while (true) {
        const auto status = reader.next(fields);
        if (status == CsvRecordReader::Status::end) break;
        if (status == CsvRecordReader::Status::error) {
            read.error = reader.error();
            return read;
        }
        const std::uint64_t line = reader.record_line();
        if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line
        if (++rows > spec.limits.max_rows) {
            read.error = fmt::format("line {}: more than {} rows", line, spec.limits.max_rows);
            return read;
        }
        if (fields.size() != header.size()) {
            reject(fmt::format("line {}: expected {} fields as in the header, got {}", line, header.size(), fields.size()));
        } else if (trim(fields[y_true]).empty()) {
            reject(fmt::format("line {}: column '{}' is empty", line, spec.y_true_column));
        } else if (trim(fields[y_pred]).empty()) {
            reject(fmt::format("line {}: column '{}' is empty", line, spec.y_pred_column));
        } else {
            double probability = 0;
            if (score >= 0 && !parse_probability(fields[score], probability)) {
                reject(fmt::format("line {}: column '{}' is '{}', not a number in [0, 1]", line, *spec.score_column,
                                   fields[score].substr(0, 40)));
            } else {
                for (std::size_t a = 0; a < sensitive.size(); ++a) {
                    const std::string_view value = trim(fields[sensitive[a]]);
                    encoders[a].append(value.empty() ? std::string_view("(missing)") : value);
                    if (encoders[a].distinct() > spec.limits.max_distinct_values) {
                        read.error = fmt::format("line {}: column '{}' has more than {} distinct values; is it really "
                                                 "a group attribute?",
                                                 line, spec.sensitive_columns[a], spec.limits.max_distinct_values);
                        return read;
                    }
                }
                data.y_true.push_back(trim(fields[y_true]) == spec.positive_label ? 1 : 0);
                data.y_pred.push_back(trim(fields[y_pred]) == spec.positive_label ? 1 : 0);
                if (score >= 0) data.score.push_back(probability);
            }
        }
        if (read.rows_rejected > spec.limits.max_rejected_rows) {
            read.error = fmt::format("more than {} rows rejected, the last at line {}; first: {}",
                                     spec.limits.max_rejected_rows, line, read.problems.front());
            return read;
        }
    }
    if (data.rows() == 0)
        read.error = read.rows_rejected > 0 ? fmt::format("every row was rejected; first: {}", read.problems.front())
                                            : "the input has a header but no rows";
    return read;
}

}  // namespace mw::fairness
