// Complementary (secondary) suppression of small groups. Hiding a group
// below the minimum size is not enough when the report also shows the other
// groups' counts and a total (the overall row, another grouping of the same
// rows, an intersection's marginal groups): the hidden count is then the
// total minus the others. Statistical offices suppress further cells so no
// hidden cell can be recovered by subtraction (Hundepool et al., "Statistical
// Disclosure Control", Wiley 2012, section 4.2, "secondary cell
// suppression"); this is the usual rule for frequency tables:
//
//   in every line of a grouping (its groups sharing the values of all its
//   attributes but one; for one attribute, the whole grouping) that holds a
//   suppressed group, at least two groups are suppressed and together they
//   hold at least `min_count` rows in every window, or every group of the
//   line is suppressed.
//
// Subtraction then yields only a sum of several groups of at least the
// minimum size, never one small group. Groups are added smallest first.
//
// Linked tables. One report shows several groupings of the same rows: each
// sensitive attribute alone (its margins) and their intersection. The rule
// above protects each table; across them, a group hidden in one attribute's
// table (race=Other, hidden with a smaller race) is the sum of the
// intersection's groups with that value (Female x Other + Male x Other), so
// when those are all shown the hidden margin is their sum, and the smaller
// group hidden with it follows by subtraction. suppress_under_hidden_margins
// therefore hides, before the rule runs on the intersection, every group of
// it with a value hidden in that value's own table (Hundepool et al. 2012,
// section 4.2.3, "linked tables": cells of one table that are sums of cells
// of another are suppressed consistently).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mw::fairness {

// `values[g]`: group g's value of each attribute of the grouping (all of
// one length); `counts[w][g]`: its rows in window w (one window, or a
// reference and a current one); `suppressed[g]`: suppressed already (below
// the minimum). Returns `suppressed` with the complementary groups added;
// `avoid` (the audit's reference group) is taken only when nothing else can be.
std::vector<bool> complementary_suppression(const std::vector<std::vector<std::string>>& values,
                                            const std::vector<std::vector<std::uint64_t>>& counts,
                                            std::vector<bool> suppressed, std::uint64_t min_count,
                                            std::optional<std::size_t> avoid = std::nullopt);

// `values[g]`: an intersection group's value of each of its attributes;
// `hidden_margins[a]`: the values of attribute a hidden in a's own table.
// Returns `suppressed` with every group added that has a hidden value.
std::vector<bool> suppress_under_hidden_margins(const std::vector<std::vector<std::string>>& values,
                                                const std::vector<std::set<std::string>>& hidden_margins,
                                                std::vector<bool> suppressed);

}  // namespace mw::fairness
