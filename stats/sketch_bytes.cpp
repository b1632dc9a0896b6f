#include "stats/sketch_bytes.h"

#include <bit>

namespace mw::stats {

void ByteWriter::put_u8(std::uint8_t value) { out_.push_back(static_cast<char>(value)); }

void ByteWriter::put_u16(std::uint16_t value) {
    for (int shift = 0; shift < 16; shift += 8) put_u8(static_cast<std::uint8_t>(value >> shift));
}

void ByteWriter::put_u32(std::uint32_t value) {
    for (int shift = 0; shift < 32; shift += 8) put_u8(static_cast<std::uint8_t>(value >> shift));
}

void ByteWriter::put_u64(std::uint64_t value) {
    for (int shift = 0; shift < 64; shift += 8) put_u8(static_cast<std::uint8_t>(value >> shift));
}

void ByteWriter::put_f64(double value) { put_u64(std::bit_cast<std::uint64_t>(value)); }

void ByteWriter::put_blob(std::string_view bytes) {
    put_u32(static_cast<std::uint32_t>(bytes.size()));
    out_.append(bytes);
}

void ByteWriter::put_header(std::string_view magic, std::uint8_t version) {
    out_.append(magic);
    put_u8(version);
}

bool ByteReader::get_le(std::size_t width, std::uint64_t& value) {
    if (remaining() < width) return false;
    std::uint64_t result = 0;
    for (std::size_t i = 0; i < width; ++i) {
        result |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += width;
    value = result;
    return true;
}

bool ByteReader::get_u8(std::uint8_t& value) {
    std::uint64_t wide = 0;
    if (!get_le(1, wide)) return false;
    value = static_cast<std::uint8_t>(wide);
    return true;
}

bool ByteReader::get_u16(std::uint16_t& value) {
    std::uint64_t wide = 0;
    if (!get_le(2, wide)) return false;
    value = static_cast<std::uint16_t>(wide);
    return true;
}

bool ByteReader::get_u32(std::uint32_t& value) {
    std::uint64_t wide = 0;
    if (!get_le(4, wide)) return false;
    value = static_cast<std::uint32_t>(wide);
    return true;
}

bool ByteReader::get_u64(std::uint64_t& value) { return get_le(8, value); }

bool ByteReader::get_f64(double& value) {
    std::uint64_t bits = 0;
    if (!get_le(8, bits)) return false;
    value = std::bit_cast<double>(bits);
    return true;
}

bool ByteReader::get_blob(std::string_view& bytes) {
    const std::size_t start = pos_;
    std::uint32_t size = 0;
    if (!get_u32(size)) return false;
    if (remaining() < size) {
        pos_ = start;
        return false;
    }
    bytes = in_.substr(pos_, size);
    pos_ += size;
    return true;
}

std::string ByteReader::check_header(std::string_view what, std::string_view magic, std::uint8_t version) {
    if (remaining() < magic.size() + 1) return decode_error(what, "blob too short for its header", pos_);
    if (in_.substr(pos_, magic.size()) != magic) {
        return decode_error(what, "wrong magic (expected \"" + std::string(magic) + "\")", pos_);
    }
    pos_ += magic.size();
    std::uint8_t found = 0;
    get_u8(found);
    if (found != version) {
        return decode_error(what,
                            "unsupported format version " + std::to_string(found) + " (expected " +
                                std::to_string(version) + ")",
                            pos_ - 1);
    }
    return {};
}

std::string decode_error(std::string_view what, std::string_view problem, std::size_t offset) {
    return std::string(what) + ": " + std::string(problem) + " at byte " + std::to_string(offset);
}

}  // namespace mw::stats
