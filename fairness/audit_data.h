// The input of a fairness audit, held by column: the sensitive attributes as
// dictionary codes, the true and predicted labels as 0/1, optional scores.
// Columnar codes keep a 10M-row audit at 12 bytes per row with scores (2 per
// attribute, 1 per label, 8 per score) and no string per row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mw::fairness {

// A value's index in its attribute's dictionary. 16 bits: the readers refuse
// an attribute with more than default_max_distinct_values values (it is an
// identifier, not a group), far below the 65,536 codes this holds.
using AttributeCode = std::uint16_t;
inline constexpr std::size_t max_attribute_values = std::size_t{1} << 16;
// The readers' bound on distinct values per attribute (fairness/audit_csv.h,
// fairness/audit_store.h).
inline constexpr std::size_t default_max_distinct_values = 10'000;
static_assert(default_max_distinct_values < max_attribute_values);

struct AttributeColumn {
    std::string name;
    std::vector<std::string> values;    // the dictionary, in first-seen order
    std::vector<AttributeCode> codes;   // one per row, an index into `values`
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

// Appends values to an AttributeColumn, interning each distinct string once
// (looked up by string_view: no string is made for a value seen before).
// Throws std::length_error past max_attribute_values distinct values; the
// readers stop far earlier with a message naming the attribute.
class AttributeEncoder {
public:
    explicit AttributeEncoder(AttributeColumn& column) : column_(column) {}
    void append(std::string_view value);
    std::size_t distinct() const { return column_.values.size(); }

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
    };
    AttributeColumn& column_;
    std::unordered_map<std::string, AttributeCode, Hash, std::equal_to<>> index_;
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
