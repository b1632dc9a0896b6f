// The input of a fairness audit, held by column: the sensitive attributes as
// dictionary codes, the true and predicted labels as 0/1, optional scores.
// Columnar codes keep a 10M-row audit at a few bytes per row per column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mw::fairness {

struct AttributeColumn {
    std::string name;
    std::vector<std::string> values;   // the dictionary, in first-seen order
    std::vector<std::uint32_t> codes;  // one per row, an index into `values`
};

struct AuditData {
    std::vector<AttributeColumn> attributes;
    std::vector<std::uint8_t> y_true;  // 1 for the positive label, else 0
    std::vector<std::uint8_t> y_pred;  // 1 for the positive label, else 0
    std::vector<double> score;         // empty, or one probability per row

    std::size_t rows() const { return y_true.size(); }
    bool has_scores() const { return !score.empty(); }
    // Index into `attributes`, or -1 when there is no attribute of that name.
    int attribute_index(std::string_view attribute_name) const;
};

// Appends values to an AttributeColumn, interning each distinct string once.
class AttributeEncoder {
public:
    explicit AttributeEncoder(AttributeColumn& column) : column_(column) {}
    void append(std::string_view value);
    std::size_t distinct() const { return column_.values.size(); }

private:
    AttributeColumn& column_;
    std::unordered_map<std::string, std::uint32_t> index_;
};

// The rows split into groups by one attribute or by the intersection of
// several (e.g. sex x race). Groups are ordered by their values.
struct Grouping {
    std::vector<std::string> attributes;
    std::vector<std::vector<std::string>> group_values;  // per group, one value per attribute
    std::vector<std::uint32_t> group_of_row;

    std::size_t group_count() const { return group_values.size(); }
};

// The label people read for a group: its values joined by ", ".
std::string group_label(const std::vector<std::string>& values);

// Groups the rows by the attributes at `attribute_indices` (into data.attributes).
Grouping make_grouping(const AuditData& data, const std::vector<std::size_t>& attribute_indices);

}  // namespace mw::fairness
