#include "fairness/suppression.h"

#include <map>

namespace mw::fairness {

std::vector<bool> complementary_suppression(const std::vector<std::vector<std::string>>& values,
                                            const std::vector<std::vector<std::uint64_t>>& counts,
                                            std::vector<bool> suppressed, std::uint64_t min_count,
                                            std::optional<std::size_t> avoid) {
    const std::size_t groups = values.size();
    const std::size_t attributes = groups == 0 ? 0 : values.front().size();
    // Each pass suppresses at most one more group per line, so this ends
    // after at most `groups` passes that changed something.
    for (bool changed = true; changed;) {
        changed = false;
        for (std::size_t k = 0; k < std::max<std::size_t>(attributes, 1); ++k) {
            // The lines along attribute k: groups with equal values elsewhere.
            std::map<std::vector<std::string>, std::vector<std::size_t>> lines;
            for (std::size_t g = 0; g < groups; ++g) {
                std::vector<std::string> key;
                for (std::size_t a = 0; a < attributes; ++a)
                    if (a != k) key.push_back(values[g][a]);
                lines[key].push_back(g);
            }
            for (const auto& [key, members] : lines) {
                std::size_t hidden = 0;
                std::vector<std::uint64_t> hidden_rows(counts.size(), 0);
                for (const std::size_t g : members) {
                    if (!suppressed[g]) continue;
                    ++hidden;
                    for (std::size_t w = 0; w < counts.size(); ++w) hidden_rows[w] += counts[w][g];
                }
                if (hidden == 0 || hidden == members.size()) continue;
                bool enough = hidden >= 2;
                for (const auto rows : hidden_rows) enough = enough && (rows == 0 || rows >= min_count);
                if (enough) continue;
                // The smallest visible group (over the windows' sum), the avoided one last.
                std::optional<std::size_t> pick;
                const auto size = [&](std::size_t g) {
                    std::uint64_t total = 0;
                    for (const auto& window : counts) total += window[g];
                    return total;
                };
                for (const std::size_t g : members) {
                    if (suppressed[g]) continue;
                    const bool better = !pick || (avoid == *pick && avoid != g) ||
                                        ((avoid == g) == (avoid == *pick) && size(g) < size(*pick));
                    if (better) pick = g;
                }
                suppressed[*pick] = true;
                changed = true;
            }
        }
    }
    return suppressed;
}

std::vector<bool> suppress_under_hidden_margins(const std::vector<std::vector<std::string>>& values,
                                                const std::vector<std::set<std::string>>& hidden_margins,
                                                std::vector<bool> suppressed) {
    for (std::size_t g = 0; g < values.size(); ++g)
        for (std::size_t a = 0; a < values[g].size() && a < hidden_margins.size(); ++a)
            if (hidden_margins[a].contains(values[g][a])) suppressed[g] = true;
    return suppressed;
}

}  // namespace mw::fairness
