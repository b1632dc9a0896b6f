// Where a file-tail collector is in its file, kept in a small text file so a
// restart resumes exactly after the last line the spool made durable.
//
// The file is replaced atomically (write a temporary file, fsync it, rename it
// over the old one, fsync the directory), so a crash leaves either the old or
// the new checkpoint, never a torn one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace mw {

struct TailCheckpoint {
    std::uint64_t device = 0;  // st_dev of the file being read
    std::uint64_t inode = 0;   // st_ino of the file being read
    std::uint64_t offset = 0;  // bytes consumed: everything before is delivered or skipped
    std::uint64_t line = 0;    // lines consumed, for file:line in messages
    // True when `offset` is inside an over-long line being skipped: the bytes
    // up to its newline are discarded without being parsed.
    bool skipping_line = false;
    // FNV-1a 64 of the first `fingerprint_bytes` bytes of the file. An inode
    // number is reused once a rotated file is deleted; a different prefix
    // tells a new file from the one the checkpoint describes.
    std::uint64_t fingerprint_bytes = 0;
    std::uint64_t fingerprint = 0;

    bool operator==(const TailCheckpoint&) const = default;
};

struct CheckpointLoad {
    std::optional<TailCheckpoint> checkpoint;  // nullopt: no checkpoint yet, or unreadable (see error)
    std::string error;  // names the file and what is wrong with it; empty when fine or absent
};

// Reads `path`. A missing file is not an error (first start).
CheckpointLoad load_checkpoint(const std::string& path);

// Replaces `path` atomically; returns an error message naming the failing
// step, or an empty string.
std::string write_checkpoint(const std::string& path, const TailCheckpoint& checkpoint);

// FNV-1a 64-bit (Fowler, Noll, Vo; http://www.isthe.com/chongo/tech/comp/fnv/,
// offset basis 14695981039346656037, prime 1099511628211), continued from `hash`.
constexpr std::uint64_t fnv1a64_basis = 14695981039346656037ull;
std::uint64_t fnv1a64(const char* data, std::size_t size, std::uint64_t hash = fnv1a64_basis);

}  // namespace mw
