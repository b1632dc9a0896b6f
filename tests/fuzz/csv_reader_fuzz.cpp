// libFuzzer harness of the CSV reader (core/csv.h; run by scripts/fuzz.sh).
// Every input is read under ASan and UBSan with several option sets (strict
// and lenient quotes, with and without a header, small limits so that inputs
// of a few hundred bytes reach every one), and the results are checked
// against invariants that must hold for any bytes:
//   - reading from a string_view and from a stream cut into chunks of 1 and
//     7 bytes gives the same records, lines and error: chunk boundaries are
//     invisible;
//   - every record respects the limits, and every row has the header's width
//     unless ragged rows are allowed;
//   - record lines increase and stay within the input's line count; an error
//     names a line inside the input, a field within the column limit, and
//     says something;
//   - what strict quoting accepts, lenient quoting reads the same;
//   - a table read without error, written back with quoting (every field
//     quoted, and only where needed), reads back equal.
// A violated invariant aborts, which libFuzzer reports as a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/csv.h"

namespace {

[[noreturn]] void violated(const char* invariant) {
    std::fprintf(stderr, "csv_reader_fuzz: invariant violated: %s\n", invariant);
    std::abort();
}

void require(bool condition, const char* invariant) {
    if (!condition) violated(invariant);
}

struct Outcome {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::vector<std::uint64_t> lines;
    mw::csv::Status status = mw::csv::Status::end;
    mw::csv::Error error;

    bool same_as(const Outcome& other) const {
        return header == other.header && rows == other.rows && lines == other.lines && status == other.status &&
               error.line == other.error.line && error.column == other.error.column &&
               error.message == other.error.message;
    }
};

Outcome drain(mw::csv::Reader& reader) {
    Outcome outcome;
    outcome.status = reader.read_header();
    if (outcome.status == mw::csv::Status::record) {
        outcome.header = reader.header();
        mw::csv::Record record;
        while ((outcome.status = reader.next(record)) == mw::csv::Status::record) {
            outcome.rows.push_back(record.to_strings());
            outcome.lines.push_back(record.line());
        }
    }
    if (outcome.status == mw::csv::Status::error) outcome.error = reader.error();
    return outcome;
}

// chunk_bytes 0: from a string_view; otherwise from a stream read that many bytes at a time.
Outcome read(std::string_view text, mw::csv::Options options, std::size_t chunk_bytes) {
    if (chunk_bytes == 0) {
        mw::csv::Reader reader(text, options);
        return drain(reader);
    }
    options.read_chunk_bytes = chunk_bytes;
    std::istringstream in{std::string(text)};
    mw::csv::Reader reader(in, options);
    return drain(reader);
}

std::string write(const Outcome& outcome, bool header, bool always_quote) {
    std::string text;
    auto write_record = [&](const std::vector<std::string>& fields) {
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i > 0) text += ',';
            const std::string& field = fields[i];
            // A record of one empty field is quoted, or it would be a blank
            // line; so is a first field starting like a byte-order mark, or
            // the reader would skip those bytes.
            const bool quote = always_quote || field.find_first_of(",\"\r\n") != std::string::npos ||
                               (fields.size() == 1 && field.empty()) ||
                               (text.empty() && std::string_view(field).starts_with("\xEF\xBB\xBF"));
            if (!quote) {
                text += field;
                continue;
            }
            text += '"';
            for (const char c : field) {
                if (c == '"') text += '"';
                text += c;
            }
            text += '"';
        }
        text += "\r\n";
    };
    if (header) write_record(outcome.header);
    for (const auto& row : outcome.rows) write_record(row);
    return text;
}

void check_limits(const Outcome& outcome, std::string_view text, const mw::csv::Options& options) {
    const mw::csv::Limits& limits = options.limits;
    const auto line_ends = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n') +
                                                      std::count(text.begin(), text.end(), '\r'));
    require(outcome.rows.size() <= limits.max_rows, "rows within max_rows");
    auto check_record = [&](const std::vector<std::string>& fields) {
        require(!fields.empty() && fields.size() <= limits.max_columns, "fields within max_columns");
        std::size_t bytes = 0;
        for (const auto& field : fields) {
            require(field.size() <= limits.max_field_bytes, "field within max_field_bytes");
            bytes += field.size();
        }
        require(bytes <= limits.max_record_bytes, "record within max_record_bytes");
    };
    if (!outcome.header.empty()) check_record(outcome.header);
    for (std::size_t i = 0; i < outcome.rows.size(); ++i) {
        check_record(outcome.rows[i]);
        if (options.header && !options.allow_ragged)
            require(outcome.rows[i].size() == outcome.header.size(), "rows have the header's width");
        require(outcome.lines[i] >= 1 && outcome.lines[i] <= line_ends + 1, "record line inside the input");
        require(i == 0 || outcome.lines[i - 1] < outcome.lines[i], "record lines increase");
    }
    if (outcome.status == mw::csv::Status::error) {
        require(outcome.error.line >= 1 && outcome.error.line <= line_ends + 1, "error line inside the input");
        require(outcome.error.column <= limits.max_columns + 1, "error column within the limit");
        require(!outcome.error.message.empty(), "an error says something");
    } else {
        require(outcome.error.message.empty(), "no error message without an error");
    }
}

mw::csv::Options small_options(bool header, bool allow_ragged, mw::csv::Quotes quotes) {
    mw::csv::Options options;
    options.header = header;
    options.allow_ragged = allow_ragged;
    options.quotes = quotes;
    options.limits.max_input_bytes = 512;
    options.limits.max_field_bytes = 24;
    options.limits.max_record_bytes = 64;
    options.limits.max_columns = 6;
    options.limits.max_rows = 12;
    return options;
}

void check_round_trip(const Outcome& outcome, const mw::csv::Options& options) {
    mw::csv::Options roomy = options;
    roomy.limits = mw::csv::Limits{};
    for (const bool always_quote : {true, false}) {
        const std::string text = write(outcome, options.header, always_quote);
        const Outcome again = read(text, roomy, 0);
        require(again.status == mw::csv::Status::end, "a written table reads without error");
        require(again.header == outcome.header && again.rows == outcome.rows, "a written table reads back equal");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const bool header : {true, false}) {
        for (const bool allow_ragged : {false, true}) {
            const mw::csv::Options strict = small_options(header, allow_ragged, mw::csv::Quotes::strict);
            const mw::csv::Options lenient = small_options(header, allow_ragged, mw::csv::Quotes::lenient);
            const Outcome strict_read = read(text, strict, 0);
            const Outcome lenient_read = read(text, lenient, 0);
            check_limits(strict_read, text, strict);
            check_limits(lenient_read, text, lenient);
            for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}}) {
                require(read(text, strict, chunk).same_as(strict_read), "strict: a stream reads as a string_view");
                require(read(text, lenient, chunk).same_as(lenient_read), "lenient: a stream reads as a string_view");
            }
            if (strict_read.status == mw::csv::Status::end) {
                require(lenient_read.same_as(strict_read), "lenient reads what strict accepts the same");
                check_round_trip(strict_read, strict);
            }
        }
    }
    // The default limits, from a stream in the default chunks.
    const Outcome roomy = read(text, mw::csv::Options{}, 64 << 10);
    require(roomy.same_as(read(text, mw::csv::Options{}, 0)), "default options: a stream reads as a string_view");
    return 0;
}
