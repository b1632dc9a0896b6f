#include "core/utf8.h"

#include <fmt/format.h>

namespace mw {

namespace {

bool in(unsigned char byte, unsigned char low, unsigned char high) { return byte >= low && byte <= high; }

// The length of the well-formed UTF-8 sequence at `at` (Unicode 15, table
// 3-7: the second byte's range depends on the first), 0 when there is none.
std::size_t sequence_length(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
    const std::size_t left = text.size() - at;
    const auto lead = byte(0);
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    unsigned char second_low = 0x80, second_high = 0xBF;
    if (in(lead, 0xC2, 0xDF)) {
        length = 2;
    } else if (in(lead, 0xE0, 0xEF)) {
        length = 3;
        if (lead == 0xE0) second_low = 0xA0;   // no overlong forms
        if (lead == 0xED) second_high = 0x9F;  // no surrogates
    } else if (in(lead, 0xF0, 0xF4)) {
        length = 4;
        if (lead == 0xF0) second_low = 0x90;   // no overlong forms
        if (lead == 0xF4) second_high = 0x8F;  // nothing past U+10FFFF
    } else {
        return 0;  // a continuation byte, C0, C1 (overlong) or F5..FF
    }
    if (left < length || !in(byte(1), second_low, second_high)) return 0;
    for (std::size_t i = 2; i < length; ++i)
        if (!in(byte(i), 0x80, 0xBF)) return 0;
    return length;
}

// C0, DEL and C1: the controls a terminal may act on.
bool is_control(std::string_view sequence) {
    const auto lead = static_cast<unsigned char>(sequence[0]);
    if (sequence.size() == 1) return lead < 0x20 || lead == 0x7F;
    return lead == 0xC2 && static_cast<unsigned char>(sequence[1]) <= 0x9F;
}

}  // namespace

std::string truncate_utf8(std::string_view text, std::size_t max_chars) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        // A byte that is not a continuation byte (10xxxxxx) starts a character.
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && chars++ == max_chars)
            return std::string(text.substr(0, i));
    }
    return std::string(text);
}

std::string terminal_safe(std::string_view bytes, Escapes escapes) {
    std::string out;
    out.reserve(bytes.size());
    std::size_t at = 0;
    while (at < bytes.size()) {
        const std::size_t length = sequence_length(bytes, at);
        const auto sequence = bytes.substr(at, length);
        // JSON's own line breaks and indentation stay (inside its strings
        // they are escaped already).
        const bool json_layout = escapes == Escapes::json_u && (sequence == "\n" || sequence == "\t");
        if (length > 0 && (!is_control(sequence) || json_layout)) {
            if (escapes == Escapes::backslash_x && sequence == "\\") out += "\\\\";
            else out += sequence;
        } else if (escapes == Escapes::json_u) {
            // A control's code point (U+0000..U+009F); a byte of no code point
            // as the replacement character, since JSON can only name code points.
            const auto lead = static_cast<unsigned char>(bytes[at]);
            const unsigned code_point =
                length == 1 ? lead : length == 2 ? static_cast<unsigned char>(bytes[at + 1]) : 0xFFFD;
            out += fmt::format("\\u{:04x}", code_point);
        } else {
            // Byte by byte: a sequence cut short shows every byte it has.
            for (const unsigned char byte : length > 0 ? sequence : bytes.substr(at, 1))
                out += fmt::format("\\x{:02x}", byte);
        }
        at += length > 0 ? length : 1;
    }
    return out;
}

}  // namespace mw
