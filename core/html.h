// Text made safe for HTML, shared by every page and report the project
// writes (fairness reports, drift reports, the daemon's status page).
#pragma once

#include <string>
#include <string_view>

namespace mw {

// Text safe inside HTML elements and quoted attribute values (& < > " ').
std::string html_escape(std::string_view text);

}  // namespace mw
