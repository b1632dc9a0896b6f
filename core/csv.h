// The one CSV reader of modelwatch (RFC 4180, https://www.rfc-editor.org/rfc/rfc4180):
// fields separated by commas; a field in double quotes may hold commas, line
// ends and doubled quotes ("" for one "); records end with CRLF, LF or a lone
// CR; a leading UTF-8 byte-order mark is skipped; the first record is a header
// naming the columns. CSV files come from anywhere, so every size is bounded
// (Limits) and a malformed input is an Error value naming the line and the
// field, never an exception. Lines are counted as an editor shows them: a
// record's line end (CRLF, LF or CR) ends a line, and so does each LF inside
// quotes.
//
// Reader streams one record at a time from an std::istream (read in chunks,
// so a multi-gigabyte file is never held whole) or from a string_view; the
// Record it fills keeps its buffers from one record to the next, so reading
// allocates nothing per field once the buffers have grown. read_table is the
// convenience for inputs small enough to hold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::csv {

struct Limits {
    std::uint64_t max_input_bytes = 16ull << 30;  // the whole input, byte-order mark included
    std::size_t max_field_bytes = 1 << 20;        // one field, after unquoting
    std::size_t max_record_bytes = 64 << 20;      // all fields of one record, after unquoting
    std::size_t max_columns = 10'000;             // fields in one record
    std::uint64_t max_rows = 100'000'000;         // records after the header; skipped blank lines not counted
};

enum class Quotes {
    // RFC 4180: a quote may only open a field, and a closing quote must be
    // followed by a separator or a line end; anything else is an error.
    strict,
    // As Python's csv module (csv.reader, default dialect): a quote inside an
    // unquoted field is text, and text after a closing quote is appended
    // ("ab"c reads as abc). For inputs that were accepted this way before.
    lenient,
};

struct Options {
    Limits limits;
    bool header = true;            // the first record names the columns
    bool allow_ragged = false;     // rows of another width than the header are returned, for the caller to judge
    bool skip_blank_lines = true;  // a line with no character at all is no record ("" is a record of one empty field)
    Quotes quotes = Quotes::strict;
    std::size_t read_chunk_bytes = 64 << 10;  // bytes read from an istream at a time
};

struct Error {
    // 1-based line of the input: where the field or record at fault starts
    // (a quoted field never closed, a field too long, a ragged row), else
    // where the reader stood (a stray quote, the byte limit).
    std::uint64_t line = 0;
    std::size_t column = 0;   // 1-based field number in its record; 0 when the problem is not one field's
    std::string message;      // for people, naming the field when there is one: "field 3: quoted field is never closed"

    std::string to_string() const;  // "line 17: field 3: quoted field is never closed"
};

// One record: its fields, unquoted. Fields are views, valid until the record
// is read into again: into the record's own buffer, or, when the reader reads
// a string_view, straight into that input for a field without quotes (no
// copy: only quoted fields, whose bytes differ from the input's, are copied).
class Record {
public:
    Record() = default;
    Record(const Record&) = delete;  // the views may point into text_
    Record& operator=(const Record&) = delete;

    std::size_t size() const { return views_.size(); }
    std::string_view operator[](std::size_t index) const { return views_[index]; }
    std::uint64_t line() const { return line_; }  // 1-based line the record starts on
    // A line with no character at all (kept only without Options::skip_blank_lines).
    bool blank() const { return blank_; }
    std::vector<std::string> to_strings() const;

private:
    friend class Reader;
    std::string text_;               // the copied fields' bytes one after the other
    std::vector<std::size_t> ends_;  // where each field ends in text_ (a field not copied adds nothing)
    // Each field; while the record is parsed, a copied field's view has no
    // data yet and is pointed into text_ once text_ stops growing.
    std::vector<std::string_view> views_;
    std::size_t bytes_ = 0;  // all fields' bytes, copied or not: what max_record_bytes bounds
    std::uint64_t line_ = 0;
    bool blank_ = false;
};

enum class Status { record, end, error };

class Reader {
public:
    // Reads `in` from its current position; `in` must outlive the reader.
    explicit Reader(std::istream& in, const Options& options = {});
    // `text` must outlive the reader; it is not copied.
    explicit Reader(std::string_view text, const Options& options = {});
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    // Reads the header row (Options::header); next() calls it when it has
    // not been called. Leading blank lines are skipped as in the rows.
    // Status::end when the input holds no record at all.
    Status read_header();
    const std::vector<std::string>& header() const { return header_; }
    std::uint64_t header_line() const { return header_line_; }  // 1-based; 0 before the header is read

    // Reads the next row into `record`. After Status::error, error() says
    // why and every later call returns Status::error again.
    Status next(Record& record);
    const Error& error() const { return error_; }

    // Rows returned so far (blank lines included when they are not skipped).
    std::uint64_t rows_read() const { return rows_; }
    // Bytes of the input the reader has moved past (a byte-order mark
    // included). It never looks at them again: a caller reading a mapped
    // file may give those pages back once it is done with the last record.
    std::uint64_t input_offset() const { return input_bytes_ - (end_ - pos_); }

private:
    bool fill();
    bool refill();
    int peek();
    Status parse_record(Record& record);
    Status end_of_data();
    struct FieldStart {
        std::size_t offset = 0;  // the record's bytes before the field
        std::uint64_t line = 0;
        std::size_t column = 0;
    };
    bool append(Record& record, const FieldStart& field, const char* begin, const char* end);
    bool too_long(const Record& record, const FieldStart& field);
    Status fail(std::uint64_t line, std::size_t column, std::string message);

    Options options_;
    std::istream* in_ = nullptr;
    std::unique_ptr<char[]> buffer_;  // the chunk read from in_
    std::size_t buffer_bytes_ = 0;
    const char* data_ = nullptr;  // the bytes being parsed: buffer_ or the string_view
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
    std::uint64_t input_bytes_ = 0;  // bytes taken from the input so far
    bool input_done_ = false;        // nothing to read beyond data_[end_]
    bool over_limit_ = false;        // the input has more than max_input_bytes
    bool read_failed_ = false;
    bool at_start_ = true;  // the byte-order mark is looked for in the first bytes only
    bool whole_input_ = false;  // data_ is the whole input (a string_view): fields may point into it
    std::uint64_t line_ = 1;
    std::uint64_t rows_ = 0;
    bool header_read_ = false;
    std::vector<std::string> header_;
    std::uint64_t header_line_ = 0;
    bool failed_ = false;
    Error error_;
};

// A whole input held in memory, for small inputs.
struct Table {
    std::vector<std::string> header;             // empty without Options::header
    std::uint64_t header_line = 0;               // 1-based line of the header (blank lines may come first)
    std::vector<std::vector<std::string>> rows;  // every row has header.size() fields unless allow_ragged
    std::vector<std::uint64_t> row_lines;        // 1-based line where each row starts
    std::optional<Error> error;                  // set when the input is refused; rows are then empty

    bool ok() const { return !error.has_value(); }
    // Index of the column named `name`, or -1.
    int column_index(std::string_view name) const;
};

// With Options::header, an input without any record is an error
// ("empty input: expected a header row").
Table read_table(std::istream& in, const Options& options = {});
Table read_table(std::string_view text, const Options& options = {});

}  // namespace mw::csv
