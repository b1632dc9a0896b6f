#include "store/sql.h"

#include <fmt/format.h>

namespace mw::store {

std::string ts_param(int index) {
    return fmt::format("('epoch'::timestamptz + ${}::bigint * interval '1 microsecond')", index);
}

std::string ts_column(std::string_view column) {
    return fmt::format("(extract(epoch FROM {}) * 1000000)::bigint", column);
}

std::string text_array(const std::vector<std::string>& items) {
    std::string literal = "{";
    for (const auto& item : items) {
        if (literal.size() > 1) literal += ',';
        literal += '"';
        for (const char c : item) {
            if (c == '"' || c == '\\') literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    literal += '}';
    return literal;
}

}  // namespace mw::store
