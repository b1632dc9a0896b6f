#include "core/csv.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

namespace mw::csv {

namespace {

// The bytes that end a run of plain text outside quotes.
constexpr std::array<bool, 256> special_bytes = [] {
    std::array<bool, 256> table{};
    table[static_cast<unsigned char>(',')] = true;
    table[static_cast<unsigned char>('"')] = true;
    table[static_cast<unsigned char>('\r')] = true;
    table[static_cast<unsigned char>('\n')] = true;
    return table;
}();

bool is_special(char c) { return special_bytes[static_cast<unsigned char>(c)]; }

constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";
constexpr char quote = '"';

}  // namespace

std::string Error::to_string() const { return fmt::format("line {}: {}", line, message); }

std::vector<std::string> Record::to_strings() const {
    std::vector<std::string> fields;
    fields.reserve(size());
    for (std::size_t i = 0; i < size(); ++i) fields.emplace_back((*this)[i]);
    return fields;
}

Reader::Reader(std::istream& in, const Options& options) : options_(options), in_(&in) {
    // At least 3 bytes, so the first read holds a whole byte-order mark.
    buffer_bytes_ = std::max<std::size_t>(options_.read_chunk_bytes, byte_order_mark.size());
    buffer_ = std::make_unique<char[]>(buffer_bytes_);
}

Reader::Reader(std::string_view text, const Options& options) : options_(options) {
    data_ = text.data();
    over_limit_ = text.size() > options_.limits.max_input_bytes;
    end_ = over_limit_ ? static_cast<std::size_t>(options_.limits.max_input_bytes) : text.size();
    input_bytes_ = end_;
    input_done_ = true;
    at_start_ = false;
    whole_input_ = true;
    if (std::string_view(data_, end_).starts_with(byte_order_mark)) pos_ = byte_order_mark.size();
}

// Makes data_[pos_] readable; false at the end of what may be read (the end
// of the input, the byte limit, or a read error: see end_of_data). Small, so
// that the parser's calls are inlined; reading the next chunk is refill's.
bool Reader::fill() { return pos_ < end_ || refill(); }

bool Reader::refill() {
    while (pos_ == end_) {
        if (input_done_) return false;
        const std::uint64_t allowed = options_.limits.max_input_bytes - input_bytes_;
        const std::size_t chunk = at_start_ ? buffer_bytes_ : std::max<std::size_t>(options_.read_chunk_bytes, 1);
        // One byte more than allowed tells an input of exactly the limit from a larger one.
        const std::size_t request = allowed >= chunk ? chunk : static_cast<std::size_t>(allowed) + 1;
        in_->read(buffer_.get(), static_cast<std::streamsize>(request));
        std::size_t got = static_cast<std::size_t>(in_->gcount());
        if (in_->bad()) {
            read_failed_ = true;
            input_done_ = true;
        } else if (got < request) {
            input_done_ = true;
        }
        if (got > allowed) {
            got = static_cast<std::size_t>(allowed);
            over_limit_ = true;
            input_done_ = true;
        }
        input_bytes_ += got;
        data_ = buffer_.get();
        pos_ = 0;
        end_ = got;
        if (at_start_) {
            at_start_ = false;
            if (std::string_view(data_, end_).starts_with(byte_order_mark)) pos_ = byte_order_mark.size();
        }
    }
    return true;
}

int Reader::peek() { return fill() ? static_cast<unsigned char>(data_[pos_]) : -1; }

Status Reader::fail(std::uint64_t line, std::size_t column, std::string message) {
    failed_ = true;
    error_ = Error{line, column, std::move(message)};
    return Status::error;
}

// What running out of bytes means: the end of the input, or an error when
// the byte limit or a read error cut it short.
Status Reader::end_of_data() {
    if (over_limit_)
        return fail(line_, 0, fmt::format("input larger than {} bytes", options_.limits.max_input_bytes));
    if (read_failed_) return fail(line_, 0, "read error");
    return Status::end;
}

bool Reader::append(Record& record, const FieldStart& field, const char* begin, const char* end) {
    const auto bytes = static_cast<std::size_t>(end - begin);
    const std::size_t field_bytes = record.bytes_ - field.offset + bytes;
    if (field_bytes > options_.limits.max_field_bytes || record.bytes_ + bytes > options_.limits.max_record_bytes)
        return too_long(record, field);
    record.text_.append(begin, bytes);
    record.bytes_ += bytes;
    return true;
}

// A field or record too long is reported on the line where it starts, and
// as the limit its bytes cross first (the field's on a tie), so the error does
// not depend on where the reads happened to cut the input.
bool Reader::too_long(const Record& record, const FieldStart& field) {
    const Limits& limits = options_.limits;
    const std::size_t field_bytes = record.bytes_ - field.offset;
    const std::size_t field_room = limits.max_field_bytes > field_bytes ? limits.max_field_bytes - field_bytes : 0;
    const std::size_t record_room =
        limits.max_record_bytes > record.bytes_ ? limits.max_record_bytes - record.bytes_ : 0;
    if (field_room <= record_room)
        fail(field.line, field.column,
             fmt::format("field {} longer than {} bytes", field.column, limits.max_field_bytes));
    else
        fail(record.line_, field.column, fmt::format("record longer than {} bytes", limits.max_record_bytes));
    return false;
}

// One record, whatever the header says. Plain text is copied a run at a time
// (up to the next special byte, or the next quote inside quotes), so the cost
// per byte is a table look-up and a copy; from a string_view, a field without
// quotes is not copied at all but viewed where it lies.
Status Reader::parse_record(Record& record) {
    record.text_.clear();
    record.ends_.clear();
    record.views_.clear();
    record.bytes_ = 0;
    record.blank_ = false;
    if (!fill()) return end_of_data();
    record.line_ = line_;
    const bool strict = options_.quotes == Quotes::strict;
    bool first_field_quoted = false;
    while (true) {
        const std::size_t column = record.ends_.size() + 1;
        if (column > options_.limits.max_columns)
            return fail(line_, column, fmt::format("more than {} fields", options_.limits.max_columns));
        const FieldStart field{record.bytes_, line_, column};
        bool after_closing_quote = false;
        bool viewed = false;  // the field is a view into the input, not copied
        if (peek() == quote) {
            if (column == 1) first_field_quoted = true;
            const std::uint64_t quote_line = line_;
            ++pos_;
            while (true) {
                if (!fill()) {
                    if (over_limit_ || read_failed_) return end_of_data();
                    return fail(quote_line, column, fmt::format("field {}: quoted field is never closed", column));
                }
                const char* begin = data_ + pos_;
                const char* end = data_ + end_;
                const auto* found =
                    static_cast<const char*>(std::memchr(begin, quote, static_cast<std::size_t>(end - begin)));
                const char* run_end = found != nullptr ? found : end;
                if (!append(record, field, begin, run_end)) return Status::error;
                line_ += static_cast<std::uint64_t>(std::count(begin, run_end, '\n'));
                pos_ = static_cast<std::size_t>(run_end - data_);
                if (found == nullptr) continue;
                ++pos_;
                if (peek() != quote) break;  // the closing quote
                ++pos_;                      // "" is one quote
                if (!append(record, field, &quote, &quote + 1)) return Status::error;
            }
            after_closing_quote = true;
        }
        // A field without quotes in a whole input: viewed where it lies, when
        // it ends at a separator, a line end or the end of the input (a quote
        // inside it goes the copying way below, which judges it).
        if (!after_closing_quote && whole_input_ && pos_ < end_) {
            const char* begin = data_ + pos_;
            const char* end = data_ + end_;
            const char* stop = begin;
            while (stop != end && !is_special(*stop)) ++stop;
            if (stop == end || *stop != quote) {
                const auto bytes = static_cast<std::size_t>(stop - begin);
                if (bytes > options_.limits.max_field_bytes || record.bytes_ + bytes > options_.limits.max_record_bytes) {
                    too_long(record, field);  // judged before the bytes are added, as append judges them
                    return Status::error;
                }
                record.bytes_ += bytes;
                record.views_.emplace_back(begin, bytes);
                pos_ = static_cast<std::size_t>(stop - data_);
                viewed = true;
            }
        }
        // Plain text up to the separator or the line end (text after a closing quote, leniently).
        while (!viewed && fill()) {
            const char* begin = data_ + pos_;
            const char* end = data_ + end_;
            const char* stop = begin;
            while (stop != end && !is_special(*stop)) ++stop;
            if (stop != begin) {
                if (after_closing_quote && strict)
                    return fail(line_, column, fmt::format("field {}: text after the closing quote", column));
                if (!append(record, field, begin, stop)) return Status::error;
                pos_ = static_cast<std::size_t>(stop - data_);
            }
            if (stop == end) continue;
            if (*stop != quote) break;
            if (strict)
                return fail(line_, column,
                            fmt::format("field {}: {}", column,
                                        after_closing_quote ? "text after the closing quote"
                                                            : "a quote inside an unquoted field"));
            if (!append(record, field, &quote, &quote + 1)) return Status::error;
            ++pos_;
        }
        record.ends_.push_back(record.text_.size());
        if (!viewed) record.views_.emplace_back();  // pointed into text_ when the record is complete
        if (!fill()) {
            if (over_limit_ || read_failed_) return end_of_data();
            break;  // the last record has no line end
        }
        const char separator = data_[pos_++];
        if (separator == ',') continue;
        if (separator == '\r' && peek() == '\n') ++pos_;
        ++line_;
        break;
    }
    // text_ has stopped growing: the copied fields' views point into it.
    for (std::size_t i = 0; i < record.views_.size(); ++i) {
        if (record.views_[i].data() != nullptr) continue;
        const std::size_t begin = i == 0 ? 0 : record.ends_[i - 1];
        record.views_[i] = std::string_view(record.text_.data() + begin, record.ends_[i] - begin);
    }
    record.blank_ = record.ends_.size() == 1 && record.bytes_ == 0 && !first_field_quoted;
    return Status::record;
}

Status Reader::read_header() {
    if (failed_) return Status::error;
    if (!options_.header) return Status::record;
    if (header_read_) return header_.empty() ? Status::end : Status::record;
    header_read_ = true;
    Record record;
    Status status = parse_record(record);
    while (status == Status::record && options_.skip_blank_lines && record.blank()) status = parse_record(record);
    if (status == Status::record) {
        header_ = record.to_strings();
        header_line_ = record.line();
    }
    return status;
}

Status Reader::next(Record& record) {
    if (failed_) return Status::error;
    if (options_.header && !header_read_) {
        const Status status = read_header();
        if (status != Status::record) return status;
    }
    while (true) {
        const Status status = parse_record(record);
        if (status != Status::record) return status;
        if (options_.skip_blank_lines && record.blank()) continue;
        if (options_.header && !options_.allow_ragged && record.size() != header_.size())
            return fail(record.line(), 0,
                        fmt::format("expected {} fields (as the header), got {}", header_.size(), record.size()));
        if (rows_ == options_.limits.max_rows)
            return fail(record.line(), 0, fmt::format("more than {} rows", options_.limits.max_rows));
        ++rows_;
        return Status::record;
    }
}

int Table::column_index(std::string_view name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
    return -1;
}

namespace {

Table read_all(Reader& reader) {
    Table table;
    Status status = reader.read_header();
    if (status == Status::end) {
        table.error = Error{1, 0, "empty input: expected a header row"};
        return table;
    }
    if (status == Status::error) {
        table.error = reader.error();
        return table;
    }
    table.header = reader.header();
    table.header_line = reader.header_line();
    Record record;
    while ((status = reader.next(record)) == Status::record) {
        table.rows.push_back(record.to_strings());
        table.row_lines.push_back(record.line());
    }
    if (status == Status::error) {
        // Rows read before the error are dropped so nobody uses half an input.
        table.error = reader.error();
        table.rows.clear();
        table.row_lines.clear();
    }
    return table;
}

}  // namespace

Table read_table(std::istream& in, const Options& options) {
    Reader reader(in, options);
    return read_all(reader);
}

Table read_table(std::string_view text, const Options& options) {
    Reader reader(text, options);
    return read_all(reader);
}

}  // namespace mw::csv
