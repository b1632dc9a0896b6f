// The option tables the loader validates against (STYLE.md section 1): each
// configuration section declares its options in one table of rows - key,
// value kind, default, range, help text, and the struct field the value
// fills. The loader reads a YAML mapping against a table; defaults are applied
// from the table only; describe_options() lists every row so the reference
// file config/modelwatch.yaml can be checked against the code.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/member_pointer.h"
#include "config/settings.h"
#include "config/values.h"

namespace mw::config {


struct Choice {
    std::string_view text;
    int value;
};

// The choices of a yes/no row; a component reads such a row with Settings::boolean.
inline constexpr Choice boolean_choices[] = {{"false", 0}, {"true", 1}};


struct Catalog;  // config/catalog.h

// Reading state shared by every table: the errors found so far, the line
// of every key path read (for errors found after reading, such as duplicates)
// and the registered components (null: the file's shape only), whose tables
// a mapping that chooses a component is read against (ComponentKeys).
class Reader {
public:
    explicit Reader(const Catalog* catalog = nullptr) : catalog_(catalog) {}
    const Catalog* catalog() const { return catalog_; }

    void error(std::string path, int line, std::string message);
    void record_line(const std::string& path, int line);
    // The line recorded for `path`, else for its closest recorded parent, else 1.
    int line_of(std::string_view path) const;
    // Whether the file gave `path` itself (a default was not applied).
    bool given(std::string_view path) const;
    // Whether an error was reported at `path` or inside it, so checks across
    // keys do not pile a second message on a section already reported.
    bool has_error_within(std::string_view path) const;

    struct Error {
        std::string path;
        int line;
        std::string message;
    };
    const std::vector<Error>& errors() const { return errors_; }

private:
    const Catalog* catalog_;
    std::vector<Error> errors_;
    std::vector<std::pair<std::string, int>> lines_;
};

// 1-based line of a node, or 0 when the node has no position (not from a document).
int line_of(const YAML::Node& node);

// One row of a table, flattened for documentation and for the consistency
// test: `path` is e.g. "server.listen" or "models[].features[].type".
struct OptionDoc {
    std::string path;
    ValueKind kind;
    std::string default_text;
    std::string range;  // "1 to 65535", "1KiB to 1GiB", "100ms to 10m"; empty when the kind has none
    bool required;
    std::string help;
    std::string field;
    std::string registry;  // see Option::registry; empty for most rows
};

template <typename Section>
struct Option {
    std::string_view key;
    ValueKind kind;
    std::string_view default_text;  // the default as written in YAML; ignored for required rows and lists
    bool required = false;
    bool allow_empty = false;  // text, path: whether "" is a value (for paths: "use the documented fallback")
    std::uint64_t min = 0;  // integer, size_bytes, duration: the range in the field's unit;
    std::uint64_t max = 0;  // name, name_list: max is the longest allowed name; url_list, argv: item count
    std::string_view unit;  // duration: "us", "ms" or "s"
    double min_number = 0;  // number: the range, closed unless an end is marked exclusive
    double max_number = 0;
    bool min_exclusive = false;  // number: the bound itself is not a value ("delta in (0, 1)")
    bool max_exclusive = false;
    std::span<const Choice> choices;
    std::string_view help;
    std::string_view field;  // the struct field(s) filled, for the documentation
    // The registry the value (or each list item) is a name from, e.g.
    // "drift_methods" (config/catalog.h); the docs list its names from there.
    std::string_view registry = {};
    void (*assign)(Section&, const ParsedValue&) = nullptr;
    // mapping, mapping_list: reads `node` (undefined when the key is absent) into the section.
    void (*read_nested)(Reader&, const YAML::Node& node, const std::string& path, int line, Section&) = nullptr;
    // mapping, mapping_list: the documentation rows of the nested table.
    void (*describe_nested)(const std::string& prefix, std::vector<OptionDoc>&) = nullptr;
};

// Parses a scalar given as text against a row's kind and range. Not for
// mapping or list kinds.
struct RowSpec {
    ValueKind kind;
    std::uint64_t min;
    std::uint64_t max;
    std::string_view unit;
    std::span<const Choice> choices;
    bool allow_empty;  // text and path kinds: whether "" is a value
    double min_number = 0;
    double max_number = 0;
    bool min_exclusive = false;
    bool max_exclusive = false;
};
Parse<ParsedValue> parse_scalar(const RowSpec& spec, std::string_view text);

// The range of an integer, size or duration row as people write it; empty for other kinds.
std::string range_text(const RowSpec& spec);
// A list row's count limit as people write it: "1 URL", "1 to 64 URLs", "at most 3 words".
std::string count_text(const RowSpec& spec);

// Parses a YAML value (scalar or list) against a row; errors go to the reader.
bool read_value(Reader& reader, const RowSpec& spec, const YAML::Node& node, const std::string& path, int line,
                ParsedValue& out);

// The key of a section's table that is closest to `key` within edit distance
// 2, or empty.
std::string_view suggest_key(std::string_view key, std::span<const std::string_view> known);

// Stores a parsed value in the member `Member` points to (string, unsigned
// integer, enum from a choice, or list of strings).
template <auto Member>
void assign_field(typename MemberPointer<decltype(Member)>::Class& section, const ParsedValue& value) {
    using Field = typename MemberPointer<decltype(Member)>::Field;
    if constexpr (std::is_same_v<Field, std::string> || std::is_same_v<Field, std::vector<std::string>>)
        section.*Member = std::get<Field>(value);
    else if constexpr (std::is_same_v<Field, double> || std::is_same_v<Field, std::optional<double>>)
        section.*Member = std::get<double>(value);
    else
        section.*Member = static_cast<Field>(std::get<std::uint64_t>(value));
}

template <typename Section>
RowSpec spec_of(const Option<Section>& row) {
    return {row.kind,       row.min,        row.max,           row.unit,         row.choices,
            row.allow_empty, row.min_number, row.max_number, row.min_exclusive, row.max_exclusive};
}

inline std::string child_path(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// ---- components' options (config/settings.h) ------------------------------

using SettingRow = Option<Settings>;

struct SettingsParse {
    Settings settings;
    std::vector<std::string> errors;  // every problem, each "key: what is wrong"; empty when valid

    bool ok() const { return errors.empty(); }
};

// Validates `assignments` ("key=value" each) against `table`: a key given
// once, known, with a value of its row's kind and range; keys not given take
// the row's default. Every problem is reported, not only the first.
SettingsParse parse_settings(std::span<const SettingRow> table, std::span<const std::string> assignments);

// "delta, clock, max_buckets", or "none".
std::string setting_keys(std::span<const SettingRow> table);

// The keys of a mapping that belong to the component the mapping chooses (a
// receiver's alert sink, a retrain section's job runner): read against that
// component's own table into `out`, beside the section's own keys, so each
// component declares its keys next to its code. `unchecked`: the component
// is not known here (a loader without a catalog, or a name already reported
// unknown); its keys are kept as given, as strings or lists of strings.
struct ComponentKeys {
    std::string owner;  // "a slack receiver", in messages
    std::span<const SettingRow> rows;
    bool unchecked = false;
    Settings* out = nullptr;

    // Reading state: each row's item and the line it was given at.
    std::vector<std::optional<Settings::Item>> items = {};
    std::vector<int> seen_line = {};
    std::vector<Settings::Item> unchecked_items = {};
};

// Reads `key` into the component's keys; false when the component does not
// take it (then the caller reports it unknown).
bool read_component_key(Reader& reader, ComponentKeys& component, const std::string& key, const YAML::Node& value,
                        const std::string& key_path, int key_line);
// After every key: defaults of the rows not given, missing required keys, and `out` filled.
void finish_component_keys(Reader& reader, ComponentKeys& component, const std::string& path, int line);

// Reads one mapping against a table: applies the table's defaults, then every
// key of the mapping (unknown and duplicate keys are errors), then reports
// missing required keys. `node` may be undefined or null: the section is
// absent and only defaults apply. `line` is where the mapping (or, when it is
// absent, its parent) is, for errors about missing keys.
template <typename Section>
void read_mapping(Reader& reader, const YAML::Node& node, const std::string& path, int line,
                  std::span<const Option<Section>> table, Section& out, std::span<ComponentKeys> components = {}) {
    for (const auto& row : table) {
        if (row.required || row.assign == nullptr || is_list(row.kind)) continue;
        if (row.kind == ValueKind::number && row.default_text.empty()) continue;  // an optional number: unset
        auto parsed = parse_scalar(spec_of(row), row.default_text);
        if (parsed.value)
            row.assign(out, *parsed.value);
        else
            reader.error(child_path(path, row.key), line, "invalid default in the option table: " + parsed.error);
    }
    const bool present = node.IsDefined() && !node.IsNull();
    if (present && !node.IsMap()) {
        reader.error(path, line, node.IsSequence() ? "expected a mapping, got a sequence"
                                                   : "expected a mapping, got \"" + node.Scalar() + "\"");
        return;
    }
    std::vector<int> seen_line(table.size(), 0);
    if (present) {
        std::vector<std::string_view> known;
        for (const auto& row : table) known.push_back(row.key);
        for (const auto& component : components)
            for (const auto& row : component.rows) known.push_back(row.key);
        for (auto it = node.begin(); it != node.end(); ++it) {
            // A copy: `it->` yields a temporary proxy, a reference into it would dangle.
            const YAML::Node key_node = it->first;
            const int key_line = line_of(key_node) > 0 ? line_of(key_node) : line;
            if (!key_node.IsScalar()) {
                reader.error(path, key_line, "a key must be a plain string");
                continue;
            }
            const std::string& key = key_node.Scalar();
            const std::string key_path = child_path(path, key);
            std::size_t index = 0;
            while (index < table.size() && table[index].key != key) ++index;
            if (index == table.size()) {
                if (std::any_of(components.begin(), components.end(), [&](ComponentKeys& component) {
                        return read_component_key(reader, component, key, it->second, key_path, key_line);
                    }))
                    continue;
                const auto suggestion = suggest_key(key, known);
                std::string message = "unknown key";
                if (!suggestion.empty()) message += fmt::format(" (did you mean \"{}\"?)", suggestion);
                for (const auto& component : components)
                    if (!component.owner.empty())
                        message += fmt::format("; {} takes {} besides the common keys", component.owner,
                                               setting_keys(component.rows));
                reader.error(key_path, key_line, std::move(message));
                continue;
            }
            if (seen_line[index] != 0) {
                reader.error(key_path, key_line, fmt::format("duplicate key (first given at line {})", seen_line[index]));
                continue;
            }
            seen_line[index] = key_line;
            reader.record_line(key_path, key_line);
            const auto& row = table[index];
            if (row.read_nested != nullptr) {
                row.read_nested(reader, it->second, key_path, key_line, out);
                continue;
            }
            ParsedValue value;
            if (read_value(reader, spec_of(row), it->second, key_path, key_line, value)) row.assign(out, value);
        }
    }
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (seen_line[i] != 0) continue;
        const auto& row = table[i];
        if (row.required)
            reader.error(child_path(path, row.key), line, "required key is missing");
        else if (row.read_nested != nullptr)
            row.read_nested(reader, YAML::Node(), child_path(path, row.key), line, out);
    }
    for (auto& component : components) finish_component_keys(reader, component, path, line);
}

// Reads a sequence of mappings, each against `table`, appending to `out`.
// `component`, when given, says which component each mapping chooses and so
// which other keys it takes (a receiver's sink).
template <typename Item>
void read_mapping_list(Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       std::span<const Option<Item>> table, std::vector<Item>& out,
                       ComponentKeys (*component)(Reader&, const YAML::Node& element, Item&) = nullptr) {
    if (!node.IsDefined() || node.IsNull()) return;
    if (!node.IsSequence()) {
        reader.error(path, line, node.IsMap() ? "expected a sequence, got a mapping"
                                              : "expected a sequence, got \"" + node.Scalar() + "\"");
        return;
    }
    std::size_t index = 0;
    for (const auto& element : node) {
        const std::string element_path = fmt::format("{}[{}]", path, index++);
        const int element_line = line_of(element) > 0 ? line_of(element) : line;
        reader.record_line(element_path, element_line);
        if (!element.IsMap()) {
            reader.error(element_path, element_line,
                         element.IsSequence() ? "expected a mapping, got a sequence"
                                              : "expected a mapping, got \"" + element.Scalar() + "\"");
            continue;
        }
        Item item{};
        if (component != nullptr) {
            ComponentKeys keys = component(reader, element, item);
            read_mapping<Item>(reader, element, element_path, element_line, table, item, std::span(&keys, 1));
        } else {
            read_mapping<Item>(reader, element, element_path, element_line, table, item);
        }
        out.push_back(std::move(item));
    }
}

// Flattens a table into documentation rows under `prefix`.
template <typename Section>
void describe_table(const std::string& prefix, std::span<const Option<Section>> table, std::vector<OptionDoc>& out) {
    for (const auto& row : table) {
        const std::string path = child_path(prefix, row.key);
        // Sections and lists have no default of their own: they are absent or empty.
        const bool has_default = !row.required && !is_list(row.kind) && row.kind != ValueKind::mapping_list &&
                                 row.kind != ValueKind::mapping;
        out.push_back({path, row.kind, has_default ? std::string(row.default_text) : "", range_text(spec_of(row)),
                       row.required,
                       std::string(row.help), std::string(row.field), std::string(row.registry)});
        if (row.describe_nested != nullptr)
            row.describe_nested(row.kind == ValueKind::mapping_list ? path + "[]" : path, out);
    }
}

}  // namespace mw::config
