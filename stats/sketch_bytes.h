// The byte encoding shared by the sketches' serialize()/deserialize():
// fixed-width little-endian integers and IEEE-754 doubles, so a blob written
// on one host reads the same on any other (profiles are stored in PostgreSQL
// as bytea). The reader never reads past its input; every read reports
// failure instead, which is how a truncated or hostile blob becomes an error
// value rather than undefined behaviour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mw::stats {

// A decoded sketch or profile: `value` is usable only when ok().
template <typename T>
struct Decoded {
    T value{};
    std::string error;  // empty when the blob was valid

    bool ok() const { return error.empty(); }
};

class ByteWriter {
public:
    void put_u8(std::uint8_t value);
    void put_u16(std::uint16_t value);
    void put_u32(std::uint32_t value);
    void put_u64(std::uint64_t value);
    void put_f64(double value);
    // A u32 length then the bytes (a string, or a nested sketch's blob).
    void put_blob(std::string_view bytes);
    // Four magic bytes naming the format, then a one-byte format version.
    void put_header(std::string_view magic, std::uint8_t version);

    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class ByteReader {
public:
    explicit ByteReader(std::string_view in) : in_(in) {}

    // Each returns false, leaving the output unchanged, if the input ends first.
    bool get_u8(std::uint8_t& value);
    bool get_u16(std::uint16_t& value);
    bool get_u32(std::uint32_t& value);
    bool get_u64(std::uint64_t& value);
    bool get_f64(double& value);
    bool get_blob(std::string_view& bytes);

    // Empty when the magic and version match, otherwise what was found.
    std::string check_header(std::string_view what, std::string_view magic, std::uint8_t version);

    std::size_t offset() const { return pos_; }
    std::size_t remaining() const { return in_.size() - pos_; }

private:
    bool get_le(std::size_t width, std::uint64_t& value);

    std::string_view in_;
    std::size_t pos_ = 0;
};

// "<what>: <problem> at byte <offset>", the shape of every decoding error.
std::string decode_error(std::string_view what, std::string_view problem, std::size_t offset);

}  // namespace mw::stats
