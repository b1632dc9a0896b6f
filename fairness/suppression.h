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
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
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

}  // namespace mw::fairness
