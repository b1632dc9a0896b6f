// UTF-8 text helpers shared by the privacy policy's truncation
// (collectors/privacy.cpp) and the configuration's checks of it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mw {

// The first `max_chars` code points of valid UTF-8 `text` (what generalise
// with max_chars keeps).
std::string truncate_utf8(std::string_view text, std::size_t max_chars);

}  // namespace mw
