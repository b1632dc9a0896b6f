#include "detectors/concept_options.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace mw::concept_drift {

const char* to_string(OptionType type) {
    switch (type) {
        case OptionType::integer: return "integer";
        case OptionType::real: return "number";
        case OptionType::boolean: return "boolean";
        case OptionType::choice: return "choice";
    }
    return "?";
}

bool OptionRange::contains(double value) const {
    if (min_open ? !(value > min) : !(value >= min)) return false;
    if (max_open ? !(value < max) : !(value <= max)) return false;
    return true;
}

std::string OptionRange::describe() const {
    const bool has_min = std::isfinite(min);
    const bool has_max = std::isfinite(max);
    if (has_min && has_max)
        return fmt::format("in {}{}, {}{}", min_open ? '(' : '[', min, max, max_open ? ')' : ']');
    if (has_min) return fmt::format("{} {}", min_open ? ">" : ">=", min);
    if (has_max) return fmt::format("{} {}", max_open ? "<" : "<=", max);
    return "";
}

OptionValues::OptionValues(std::vector<std::pair<std::string, OptionValue>> values)
    : values_(std::move(values)) {}

const OptionValue& OptionValues::find(std::string_view key) const {
    for (const auto& [name, value] : values_)
        if (name == key) return value;
    throw std::logic_error(fmt::format("concept-drift option '{}' is not in the option table", key));
}

namespace {

template <typename T>
const T& get_as(const OptionValue& value, std::string_view key) {
    if (const T* typed = std::get_if<T>(&value)) return *typed;
    throw std::logic_error(fmt::format("concept-drift option '{}' read with the wrong type", key));
}

}  // namespace

std::int64_t OptionValues::integer(std::string_view key) const { return get_as<std::int64_t>(find(key), key); }
double OptionValues::real(std::string_view key) const { return get_as<double>(find(key), key); }
bool OptionValues::boolean(std::string_view key) const { return get_as<bool>(find(key), key); }
const std::string& OptionValues::text(std::string_view key) const { return get_as<std::string>(find(key), key); }

std::string format_option_value(const OptionValue& value) {
    struct Visitor {
        std::string operator()(std::int64_t v) const { return fmt::format("{}", v); }
        std::string operator()(double v) const { return fmt::format("{}", v); }
        std::string operator()(bool v) const { return v ? "true" : "false"; }
        std::string operator()(const std::string& v) const { return v; }
    };
    return std::visit(Visitor{}, value);
}

std::string OptionValues::to_string() const {
    std::string out;
    for (const auto& [name, value] : values_) {
        if (!out.empty()) out += ' ';
        out += name;
        out += '=';
        out += format_option_value(value);
    }
    return out;
}

namespace {

struct ParsedValue {
    OptionValue value;
    std::string error;
};

// Parses `text` for `spec`; the error (if any) is the part after "<detector>: ".
ParsedValue parse_value(const OptionSpec& spec, std::string_view text) {
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    switch (spec.type) {
        case OptionType::integer: {
            std::int64_t parsed = 0;
            auto [ptr, ec] = std::from_chars(begin, end, parsed);
            if (text.empty() || ec != std::errc() || ptr != end)
                return {{}, fmt::format("{} must be an integer, got '{}'", spec.key, text)};
            if (!spec.range.contains(static_cast<double>(parsed)))
                return {{}, fmt::format("{} must be {}, got {}", spec.key, spec.range.describe(), text)};
            return {parsed, ""};
        }
        case OptionType::real: {
            double parsed = 0;
            auto [ptr, ec] = std::from_chars(begin, end, parsed);
            if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(parsed))
                return {{}, fmt::format("{} must be a finite number, got '{}'", spec.key, text)};
            if (!spec.range.contains(parsed))
                return {{}, fmt::format("{} must be {}, got {}", spec.key, spec.range.describe(), text)};
            return {parsed, ""};
        }
        case OptionType::boolean: {
            if (text == "true" || text == "1" || text == "yes") return {true, ""};
            if (text == "false" || text == "0" || text == "no") return {false, ""};
            return {{}, fmt::format("{} must be true or false, got '{}'", spec.key, text)};
        }
        case OptionType::choice: {
            std::string_view rest = spec.choices;
            while (!rest.empty()) {
                const auto bar = rest.find('|');
                const std::string_view choice = rest.substr(0, bar);
                if (choice == text) return {std::string(text), ""};
                rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
            }
            std::string options(spec.choices);
            for (char& c : options)
                if (c == '|') c = ',';
            return {{}, fmt::format("{} must be one of {{{}}}, got '{}'", spec.key, options, text)};
        }
    }
    return {{}, fmt::format("{} has an unknown option type", spec.key)};
}

std::string known_keys(std::span<const OptionSpec> table) {
    std::string keys;
    for (const auto& spec : table) {
        if (!keys.empty()) keys += ", ";
        keys += spec.key;
    }
    return keys.empty() ? std::string("none") : keys;
}

}  // namespace

ParseOptionsResult parse_options(std::string_view detector, std::span<const OptionSpec> table,
                                 std::span<const std::string> assignments) {
    std::vector<bool> given(table.size(), false);
    std::vector<std::string_view> given_text(table.size());
    for (const auto& assignment : assignments) {
        const auto equals = assignment.find('=');
        if (equals == std::string::npos || equals == 0)
            return {{}, fmt::format("{}: expected key=value, got '{}'", detector, assignment)};
        const std::string_view key = std::string_view(assignment).substr(0, equals);
        std::size_t row = table.size();
        for (std::size_t i = 0; i < table.size(); ++i)
            if (table[i].key == key) row = i;
        if (row == table.size())
            return {{}, fmt::format("{}: unknown option '{}' (options: {})", detector, key, known_keys(table))};
        if (given[row])
            return {{}, fmt::format("{}: option '{}' given more than once", detector, key)};
        given[row] = true;
        given_text[row] = std::string_view(assignment).substr(equals + 1);
    }

    std::vector<std::pair<std::string, OptionValue>> values;
    values.reserve(table.size());
    for (std::size_t i = 0; i < table.size(); ++i) {
        const std::string_view text = given[i] ? given_text[i] : table[i].default_value;
        ParsedValue parsed = parse_value(table[i], text);
        if (!parsed.error.empty()) {
            // A bad default is a bug in the table, not in the user's input.
            if (!given[i])
                throw std::logic_error(fmt::format("{}: bad default in option table: {}", detector, parsed.error));
            return {{}, fmt::format("{}: {}", detector, parsed.error)};
        }
        values.emplace_back(std::string(table[i].key), std::move(parsed.value));
    }
    return {OptionValues(std::move(values)), ""};
}

}  // namespace mw::concept_drift
