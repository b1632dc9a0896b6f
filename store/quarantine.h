// Quarantine files (store/spool_drain.h, docs/privacy.md "Quarantine
// files"): a batch the drain cannot store (PostgreSQL refuses its content,
// or it was hashed under a privacy key not recorded for its model) is
// written to a file of its own in the spool directory, named
// quarantine-<written, µs since the epoch>-<n>-<predictions|outcomes>.copy,
// its first line "-- " and why, then its rows in COPY text format, one a
// line. The daemon never loads them back; the census counts what is there
// for the operator (metrics, /readyz, the status page), and an operator
// deletes them once dealt with.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::store {

// The name a batch quarantined at `written_us` gets; `sequence` tells apart
// files written within one microsecond.
std::string quarantine_file_name(std::int64_t written_us, std::uint64_t sequence, std::string_view kind);

// A quarantine file's first line: "-- ", then `reason` on one line (a
// PostgreSQL error spans several: each line break becomes a space), then a
// newline; the batch's COPY rows follow.
std::string quarantine_header(std::string_view reason);

// What one file named as a quarantine file says of itself. Its records are
// told by their framing, not by line count: a record is a line of the
// kind's COPY columns (store/copy_encoding.h), separated by tabs (COPY text
// escapes a tab inside a value). Daemons before the one-line header
// (quarantine_header) wrote a PostgreSQL error's DETAIL and CONTEXT lines
// under the "-- " line; those lines are not records, and the ones before
// the first record are read as the rest of the reason.
struct QuarantineFile {
    std::string name;
    std::int64_t written_us = 0;  // from the name
    std::string kind;             // "predictions" or "outcomes", from the name
    // Why its content is not a quarantine file's although its name is ("" when
    // it is one): the fields below but bytes are then not set.
    std::string not_quarantine;
    std::string reason;                // its reason lines without "-- ", at most max_reason_bytes
    std::uint64_t records = 0;         // lines framed as a record of its kind
    std::uint64_t unframed_lines = 0;  // lines after the first record that are not records of its kind
    std::uint64_t bytes = 0;
};
inline constexpr std::size_t max_reason_bytes = 4096;

// Reads `path` when its name is a quarantine file's and it is a regular file
// (not a link); nullopt otherwise, or when it cannot be read (gone meanwhile).
// A file whose first line is not a reason line ("-- ...") is returned with
// not_quarantine set.
std::optional<QuarantineFile> read_quarantine_file(const std::filesystem::path& path);

// Every file named as a quarantine file in `directory`, oldest first, those
// that are not quarantine files (not_quarantine) included; none when the
// directory does not exist.
std::vector<QuarantineFile> list_quarantine(const std::string& directory);

struct QuarantineCount {
    std::uint64_t files = 0;
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::int64_t oldest_us = 0;  // the oldest file's time; 0 when there is none
    std::int64_t newest_us = 0;
};

// The quarantine files of one directory (files with not_quarantine left
// out), counted when asked (at start and after each file written): a file
// deleted by the operator drops out at the next count. Each file is read once (its name is never reused), so a count
// costs a directory listing plus the new files.
class QuarantineCensus {
public:
    explicit QuarantineCensus(std::string directory) : directory_(std::move(directory)) {}

    QuarantineCount count();
    // The last count's result, without listing the directory.
    QuarantineCount last() const;

private:
    const std::string directory_;
    // Held for a whole count: a count that listed the directory before a
    // file was written must not finish after, and stand over, the count of
    // its writer, which lists it.
    std::mutex counting_;
    mutable std::mutex mutex_;  // known_ and last_
    std::map<std::string, QuarantineFile> known_;  // by name
    QuarantineCount last_;
};

}  // namespace mw::store
