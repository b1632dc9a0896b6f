#include "fairness/data_bias.h"

#include <map>
#include <set>

#include "fairness/group_metrics.h"
#include "fairness/suppression.h"

namespace mw::fairness {

namespace {

struct Tally {
    std::uint64_t rows = 0;
    std::uint64_t positives = 0;
};

bool tally(const AuditData& data, const std::vector<std::string>& attributes,
           std::map<std::vector<std::string>, Tally>& out, std::string& error, const char* window) {
    std::vector<std::size_t> indices;
    for (const auto& name : attributes) {
        const int index = data.attribute_index(name);
        if (index < 0) {
            error = "attribute '" + name + "' is not in the " + window + " window";
            return false;
        }
        indices.push_back(static_cast<std::size_t>(index));
    }
    GroupMetricsOptions counts_only;
    counts_only.min_group_size = 0;
    for (const GroupMetrics& group : compute_group_metrics(data, indices, counts_only))
        out[group.values] = Tally{group.counts.total(), group.counts.tp + group.counts.fn};
    return true;
}

}  // namespace

bool is_suppressed(const RepresentationRow& row, std::uint64_t min_group_size) {
    const auto small = [&](std::uint64_t count) { return count > 0 && count < min_group_size; };
    return small(row.reference_count) || small(row.current_count);
}

std::vector<bool> suppressed_rows(const std::vector<RepresentationShift>& shifts, std::size_t index,
                                  std::uint64_t min_group_size) {
    const RepresentationShift& shift = shifts.at(index);
    std::vector<std::vector<std::string>> values;
    std::vector<std::vector<std::uint64_t>> counts(2);
    std::vector<bool> suppressed;
    for (const auto& row : shift.rows) {
        values.push_back(row.values);
        counts[0].push_back(row.reference_count);
        counts[1].push_back(row.current_count);
        suppressed.push_back(is_suppressed(row, min_group_size));
    }
    if (shift.attributes.size() > 1) {
        std::vector<std::set<std::string>> hidden_margins;
        for (const auto& attribute : shift.attributes) {
            auto& hidden = hidden_margins.emplace_back();
            for (std::size_t m = 0; m < shifts.size(); ++m) {
                if (shifts[m].attributes != std::vector<std::string>{attribute}) continue;
                const auto margin = suppressed_rows(shifts, m, min_group_size);
                for (std::size_t r = 0; r < margin.size(); ++r)
                    if (margin[r]) hidden.insert(shifts[m].rows[r].values.front());
            }
        }
        suppressed = suppress_under_hidden_margins(values, hidden_margins, std::move(suppressed));
    }
    return complementary_suppression(values, counts, std::move(suppressed), min_group_size);
}

RepresentationShift compare_representation(const AuditData& reference, const AuditData& current,
                                           const std::vector<std::string>& attributes) {
    RepresentationShift shift;
    shift.attributes = attributes;
    std::map<std::vector<std::string>, Tally> before, after;
    if (!tally(reference, attributes, before, shift.error, "reference") ||
        !tally(current, attributes, after, shift.error, "current"))
        return shift;
    std::map<std::vector<std::string>, std::pair<Tally, Tally>> both;
    for (const auto& [values, t] : before) both[values].first = t;
    for (const auto& [values, t] : after) both[values].second = t;
    const double reference_rows = static_cast<double>(reference.rows());
    const double current_rows = static_cast<double>(current.rows());
    for (const auto& [values, pair] : both) {
        RepresentationRow row;
        row.values = values;
        row.label = group_label(values);
        row.reference_count = pair.first.rows;
        row.current_count = pair.second.rows;
        row.reference_share = reference_rows > 0 ? static_cast<double>(pair.first.rows) / reference_rows : 0;
        row.current_share = current_rows > 0 ? static_cast<double>(pair.second.rows) / current_rows : 0;
        row.share_difference = row.current_share - row.reference_share;
        if (pair.first.rows > 0)
            row.reference_base_rate = static_cast<double>(pair.first.positives) / static_cast<double>(pair.first.rows);
        if (pair.second.rows > 0)
            row.current_base_rate = static_cast<double>(pair.second.positives) / static_cast<double>(pair.second.rows);
        row.base_rate_difference = row.current_base_rate - row.reference_base_rate;
        shift.rows.push_back(std::move(row));
    }
    return shift;
}

}  // namespace mw::fairness
