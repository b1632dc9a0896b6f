// Reading CSV as RFC 4180 defines it (quoted fields, "" inside quotes, commas
// and line breaks inside quoted fields, CRLF or LF record ends), from a plain
// or a gzip-compressed file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "examples/elec2/result.h"

namespace mw::elec2 {

using CsvRecord = std::vector<std::string>;

struct CsvTable {
    CsvRecord header;
    std::vector<CsvRecord> records;
    std::vector<std::size_t> record_lines;  // the 1-based line each record starts on, for messages
};

// Parses a whole document; the first record is the header. Every record must
// have as many fields as the header. A final line break is optional.
Result<CsvTable> parse_csv(std::string_view text);

// The content of a file, decompressed when it is gzip (zlib reads plain files
// through the same call, so the name's suffix does not matter).
Result<std::string> read_maybe_gzip_file(const std::string& path);

// The index of a header column, or -1.
int column_index(const CsvRecord& header, std::string_view name);

}  // namespace mw::elec2
