// UTF-8 text helpers: the privacy policy's truncation (collectors/privacy.cpp
// and the configuration's checks of it), and the one rule for showing bytes
// from outside on a terminal (the CLI's output of stored and received text).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mw {

// The first `max_chars` code points of valid UTF-8 `text` (what generalise
// with max_chars keeps).
std::string truncate_utf8(std::string_view text, std::size_t max_chars);

// How terminal_safe() writes what it escapes.
enum class Escapes {
    backslash_x,  // each byte as \xHH, and a backslash as \\ (plain text)
    json_u,       // each code point as \u00HH, a byte of no code point as \ufffd; backslashes,
                  // newlines and tabs left alone (text that is already JSON: its backslashes are
                  // its escapes, its newlines and tabs its layout)
};

// Bytes from outside (a stored record, a daemon's answer, a PostgreSQL
// error) made safe to print on an operator's terminal: printable UTF-8 as it
// is; escaped, visibly, C0 controls and DEL, C1 controls (U+0080..U+009F,
// C2 80..C2 9F: U+009B is CSI to terminals that take 8-bit controls), and
// every byte that does not begin a valid UTF-8 sequence (a lone 0x9B, a
// sequence cut short, an overlong form, a surrogate, past U+10FFFF: Unicode
// 15, table 3-7). Every CLI place that echoes such bytes goes through here.
std::string terminal_safe(std::string_view bytes, Escapes escapes = Escapes::backslash_x);

}  // namespace mw
