#include "fairness/audit_data.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace mw::fairness {

int AuditData::attribute_index(std::string_view attribute_name) const {
    for (std::size_t i = 0; i < attributes.size(); ++i)
        if (attributes[i].name == attribute_name) return static_cast<int>(i);
    return -1;
}

void AttributeEncoder::append(std::string_view value) {
    if (const auto it = index_.find(value); it != index_.end()) {
        column_.codes.push_back(it->second);
        return;
    }
    if (column_.values.size() == max_attribute_values)
        throw std::length_error("attribute '" + column_.name + "' has more than " +
                                std::to_string(max_attribute_values) + " distinct values");
    const auto code = static_cast<AttributeCode>(column_.values.size());
    index_.emplace(std::string(value), code);
    column_.values.emplace_back(value);
    column_.codes.push_back(code);
}

std::string group_label(const std::vector<std::string>& values) {
    std::string label;
    for (const auto& value : values) {
        if (!label.empty()) label += ", ";
        label += value;
    }
    return label;
}

Grouping make_grouping(const AuditData& data, const std::vector<std::size_t>& attribute_indices) {
    Grouping grouping;
    const std::size_t rows = data.rows();
    // A row's combined code is its mixed-radix number over the attributes'
    // dictionaries; dense when the product of dictionary sizes is small (the
    // usual case), hashed otherwise.
    std::uint64_t combinations = 1;
    bool dense = true;
    for (std::size_t a : attribute_indices) {
        grouping.attributes.push_back(data.attributes[a].name);
        combinations *= std::max<std::uint64_t>(1, data.attributes[a].values.size());
        if (combinations > (1u << 22)) dense = false;
    }
    // One pass; a row's combined code is computed on the fly rather than
    // stored, which keeps a 10M-row grouping at 4 bytes per row.
    std::vector<const AttributeColumn*> columns;
    std::vector<std::uint64_t> radices;
    for (std::size_t a : attribute_indices) {
        columns.push_back(&data.attributes[a]);
        radices.push_back(std::max<std::uint64_t>(1, data.attributes[a].values.size()));
    }
    constexpr std::uint32_t unseen = UINT32_MAX;
    std::vector<std::uint32_t> dense_first(dense ? combinations : 0, unseen);
    std::unordered_map<std::uint64_t, std::uint32_t> hashed_first;
    std::vector<std::uint64_t> first_codes;  // the combined code of each group, first-seen order
    grouping.group_of_row.resize(rows);
    for (std::size_t r = 0; r < rows; ++r) {
        std::uint64_t combined = 0;
        for (std::size_t k = 0; k < columns.size(); ++k) combined = combined * radices[k] + columns[k]->codes[r];
        std::uint32_t* slot = dense ? &dense_first[combined] : &hashed_first.try_emplace(combined, unseen).first->second;
        if (*slot == unseen) {
            *slot = static_cast<std::uint32_t>(first_codes.size());
            first_codes.push_back(combined);
        }
        grouping.group_of_row[r] = *slot;
    }

    std::vector<std::vector<std::string>> values(first_codes.size());
    for (std::size_t g = 0; g < first_codes.size(); ++g) {
        std::uint64_t code = first_codes[g];
        values[g].resize(attribute_indices.size());
        for (std::size_t k = attribute_indices.size(); k-- > 0;) {
            const auto& column = data.attributes[attribute_indices[k]];
            const std::uint64_t radix = std::max<std::uint64_t>(1, column.values.size());
            values[g][k] = column.values[code % radix];
            code /= radix;
        }
    }
    std::vector<std::uint32_t> order(first_codes.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return values[a] < values[b]; });
    std::vector<std::uint32_t> rank(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) rank[order[i]] = static_cast<std::uint32_t>(i);

    grouping.group_values.reserve(order.size());
    for (std::uint32_t g : order) grouping.group_values.push_back(std::move(values[g]));
    for (auto& g : grouping.group_of_row) g = rank[g];
    return grouping;
}

}  // namespace mw::fairness
