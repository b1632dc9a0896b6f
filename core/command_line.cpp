#include "core/command_line.h"

#include <algorithm>

#include <fmt/format.h>

namespace mw::command_line {

bool Parsed::has(std::string_view name) const {
    return std::any_of(given.begin(), given.end(), [name](const auto& option) { return option.first == name; });
}

std::optional<std::string> Parsed::value(std::string_view name) const {
    for (auto it = given.rbegin(); it != given.rend(); ++it)
        if (it->first == name) return it->second;
    return std::nullopt;
}

std::vector<std::string> Parsed::values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [option, value] : given)
        if (option == name) out.push_back(value);
    return out;
}

namespace {

bool is_help(std::string_view word) { return word == "-h" || word == "--help"; }

const Option* find(std::span<const Option> options, std::string_view name) {
    for (const auto& option : options)
        if (option.name == name) return &option;
    return nullptr;
}

}  // namespace

ParseResult parse(std::span<char* const> args, std::span<const Option> options) {
    ParseResult result;
    Parsed& parsed = result.parsed;
    // Help first: a malformed line that asks for help still gets it.
    for (const char* word : args) {
        if (std::string_view(word) == "--") break;
        if (is_help(word)) {
            parsed.help = true;
            return result;
        }
    }
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view word = args[i];
        if (options_ended || word == "-" || !word.starts_with('-')) {
            parsed.positionals.emplace_back(word);
            continue;
        }
        if (word == "--") {
            options_ended = true;
            continue;
        }
        const auto equals = word.find('=');
        const std::string_view name = word.substr(0, equals);
        const Option* option = find(options, name);
        if (option == nullptr) {
            result.error = fmt::format("unknown option '{}'", name);
            return result;
        }
        if (option->value.empty()) {
            if (equals != std::string_view::npos) {
                result.error = fmt::format("{} takes no value, got '{}'", name, word.substr(equals + 1));
                return result;
            }
            parsed.given.emplace_back(option->name, std::string());
            continue;
        }
        if (equals != std::string_view::npos) {
            parsed.given.emplace_back(option->name, std::string(word.substr(equals + 1)));
            continue;
        }
        if (i + 1 >= args.size() || std::string_view(args[i + 1]).starts_with("--")) {
            result.error = fmt::format("{} needs a value ({})", name, option->value);
            return result;
        }
        parsed.given.emplace_back(option->name, std::string(args[++i]));
    }
    for (const auto& option : options)
        if (option.required && !parsed.has(option.name)) {
            result.error = fmt::format("{} is required", option.name);
            return result;
        }
    return result;
}

std::string apply(const Parsed& parsed, std::span<const Option> options, void* target) {
    for (const auto& [name, value] : parsed.given) {
        const Option* row = find(options, name);
        if (row == nullptr || row->apply == nullptr) continue;
        if (std::string error = row->apply(target, value); !error.empty())
            return std::string(name) + ": " + error;
    }
    return "";
}

std::string describe(std::span<const Option> options) {
    constexpr Option help_row{"-h, --help", "", help_option.help};
    std::size_t width = help_row.name.size();
    const auto label = [](const Option& option) {
        return option.value.empty() ? std::string(option.name) : fmt::format("{} {}", option.name, option.value);
    };
    for (const auto& option : options) width = std::max(width, label(option).size());
    width = std::min<std::size_t>(width, 26);
    std::string text;
    const auto row = [&](const Option& option) {
        const std::string first = label(option);
        text += "  ";
        text += first;
        // A label wider than the column gets its help on the next line.
        if (first.size() > width) {
            text += '\n';
            text.append(width + 5, ' ');
        } else {
            text.append(width + 3 - first.size(), ' ');
        }
        for (const char c : option.help) {
            text += c;
            if (c == '\n') text.append(width + 5, ' ');
        }
        text += '\n';
    };
    for (const auto& option : options) row(option);
    row(help_row);
    return text;
}

std::string parse_name_list(std::string_view text, std::string_view what, std::vector<std::string>& names) {
    std::vector<std::string> parsed;
    for (std::size_t start = 0; !text.empty();) {
        const std::size_t comma = text.find(',', start);
        const std::string_view name = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
        if (name.empty()) return fmt::format("{} name {} of '{}' is empty", what, parsed.size() + 1, text);
        parsed.emplace_back(name);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    names = std::move(parsed);
    return "";
}

bool parse_unsigned(std::string_view text, std::uint64_t& value) { return read_number(text, value).empty(); }

}  // namespace mw::command_line
