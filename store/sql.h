// What the store's queries and retrain/'s share: timestamps between C++ (microseconds
// since the Unix epoch, UTC) and PostgreSQL timestamptz, text[] parameters,
// and nullable fields.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/result>  // pqxx::field; <pqxx/field> alone does not compile in 6.4

namespace mw::store {

// SQL for parameter $index (a bigint of microseconds) as a timestamptz. The
// product is exact: a whole number of microseconds.
std::string ts_param(int index);
// SQL for a timestamptz column as bigint microseconds. Exact: extract(epoch)
// returns numeric since PostgreSQL 14.
std::string ts_column(std::string_view column);

// A text[] literal for a parameter ($n::text[]): every element double-quoted,
// with \ and " escaped, so any name survives (PostgreSQL "Array Value Input").
std::string text_array(const std::vector<std::string>& items);

// A nullable field (libpqxx 6.4 here is built without field::get<T>()).
template <typename T>
std::optional<T> nullable(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return field.as<T>();
}

}  // namespace mw::store
