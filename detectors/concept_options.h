// Options of the streaming concept-drift detectors: each detector declares one
// table of OptionSpec rows (key, type, default, range, help) next to its code;
// parse_options() validates "key=value" strings against such a table and fills
// in the defaults, so defaults live only in the tables and every error names
// the detector, the key and the offending text.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mw::concept_drift {

enum class OptionType { integer, real, boolean, choice };

const char* to_string(OptionType);

// An interval of allowed numbers; infinite ends mean unbounded.
struct OptionRange {
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    bool min_open = false;  // true: the bound itself is excluded
    bool max_open = false;

    bool contains(double value) const;
    // "in (0, 1)", ">= 1", "> 0", or "" when unbounded.
    std::string describe() const;
};

struct OptionSpec {
    std::string_view key;
    OptionType type = OptionType::real;
    std::string_view default_value;  // parsed by the same rules as user input
    OptionRange range;               // integer and real only
    std::string_view choices;        // choice only: "up|down|both"
    std::string_view help;
};

using OptionValue = std::variant<std::int64_t, double, bool, std::string>;

// The validated options a detector was built with, in table order, defaults
// included. Asking for a key the table does not declare, or with the wrong
// type, is a programming error and throws std::logic_error.
class OptionValues {
public:
    OptionValues() = default;
    explicit OptionValues(std::vector<std::pair<std::string, OptionValue>> values);

    std::int64_t integer(std::string_view key) const;
    double real(std::string_view key) const;
    bool boolean(std::string_view key) const;
    const std::string& text(std::string_view key) const;

    const std::vector<std::pair<std::string, OptionValue>>& items() const { return values_; }
    // "delta=0.002 clock=32 ..." in table order.
    std::string to_string() const;

private:
    const OptionValue& find(std::string_view key) const;

    std::vector<std::pair<std::string, OptionValue>> values_;
};

std::string format_option_value(const OptionValue& value);

struct ParseOptionsResult {
    OptionValues values;
    std::string error;  // empty on success, else e.g. "adwin: delta must be in (0, 1), got 2"

    bool ok() const { return error.empty(); }
};

// Validates `assignments` ("key=value" each) against `table`; a key may be
// given once; keys not given take the table's default. `detector` prefixes
// every error message.
ParseOptionsResult parse_options(std::string_view detector, std::span<const OptionSpec> table,
                                 std::span<const std::string> assignments);

}  // namespace mw::concept_drift
