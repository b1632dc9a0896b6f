// terminal_safe (core/utf8.h): the one rule for bytes from outside shown on a
// terminal. Each case names the bytes a hostile record could carry.
#include <catch2/catch.hpp>

#include <string>

#include "core/utf8.h"

using mw::Escapes;
using mw::terminal_safe;

TEST_CASE("printable UTF-8 is shown as it is", "[utf8]") {
    CHECK(terminal_safe("value too long for type character varying(64)") ==
          "value too long for type character varying(64)");
    CHECK(terminal_safe("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\x88") ==
          "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\x88");
    // U+00A0, the first code point after the C1 controls, and U+10FFFF, the last.
    CHECK(terminal_safe("\xc2\xa0|\xf4\x8f\xbf\xbf") == "\xc2\xa0|\xf4\x8f\xbf\xbf");
    CHECK(terminal_safe("") == "");
}

TEST_CASE("C0 controls, DEL and C1 controls are escaped, and so is a backslash", "[utf8]") {
    CHECK(terminal_safe("a\x1b[2Jb\tc\nd\re") == "a\\x1b[2Jb\\x09c\\x0ad\\x0de");
    CHECK(terminal_safe(std::string("nul\0!", 5)) == "nul\\x00!");
    CHECK(terminal_safe("del\x7f") == "del\\x7f");
    // U+009B (CSI) and U+0085 (NEL) as UTF-8.
    CHECK(terminal_safe("\xc2\x9b" "31m|\xc2\x85") == "\\xc2\\x9b31m|\\xc2\\x85");
    // An escape already in the text stays told apart from one added.
    CHECK(terminal_safe("\\x1b") == "\\\\x1b");
}

TEST_CASE("bytes that are not valid UTF-8 are escaped one by one", "[utf8]") {
    CHECK(terminal_safe("\x9b" "31m") == "\\x9b31m");                    // a lone C1 byte (Latin-1 CSI)
    CHECK(terminal_safe("\xc0\xaf") == "\\xc0\\xaf");                     // overlong '/'
    CHECK(terminal_safe("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");            // overlong, three bytes
    CHECK(terminal_safe("\xed\xa0\x80") == "\\xed\\xa0\\x80");            // a surrogate
    CHECK(terminal_safe("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");   // past U+10FFFF
    CHECK(terminal_safe("\xf5\xff") == "\\xf5\\xff");
    CHECK(terminal_safe("\xe6\x97") == "\\xe6\\x97");                     // cut short at the end
    CHECK(terminal_safe("\xe6\x97" "A\xc3\xa9") == "\\xe6\\x97A\xc3\xa9");  // cut short, then valid
}

TEST_CASE("text that is already JSON gets \\u escapes and keeps its own", "[utf8]") {
    CHECK(terminal_safe("{\"error\": \"a\\\"b\\n\xc2\x9b" "c\x7f\xc3\xa9\"}", Escapes::json_u) ==
          "{\"error\": \"a\\\"b\\n\\u009bc\\u007f\xc3\xa9\"}");
    CHECK(terminal_safe("\x1b\xff", Escapes::json_u) == "\\u001b\\ufffd");
    CHECK(terminal_safe("{\n\t\"a\": 1\r\n}", Escapes::json_u) == "{\n\t\"a\": 1\\u000d\n}");
}
