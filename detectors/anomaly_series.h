// Reading a `timestamp,value` series (the input of `modelwatch anomaly` and
// the NAB data format). Bad input is a value: the error names the line.
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::anomaly {

// Seconds since the Unix epoch for one of:
//   "2014-04-10 07:15:00" (NAB; optional fraction; UTC),
//   RFC 3339 "2014-04-10T07:15:00Z", "...+02:00", "...07:15:00.25-05:30",
//   epoch seconds "1397114100" or "1397114100.5".
// Nothing when the text is none of these or names no valid date and time.
std::optional<double> parse_timestamp(std::string_view text);

struct SeriesPoint {
    std::string timestamp;  // as written, echoed in the output
    double timestamp_s = 0;
    double value = 0;
};

struct SeriesReadResult {
    std::vector<SeriesPoint> points;
    std::string error;  // "<source> line N: ..." when the input is bad
    // Lines whose timestamp is earlier than the line before: kept, in file
    // order (real exports have them: NAB's machine_temperature repeats an
    // hour), and counted so the caller can warn.
    std::size_t out_of_order_lines = 0;
    std::size_t first_out_of_order_line = 0;

    bool ok() const { return error.empty(); }
};

// CSV (core/csv.h) with a header whose first two fields are `timestamp` and
// `value`, then one point per row; further columns are ignored, blank lines
// are skipped. An error names the line and what was wrong there.
SeriesReadResult read_series(std::istream& in, std::string_view source_name);

}  // namespace mw::anomaly
