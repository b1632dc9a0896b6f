// Pre-training (data) bias: who the model sees and how often they are
// labelled positive, in a reference window against the current one, per
// group. A shift in representation or label balance is visible here before
// it shows up as a disparity in the model's outcomes.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fairness/audit_data.h"

namespace mw::fairness {

struct RepresentationRow {
    std::vector<std::string> values;
    std::string label;
    std::uint64_t reference_count = 0;
    std::uint64_t current_count = 0;
    double reference_share = 0;  // of the window's rows
    double current_share = 0;
    double share_difference = 0;  // current - reference
    // Share of the group's rows whose true label is positive; NaN for a group absent from a window.
    double reference_base_rate = std::numeric_limits<double>::quiet_NaN();
    double current_base_rate = std::numeric_limits<double>::quiet_NaN();
    double base_rate_difference = std::numeric_limits<double>::quiet_NaN();
};

// A group with fewer than `min_group_size` rows (but some) in either window:
// every output shows that it exists and is small, never its counts, shares
// or base rates, so a report cannot single out a handful of people.
bool is_suppressed(const RepresentationRow& row, std::uint64_t min_group_size);

struct RepresentationShift {
    std::vector<std::string> attributes;
    std::vector<RepresentationRow> rows;  // every group seen in either window, ordered by values
    std::string error;                    // e.g. an attribute missing from one window
};

// Per row of `shifts[index]`: whether every output hides it, being small
// (is_suppressed) or hidden with a small one so the windows' totals minus
// the shown rows cannot give its counts, or (an intersection) having a value
// hidden in the one-attribute table of `shifts` for that attribute, the
// report's linked tables (fairness/suppression.h).
std::vector<bool> suppressed_rows(const std::vector<RepresentationShift>& shifts, std::size_t index,
                                  std::uint64_t min_group_size);

// Groups both windows by `attributes` (names present in both) and compares
// each group's share of rows and base rate.
RepresentationShift compare_representation(const AuditData& reference, const AuditData& current,
                                           const std::vector<std::string>& attributes);

}  // namespace mw::fairness
