#include "detectors/reference_sample.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mw::drift {

std::string reference_sample_to_json(const DriftTable& table) {
    nlohmann::json columns = nlohmann::json::array();
    for (const auto& column : table.columns) {
        nlohmann::json values = nlohmann::json::array();
        if (column.numeric) {
            for (const double value : column.numbers)
                values.push_back(std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr));
        } else {
            for (const auto& text : column.texts) values.push_back(text);
        }
        columns.push_back({{"name", column.name}, {"numeric", column.numeric}, {"values", std::move(values)}});
    }
    return nlohmann::json{{"version", 1}, {"rows", table.rows}, {"columns", std::move(columns)}}.dump();
}

ReferenceSampleRead reference_sample_from_json(std::string_view json) {
    ReferenceSampleRead read;
    const auto document = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    const auto fail = [&](std::string message) {
        read.table = {};
        read.error = std::move(message);
        return read;
    };
    if (!document.is_object()) return fail("the reference sample is not a JSON object");
    if (document.value("version", 0) != 1) return fail("the reference sample's version is not 1");
    const auto rows = document.find("rows");
    const auto columns = document.find("columns");
    if (rows == document.end() || !rows->is_number_unsigned()) return fail("\"rows\" must be a whole number");
    if (columns == document.end() || !columns->is_array()) return fail("\"columns\" must be an array");
    read.table.rows = rows->get<std::size_t>();
    for (std::size_t c = 0; c < columns->size(); ++c) {
        const auto& entry = (*columns)[c];
        const std::string where = fmt::format("columns[{}]", c);
        if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
            !entry.contains("numeric") || !entry["numeric"].is_boolean() || !entry.contains("values") ||
            !entry["values"].is_array())
            return fail(where + " must be {\"name\": string, \"numeric\": bool, \"values\": array}");
        ColumnData column;
        column.name = entry["name"].get<std::string>();
        column.numeric = entry["numeric"].get<bool>();
        const auto& values = entry["values"];
        if (values.size() != read.table.rows)
            return fail(fmt::format("{} has {} values for {} rows", where, values.size(), read.table.rows));
        for (std::size_t i = 0; i < values.size(); ++i) {
            const auto& value = values[i];
            if (column.numeric) {
                if (value.is_null())
                    column.numbers.push_back(std::numeric_limits<double>::quiet_NaN());
                else if (value.is_number())
                    column.numbers.push_back(value.get<double>());
                else
                    return fail(fmt::format("{}.values[{}] must be a number or null", where, i));
            } else {
                if (!value.is_string()) return fail(fmt::format("{}.values[{}] must be a string", where, i));
                column.texts.push_back(value.get<std::string>());
            }
        }
        read.table.columns.push_back(std::move(column));
    }
    return read;
}

}  // namespace mw::drift
