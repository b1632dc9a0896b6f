#include "config/option_table.h"

#include <algorithm>
#include <stdexcept>

namespace mw::config {

const char* to_string(ValueKind kind) {
    switch (kind) {
        case ValueKind::text: return "string";
        case ValueKind::path: return "path";
        case ValueKind::name: return "name";
        case ValueKind::integer: return "integer";
        case ValueKind::number: return "number";
        case ValueKind::size_bytes: return "size";
        case ValueKind::duration: return "duration";
        case ValueKind::choice: return "choice";
        case ValueKind::listen: return "host:port";
        case ValueKind::sha256_hex: return "sha256 hex";
        case ValueKind::name_list: return "list of names";
        case ValueKind::text_list: return "list of strings";
        case ValueKind::mapping: return "mapping";
        case ValueKind::mapping_list: return "list of mappings";
        case ValueKind::url: return "URL";
        case ValueKind::url_list: return "list of URLs";
        case ValueKind::argv: return "argv";
        case ValueKind::environment: return "env var";
    }
    return "?";
}

bool is_list(ValueKind kind) {
    return kind == ValueKind::name_list || kind == ValueKind::text_list || kind == ValueKind::url_list ||
           kind == ValueKind::argv;
}

void Reader::error(std::string path, int line, std::string message) {
    errors_.push_back({std::move(path), line > 0 ? line : 1, std::move(message)});
}

void Reader::record_line(const std::string& path, int line) {
    if (line > 0) lines_.emplace_back(path, line);
}

int Reader::line_of(std::string_view path) const {
    while (true) {
        for (const auto& [recorded, line] : lines_)
            if (recorded == path) return line;
        const std::size_t cut = path.find_last_of(".[");
        if (cut == std::string_view::npos) return 1;
        path = path.substr(0, cut);
    }
}

bool Reader::given(std::string_view path) const {
    return std::any_of(lines_.begin(), lines_.end(), [&](const auto& entry) { return entry.first == path; });
}

bool Reader::has_error_within(std::string_view path) const {
    return std::any_of(errors_.begin(), errors_.end(), [&](const Error& error) {
        const std::string_view reported = error.path;
        return reported.starts_with(path) &&
               (reported.size() == path.size() || reported[path.size()] == '.' || reported[path.size()] == '[');
    });
}

int line_of(const YAML::Node& node) {
    const int zero_based = node.Mark().line;
    return zero_based >= 0 ? zero_based + 1 : 0;
}

namespace {

std::string choices_text(std::span<const Choice> choices) {
    std::string text;
    for (const auto& choice : choices) {
        if (!text.empty()) text += ", ";
        text += choice.text;
    }
    return text;
}

// "[0, 1]", "(0, 1)", "(0, 1000000]".
std::string number_interval(const RowSpec& spec) {
    return fmt::format("{}{}, {}{}", spec.min_exclusive ? '(' : '[', spec.min_number, spec.max_number,
                       spec.max_exclusive ? ')' : ']');
}

bool number_in_range(const RowSpec& spec, double value) {
    if (spec.min_exclusive ? !(value > spec.min_number) : !(value >= spec.min_number)) return false;
    if (spec.max_exclusive ? !(value < spec.max_number) : !(value <= spec.max_number)) return false;
    return true;
}

// How a kind is named in "expected ..." messages.
std::string expectation(const RowSpec& spec) {
    switch (spec.kind) {
        case ValueKind::text: return "a string";
        case ValueKind::path: return "an absolute path";
        case ValueKind::name: return "a name";
        case ValueKind::integer: return fmt::format("an integer in [{}, {}]", spec.min, spec.max);
        case ValueKind::number: return "a number in " + number_interval(spec);
        case ValueKind::size_bytes:
            return fmt::format("a size in [{}, {}]", format_size_bytes(spec.min), format_size_bytes(spec.max));
        case ValueKind::duration:
            return fmt::format("a duration in [{}, {}]", format_duration(spec.min, spec.unit),
                               format_duration(spec.max, spec.unit));
        case ValueKind::choice: return "one of " + choices_text(spec.choices);
        case ValueKind::listen: return "\"host:port\"";
        case ValueKind::sha256_hex: return "64 hex digits";
        case ValueKind::name_list: return "a sequence of names";
        case ValueKind::text_list: return "a sequence of strings";
        case ValueKind::mapping: return "a mapping";
        case ValueKind::mapping_list: return "a sequence";
        case ValueKind::url: return "an http:// or https:// URL";
        case ValueKind::url_list: return "a sequence of http:// or https:// URLs";
        case ValueKind::argv: return "a sequence of a program and its arguments";
        case ValueKind::environment: return "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)";
    }
    return "?";
}

bool is_url(std::string_view text) { return text.starts_with("http://") || text.starts_with("https://"); }

// What a list row's item is called when its count is limited.
std::string_view item_noun(const RowSpec& spec) {
    if (!spec.unit.empty()) return spec.unit;
    return spec.kind == ValueKind::url_list ? "URL" : spec.kind == ValueKind::argv ? "word" : "item";
}

std::string name_rule(std::uint64_t max_length) {
    return fmt::format("1 to {} characters from A-Z a-z 0-9 _ . -", max_length);
}

Parse<ParsedValue> in_range(const RowSpec& spec, const Parse<std::uint64_t>& number, std::string_view text) {
    if (!number.value) return Parse<ParsedValue>::fail(number.error);
    if (*number.value < spec.min || *number.value > spec.max)
        return Parse<ParsedValue>::fail(fmt::format("expected {}, got \"{}\"", expectation(spec), text));
    return Parse<ParsedValue>::ok(*number.value);
}

}  // namespace

std::string range_text(const RowSpec& spec) {
    switch (spec.kind) {
        case ValueKind::integer: return fmt::format("{} to {}", spec.min, spec.max);
        case ValueKind::number:
            if (spec.min_exclusive || spec.max_exclusive) return number_interval(spec);
            return fmt::format("{} to {}", spec.min_number, spec.max_number);
        case ValueKind::size_bytes:
            return fmt::format("{} to {}", format_size_bytes(spec.min), format_size_bytes(spec.max));
        case ValueKind::duration:
            return fmt::format("{} to {}", format_duration(spec.min, spec.unit), format_duration(spec.max, spec.unit));
        case ValueKind::url_list:
        case ValueKind::argv: return spec.max > 0 ? count_text(spec) : std::string();
        default: return {};
    }
}

std::string count_text(const RowSpec& spec) {
    const auto noun = item_noun(spec);
    if (spec.min == spec.max) return fmt::format("{} {}{}", spec.max, noun, spec.max == 1 ? "" : "s");
    if (spec.min == 0) return fmt::format("at most {} {}{}", spec.max, noun, spec.max == 1 ? "" : "s");
    return fmt::format("{} to {} {}s", spec.min, spec.max, noun);
}

Parse<ParsedValue> parse_scalar(const RowSpec& spec, std::string_view text) {
    using Result = Parse<ParsedValue>;
    const auto got = [&] { return fmt::format("expected {}, got \"{}\"", expectation(spec), text); };
    if (text.empty() && spec.kind != ValueKind::text && spec.kind != ValueKind::path)
        return Result::fail("must not be empty");
    switch (spec.kind) {
        case ValueKind::text:
        case ValueKind::path:
            if (text.empty())
                return spec.allow_empty ? Result::ok(std::string()) : Result::fail("must not be empty");
            if (spec.kind == ValueKind::path && text.front() != '/') return Result::fail(got());
            return Result::ok(std::string(text));
        case ValueKind::name:
            if (!is_valid_name(text, spec.max))
                return Result::fail(fmt::format("expected a name of {}, got \"{}\"", name_rule(spec.max), text));
            return Result::ok(std::string(text));
        case ValueKind::integer: {
            const auto number = parse_unsigned(text);
            if (!number.value) return Result::fail(got());
            return in_range(spec, number, text);
        }
        case ValueKind::number: {
            const auto number = parse_number(text);
            if (!number.value || !number_in_range(spec, *number.value))
                return Result::fail(got());
            return Result::ok(*number.value);
        }
        case ValueKind::size_bytes: return in_range(spec, parse_size_bytes(text), text);
        case ValueKind::duration: return in_range(spec, parse_duration(text, spec.unit), text);
        case ValueKind::choice:
            for (const auto& choice : spec.choices)
                if (choice.text == text) return Result::ok(static_cast<std::uint64_t>(choice.value));
            return Result::fail(got());
        case ValueKind::listen: {
            auto endpoint = parse_listen(text);
            if (!endpoint.value) return Result::fail(endpoint.error);
            return Result::ok(std::move(*endpoint.value));
        }
        case ValueKind::sha256_hex: {
            auto hex = parse_sha256_hex(text);
            if (!hex.value) return Result::fail(hex.error);
            return Result::ok(std::move(*hex.value));
        }
        case ValueKind::url:
            if (!is_url(text)) return Result::fail(got());
            return Result::ok(std::string(text));
        case ValueKind::environment:
            if (!is_environment_name(text)) return Result::fail(got());
            return Result::ok(std::string(text));
        case ValueKind::name_list:
        case ValueKind::text_list:
        case ValueKind::url_list:
        case ValueKind::argv:
        case ValueKind::mapping:
        case ValueKind::mapping_list: break;
    }
    return Result::fail(fmt::format("{} is not a scalar option kind", to_string(spec.kind)));
}

namespace {

std::string node_shape(const YAML::Node& node) {
    if (node.IsMap()) return "a mapping";
    if (node.IsSequence()) return "a sequence";
    return "\"" + node.Scalar() + "\"";
}

bool read_list(Reader& reader, const RowSpec& spec, const YAML::Node& node, const std::string& path, int line,
               ParsedValue& out) {
    std::vector<std::string> items;
    if (node.IsNull()) {
        out = std::move(items);
        return true;
    }
    if (!node.IsSequence()) {
        reader.error(path, line, fmt::format("expected {}, got {}", expectation(spec), node_shape(node)));
        return false;
    }
    bool ok = true;
    std::size_t index = 0;
    for (const auto& element : node) {
        const std::string element_path = fmt::format("{}[{}]", path, index++);
        const int element_line = line_of(element) > 0 ? line_of(element) : line;
        if (!element.IsScalar()) {
            reader.error(element_path, element_line, fmt::format("expected a string, got {}", node_shape(element)));
            ok = false;
            continue;
        }
        const std::string& text = element.Scalar();
        if (text.empty()) {
            reader.error(element_path, element_line, "must not be empty");
            ok = false;
            continue;
        }
        if (spec.kind == ValueKind::name_list && !is_valid_name(text, spec.max)) {
            reader.error(element_path, element_line,
                         fmt::format("expected a name of {}, got \"{}\"", name_rule(spec.max), text));
            ok = false;
            continue;
        }
        if (spec.kind == ValueKind::url_list && !is_url(text)) {
            reader.error(element_path, element_line,
                         fmt::format("expected an http:// or https:// URL, got \"{}\"", text));
            ok = false;
            continue;
        }
        if (spec.kind == ValueKind::argv) {  // an argument may repeat another
            items.push_back(text);
            continue;
        }
        const auto first = std::find(items.begin(), items.end(), text);
        if (first != items.end()) {
            reader.error(element_path, element_line,
                         fmt::format("duplicate \"{}\" (also {}[{}])", text, path, first - items.begin()));
            ok = false;
            continue;
        }
        items.push_back(text);
    }
    if (ok) out = std::move(items);
    return ok;
}

}  // namespace

bool read_value(Reader& reader, const RowSpec& spec, const YAML::Node& node, const std::string& path, int line,
                ParsedValue& out) {
    if (is_list(spec.kind)) return read_list(reader, spec, node, path, line, out);
    if (node.IsMap() || node.IsSequence()) {
        reader.error(path, line, fmt::format("expected {}, got {}", expectation(spec), node_shape(node)));
        return false;
    }
    auto parsed = parse_scalar(spec, node.IsNull() ? std::string_view() : std::string_view(node.Scalar()));
    if (!parsed.value) {
        reader.error(path, line, std::move(parsed.error));
        return false;
    }
    out = std::move(*parsed.value);
    return true;
}

std::string_view suggest_key(std::string_view key, std::span<const std::string_view> known) {
    std::string_view best;
    std::size_t best_distance = 3;  // suggest only within edit distance 2
    for (const auto candidate : known) {
        const std::size_t distance = edit_distance(key, candidate);
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

const Settings::Item& Settings::find(std::string_view key) const {
    for (const auto& item : items_)
        if (item.key == key) return item;
    throw std::logic_error(fmt::format("option '{}' is not in the component's option table", key));
}

std::int64_t Settings::integer(std::string_view key) const {
    const auto& item = find(key);
    if (item.kind != ValueKind::integer) throw std::logic_error(fmt::format("option '{}' is not an integer", key));
    return static_cast<std::int64_t>(std::get<std::uint64_t>(item.value));
}

double Settings::number(std::string_view key) const {
    const auto& item = find(key);
    if (item.kind == ValueKind::integer) return static_cast<double>(std::get<std::uint64_t>(item.value));
    if (item.kind != ValueKind::number) throw std::logic_error(fmt::format("option '{}' is not a number", key));
    return std::get<double>(item.value);
}

bool Settings::boolean(std::string_view key) const {
    const auto& item = find(key);
    if (item.kind != ValueKind::choice || (item.text != "true" && item.text != "false"))
        throw std::logic_error(fmt::format("option '{}' is not a boolean", key));
    return item.text == "true";
}

const std::string& Settings::text(std::string_view key) const {
    const auto& item = find(key);
    if (is_list(item.kind)) throw std::logic_error(fmt::format("option '{}' is not text", key));
    return item.text;
}

const std::vector<std::string>& Settings::list(std::string_view key) const {
    const auto& item = find(key);
    if (!is_list(item.kind)) throw std::logic_error(fmt::format("option '{}' is not a list", key));
    return std::get<std::vector<std::string>>(item.value);
}

bool Settings::has(std::string_view key) const {
    return std::any_of(items_.begin(), items_.end(), [&](const Item& item) { return item.key == key; });
}

std::string Settings::to_string() const {
    std::string out;
    for (const auto& item : items_) {
        if (!out.empty()) out += ' ';
        out += item.key;
        out += '=';
        if (is_list(item.kind))
            out += fmt::format("[{}]", fmt::join(std::get<std::vector<std::string>>(item.value), ", "));
        else if (item.kind == ValueKind::integer)
            out += fmt::format("{}", std::get<std::uint64_t>(item.value));
        else if (item.kind == ValueKind::number)
            out += fmt::format("{}", std::get<double>(item.value));
        else
            out += item.text;
    }
    return out;
}

std::string setting_keys(std::span<const SettingRow> table) {
    std::string keys;
    for (const auto& row : table) keys += (keys.empty() ? "" : ", ") + std::string(row.key);
    return keys.empty() ? std::string("none") : keys;
}

bool read_component_key(Reader& reader, ComponentKeys& component, const std::string& key, const YAML::Node& value,
                        const std::string& key_path, int key_line) {
    if (component.unchecked) {
        // Kept as given: the file's shape only.
        Settings::Item item{key, ValueKind::text, std::string(), std::string()};
        if (value.IsSequence()) {
            item.kind = ValueKind::text_list;
            std::vector<std::string> words;
            for (const auto& element : value) words.push_back(element.IsScalar() ? element.Scalar() : std::string());
            item.value = std::move(words);
        } else if (value.IsScalar()) {
            item.text = value.Scalar();
            item.value = item.text;
        }
        reader.record_line(key_path, key_line);
        component.unchecked_items.push_back(std::move(item));
        return true;
    }
    std::size_t index = 0;
    while (index < component.rows.size() && component.rows[index].key != key) ++index;
    if (index == component.rows.size()) return false;
    component.items.resize(component.rows.size());
    component.seen_line.resize(component.rows.size(), 0);
    if (component.seen_line[index] != 0) {
        reader.error(key_path, key_line, fmt::format("duplicate key (first given at line {})", component.seen_line[index]));
        return true;
    }
    component.seen_line[index] = key_line;
    reader.record_line(key_path, key_line);
    const auto& row = component.rows[index];
    const RowSpec spec = spec_of(row);
    // A count limit names the component: "a slack receiver takes 1 URL, got 2".
    if (is_list(row.kind) && row.max > 0 && value.IsSequence() &&
        (value.size() < row.min || value.size() > row.max)) {
        reader.error(key_path, key_line,
                     fmt::format("{} takes {}, got {}", component.owner, count_text(spec), value.size()));
        return true;
    }
    ParsedValue parsed;
    if (!read_value(reader, spec, value, key_path, key_line, parsed)) return true;
    if (is_list(row.kind) && row.required && std::get<std::vector<std::string>>(parsed).empty()) {
        reader.error(key_path, key_line, fmt::format("{} needs at least one", component.owner));
        return true;
    }
    const std::string text = value.IsScalar() ? value.Scalar() : std::string();
    component.items[index] = Settings::Item{std::string(row.key), row.kind, std::move(parsed), text};
    return true;
}

void finish_component_keys(Reader& reader, ComponentKeys& component, const std::string& path, int line) {
    std::vector<Settings::Item> items = std::move(component.unchecked_items);
    component.items.resize(component.rows.size());
    component.seen_line.resize(component.rows.size(), 0);
    for (std::size_t i = 0; i < component.rows.size(); ++i) {
        const auto& row = component.rows[i];
        if (component.items[i]) {
            items.push_back(std::move(*component.items[i]));
            continue;
        }
        if (component.seen_line[i] != 0) continue;  // given, and its error already reported
        if (row.required) {
            reader.error(child_path(path, row.key), line,
                         fmt::format("required key is missing: {} needs it", component.owner));
            continue;
        }
        if (is_list(row.kind)) {
            items.push_back({std::string(row.key), row.kind, std::vector<std::string>(), std::string()});
            continue;
        }
        if (row.kind == ValueKind::number && row.default_text.empty()) continue;  // an optional number: unset
        auto parsed = parse_scalar(spec_of(row), row.default_text);
        if (!parsed.value)
            throw std::logic_error(fmt::format("{}: bad default in the option table: {}", row.key, parsed.error));
        items.push_back({std::string(row.key), row.kind, std::move(*parsed.value), std::string(row.default_text)});
    }
    if (component.out != nullptr) *component.out = Settings(std::move(items));
}

SettingsParse parse_settings(std::span<const SettingRow> table, std::span<const std::string> assignments) {
    SettingsParse out;
    std::vector<std::optional<std::string_view>> given(table.size());
    for (const auto& assignment : assignments) {
        const auto equals = assignment.find('=');
        if (equals == std::string::npos || equals == 0) {
            out.errors.push_back(fmt::format("expected key=value, got \"{}\"", assignment));
            continue;
        }
        const std::string_view key = std::string_view(assignment).substr(0, equals);
        std::size_t row = 0;
        while (row < table.size() && table[row].key != key) ++row;
        if (row == table.size()) {
            std::vector<std::string_view> known;
            for (const auto& r : table) known.push_back(r.key);
            const auto suggestion = suggest_key(key, known);
            out.errors.push_back(fmt::format("unknown option \"{}\"{} (options: {})", key,
                                             suggestion.empty() ? "" : fmt::format("; did you mean \"{}\"?", suggestion),
                                             setting_keys(table)));
            continue;
        }
        if (given[row]) {
            out.errors.push_back(fmt::format("{}: given more than once", key));
            continue;
        }
        given[row] = std::string_view(assignment).substr(equals + 1);
    }
    std::vector<Settings::Item> items;
    items.reserve(table.size());
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (is_list(table[i].kind)) {  // lists come from a configuration file's sequences only
            if (given[i]) out.errors.push_back(fmt::format("{}: a list, not a key=value option", table[i].key));
            items.push_back({std::string(table[i].key), table[i].kind, std::vector<std::string>(), std::string()});
            continue;
        }
        if (table[i].required && !given[i]) {
            out.errors.push_back(fmt::format("{}: required", table[i].key));
            continue;
        }
        const std::string_view text = given[i] ? *given[i] : table[i].default_text;
        auto parsed = parse_scalar(spec_of(table[i]), text);
        if (!parsed.value) {
            // A bad default is a bug in the table, not in the user's input.
            if (!given[i])
                throw std::logic_error(fmt::format("{}: bad default in the option table: {}", table[i].key, parsed.error));
            out.errors.push_back(fmt::format("{}: {}", table[i].key, parsed.error));
            continue;
        }
        items.push_back({std::string(table[i].key), table[i].kind, std::move(*parsed.value), std::string(text)});
    }
    if (out.errors.empty()) out.settings = Settings(std::move(items));
    return out;
}

}  // namespace mw::config
