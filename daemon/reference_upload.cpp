#include "daemon/reference_upload.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "collectors/privacy.h"
#include "core/json_nesting.h"
#include "daemon/window_table.h"
#include "detectors/csv_table.h"

namespace mw::daemon {
namespace {

std::optional<double> number_of(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

bool is_attribute(const ModelSchema& schema, std::string_view name) {
    for (const auto& attribute : schema.attributes)
        if (attribute == name) return true;
    return false;
}

Value reference_value_of(const nlohmann::json& value) {
    if (value.is_number()) return value.get<double>();
    if (value.is_boolean()) return value.get<bool>();
    if (value.is_string()) return value.get<std::string>();
    return Value{};
}

nlohmann::json reference_json_of(const Value& value) {
    if (const auto* number = std::get_if<double>(&value)) return *number;
    if (const auto* flag = std::get_if<bool>(&value)) return *flag;
    if (const auto* text = std::get_if<std::string>(&value)) return *text;
    return nullptr;
}

// A reference is stored in PostgreSQL and compared with windows of ingested
// records, so it goes through the model's privacy policy like them
// (collectors/privacy.h): nothing the policy does not keep is stored, and
// hashed or generalised values compare with their kind. Rewrites the row's
// features and attributes to what the policy keeps of them. Under a hash
// policy the store is the only source of reference rows (the raw values were
// never kept), so a hashed field's value that already is a hash (rows read
// back from predictions, a retraining export) is kept as it is, not hashed
// twice; generalising and dropping give the same result applied twice.
void apply_reference_privacy(const ModelSchema& schema, nlohmann::json& features, nlohmann::json& attributes) {
    if (schema.privacy.keeps_everything()) return;
    Prediction row;
    row.features.assign(schema.features.size(), Value{});
    for (const auto& [name, value] : features.items()) {
        const int index = schema.feature_index(name);
        if (index >= 0)
            row.features[static_cast<std::size_t>(index)] = reference_value_of(value);
        else
            row.undeclared_features.emplace_back(name, reference_value_of(value));
    }
    for (const auto& [name, value] : attributes.items())
        if (!value.is_null()) row.attributes.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
    apply_privacy(schema, row, true);
    features = nlohmann::json::object();
    for (std::size_t f = 0; f < schema.features.size(); ++f)
        if (!std::holds_alternative<std::monostate>(row.features[f]))
            features[schema.features[f].name] = reference_json_of(row.features[f]);
    for (const auto& [name, value] : row.undeclared_features) features[name] = reference_json_of(value);
    attributes = nlohmann::json::object();
    for (const auto& [name, value] : row.attributes) attributes[name] = value;
}

ReferenceUpload from_csv(std::string_view body, const ModelSchema& schema, std::size_t max_rows) {
    ReferenceUpload upload;
    drift::CsvLimits limits;
    limits.max_rows = max_rows;
    const auto csv = drift::read_csv(body, "reference", limits);
    if (!csv.ok()) {
        upload.error = csv.error;
        return upload;
    }
    for (const auto& name : csv.header)
        if (schema.feature_index(name) < 0 && !is_attribute(schema, name) && name != "score" &&
            name != "prediction" && name != "label") {
            upload.error = fmt::format("column '{}' is not a feature, attribute, score, prediction or label of model {}",
                                       name, schema.name);
            return upload;
        }
    const bool regression = schema.prediction_type == PredictionType::regression;
    std::vector<store::WindowRow> rows;
    for (std::size_t r = 0; r < csv.rows.size(); ++r) {
        const auto& cells = csv.rows[r];
        store::WindowRow row;
        nlohmann::json features = nlohmann::json::object();
        nlohmann::json attributes = nlohmann::json::object();
        for (std::size_t c = 0; c < csv.header.size(); ++c) {
            const auto& name = csv.header[c];
            const auto& cell = cells[c];
            const auto where = [&] { return fmt::format("line {}: column '{}'", csv.row_lines[r], name); };
            if (const int index = schema.feature_index(name); index >= 0) {
                if (cell.empty()) continue;
                if (schema.features[static_cast<std::size_t>(index)].type == FeatureType::numeric) {
                    const auto number = number_of(cell);
                    if (!number) {
                        upload.error = where() + ": expected a number, got \"" + cell + "\"";
                        return upload;
                    }
                    features[name] = *number;
                } else {
                    features[name] = cell;
                }
            } else if (is_attribute(schema, name)) {
                if (!cell.empty()) attributes[name] = cell;
            } else if (cell.empty()) {
                continue;
            } else if (name == "score" || (regression && (name == "prediction" || name == "label"))) {
                const auto number = number_of(cell);
                if (!number) {
                    upload.error = where() + ": expected a number, got \"" + cell + "\"";
                    return upload;
                }
                if (name == "score") row.score = number;
                if (name == "prediction") row.prediction_value = number;
                if (name == "label") row.value = number;
            } else if (name == "prediction") {
                row.prediction_label = cell;
            } else {
                row.label = cell;
            }
        }
        apply_reference_privacy(schema, features, attributes);
        row.features_json = features.dump();
        row.attributes_json = attributes.dump();
        rows.push_back(std::move(row));
    }
    upload.rows_read = rows.size();
    upload.table = rows_to_table(rows, schema);
    return upload;
}

ReferenceUpload from_ndjson(std::string_view body, const ModelSchema& schema, std::size_t max_rows,
                            std::size_t max_json_depth) {
    ReferenceUpload upload;
    std::vector<store::WindowRow> rows;
    std::size_t line_number = 0;
    while (!body.empty() && rows.size() < max_rows) {
        const auto end = body.find('\n');
        const auto line = body.substr(0, end);
        body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
        ++line_number;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        const auto fail = [&](std::string message) {
            upload.error = fmt::format("line {}: {}", line_number, message);
            return upload;
        };
        if (json_nesting_exceeds(line, max_json_depth))
            return fail(fmt::format("nested deeper than {} levels (server.max_json_depth)", max_json_depth));
        const auto object = nlohmann::json::parse(line, nullptr, false);
        if (!object.is_object()) return fail("expected a JSON object");
        store::WindowRow row;
        const auto features = object.find("features");
        if (features == object.end() || !features->is_object()) return fail("\"features\" must be an object");
        const auto attributes = object.find("attributes");
        if (attributes != object.end() && !attributes->is_object()) return fail("\"attributes\" must be an object");
        nlohmann::json kept_features = *features;
        nlohmann::json kept_attributes = attributes != object.end() ? *attributes : nlohmann::json::object();
        apply_reference_privacy(schema, kept_features, kept_attributes);
        row.features_json = kept_features.dump();
        row.attributes_json = kept_attributes.dump();
        for (const auto& [key, value] : object.items()) {
            if (key == "features" || key == "attributes" || key == "id" || key == "ts" || key == "model_version")
                continue;
            if (key == "score") {
                if (!value.is_number()) return fail("\"score\" must be a number");
                row.score = value.get<double>();
            } else if (key == "prediction" || key == "label") {
                auto& label = key == "prediction" ? row.prediction_label : row.label;
                auto& number = key == "prediction" ? row.prediction_value : row.value;
                if (value.is_string())
                    label = value.get<std::string>();
                else if (value.is_number())
                    number = value.get<double>();
                else
                    return fail(fmt::format("\"{}\" must be a string or a number", key));
            } else {
                return fail(fmt::format("unknown key \"{}\"", key));
            }
        }
        rows.push_back(std::move(row));
    }
    if (rows.empty()) {
        upload.error = "no rows";
        return upload;
    }
    upload.rows_read = rows.size();
    upload.table = rows_to_table(rows, schema);
    return upload;
}

}  // namespace

ReferenceUpload parse_reference_upload(std::string_view body, std::string_view content_type,
                                       const ModelSchema& schema, std::size_t max_rows, std::size_t max_json_depth) {
    const auto first = body.find_first_not_of(" \t\r\n");
    const bool ndjson = content_type.find("json") != std::string_view::npos ||
                        (content_type.find("csv") == std::string_view::npos && first != std::string_view::npos &&
                         body[first] == '{');
    auto upload = ndjson ? from_ndjson(body, schema, max_rows, max_json_depth) : from_csv(body, schema, max_rows);
    if (upload.ok() && upload.rows_read < 2) upload.error = "a reference needs at least 2 rows";
    return upload;
}

}  // namespace mw::daemon
