// The value kinds of option rows and the values of a component's options
// (config/option_table.h has the tables themselves). Apart so that the
// configuration's structs (config/config.h), which hold components' options,
// do not pull the YAML reader into every file that includes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/values.h"

namespace mw::config {

enum class ValueKind {
    text,          // any string (may be empty)
    path,          // an absolute path, or empty when the row allows it
    name,          // [A-Za-z0-9_.-]{1,max}
    integer,       // a whole number in [min, max]
    number,        // a finite decimal number in [min_number, max_number]
    size_bytes,    // bytes: an integer or "64MiB", in [min, max] bytes
    duration,      // an integer in the row's unit or "10s", in [min, max] of that unit
    choice,        // one of the row's choices
    listen,        // "host:port"
    sha256_hex,    // 64 hex digits
    name_list,     // a sequence of distinct names
    text_list,     // a sequence of distinct non-empty strings
    mapping,       // a nested section, read by the row's read_nested
    mapping_list,  // a sequence of nested sections, read by the row's read_nested
    url,           // an http:// or https:// URL
    url_list,      // a sequence of distinct URLs; max > 0: from min to max of them
    argv,          // a program and its arguments (no shell); with a catalog the program must be an
                   // absolute path to an executable here; max > 0: from min to max words
    environment,   // the name of an environment variable that must be set and non-empty; its value is
                   // read when the configuration is loaded (a secret stays out of the file)
};

const char* to_string(ValueKind kind);
// The kinds whose value is a sequence of strings.
bool is_list(ValueKind kind);

// A scalar or list value after parsing, before it is stored in its field.
using ParsedValue = std::variant<std::string, std::uint64_t, ListenEndpoint, std::vector<std::string>, double>;

// A pluggable component (a concept-drift or anomaly detector, ...) declares
// its options in the same table type as the configuration's sections, as
// rows of Option<Settings> without `assign`: the values are kept by key, in
// table order, defaults included. They come from "key=value" strings (the
// CLI's --param, a config key's list) or, in the daemon, from the config's
// lists; parse_settings validates them against the table.
class Settings {
public:
    struct Item {
        std::string key;
        ValueKind kind;
        ParsedValue value;
        std::string text;  // scalars: the value as written

        bool operator==(const Item&) const = default;
    };

    Settings() = default;
    explicit Settings(std::vector<Item> items) : items_(std::move(items)) {}

    // Asking for a key the table does not declare, or of another kind, is a
    // programming error: std::logic_error.
    std::int64_t integer(std::string_view key) const;  // integer rows
    double number(std::string_view key) const;          // number rows, and integer rows as a number
    bool boolean(std::string_view key) const;           // choice rows of boolean_choices
    const std::string& text(std::string_view key) const;  // choice, text, name, url, environment rows
    const std::vector<std::string>& list(std::string_view key) const;  // list rows; empty when not given
    // Whether the key was given or has a row (a component whose keys were not checked has only those given).
    bool has(std::string_view key) const;

    const std::vector<Item>& items() const { return items_; }
    bool operator==(const Settings&) const = default;
    // "delta=0.002 clock=32 ..." in table order.
    std::string to_string() const;

private:
    const Item& find(std::string_view key) const;

    std::vector<Item> items_;
};

}  // namespace mw::config
