// How deeply JSON text nests, checked before nlohmann::json takes it.
// nlohmann::json parses and destroys any depth without recursion, but its
// copies and dump() recurse once per level: a body of a million '[' parses,
// then takes the process down with a stack overflow when copied or written
// back. Inputs that are kept or echoed are checked with this first.
#pragma once

#include <cstddef>
#include <string_view>

namespace mw {

// True when arrays and objects in `text` nest deeper than `max_depth` (a
// scalar is depth 0, [] and {} depth 1). Brackets inside strings do not
// count; the text need not be valid JSON (the parser judges that after).
// Stops at the first level past the limit.
bool json_nesting_exceeds(std::string_view text, std::size_t max_depth);

}  // namespace mw
