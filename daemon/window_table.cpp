#include "daemon/window_table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace mw::daemon {
namespace {

constexpr double missing = std::numeric_limits<double>::quiet_NaN();

std::string number_text(double value) {
    char buffer[32];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    return std::string(buffer, end);
}

std::string cell_text(const nlohmann::json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    if (value.is_number()) return number_text(value.get<double>());
    return {};
}

drift::ColumnData column(std::string name, bool numeric) {
    drift::ColumnData data;
    data.name = std::move(name);
    data.numeric = numeric;
    return data;
}

}  // namespace

std::vector<nlohmann::json> parse_features(const std::vector<store::WindowRow>& rows) {
    std::vector<nlohmann::json> objects;
    objects.reserve(rows.size());
    for (const auto& row : rows) objects.push_back(nlohmann::json::parse(row.features_json, nullptr, false));
    return objects;
}

drift::DriftTable rows_to_table(const std::vector<store::WindowRow>& rows, const ModelSchema& schema) {
    return rows_to_table(rows, parse_features(rows), schema);
}

drift::DriftTable rows_to_table(const std::vector<store::WindowRow>& rows,
                                const std::vector<nlohmann::json>& feature_objects, const ModelSchema& schema) {
    drift::DriftTable table;
    table.rows = rows.size();
    const bool regression = schema.prediction_type == PredictionType::regression;
    std::vector<drift::ColumnData> features;
    for (const auto& feature : schema.features)
        features.push_back(column(feature.name, feature.type == FeatureType::numeric));
    std::vector<drift::ColumnData> attributes;
    for (const auto& attribute : schema.attributes) attributes.push_back(column(attribute_column(attribute), false));
    auto score = column(score_column, true);
    auto prediction = column(prediction_column, regression);
    auto label = column(label_column, regression);
    bool any_score = false;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto& row = rows[r];
        // Stored features and attributes were validated at ingest; a row that
        // is not an object still yields missing values rather than an error.
        const auto& values = feature_objects[r];
        const auto row_attributes = nlohmann::json::parse(row.attributes_json, nullptr, false);
        for (auto& feature : features) {
            const auto it = values.is_object() ? values.find(feature.name) : values.end();
            const bool present = values.is_object() && it != values.end();
            if (feature.numeric)
                feature.numbers.push_back(present && it->is_number() ? it->get<double>() : missing);
            else
                feature.texts.push_back(present ? cell_text(*it) : std::string());
        }
        for (std::size_t a = 0; a < attributes.size(); ++a) {
            const auto& name = schema.attributes[a];
            const bool present = row_attributes.is_object() && row_attributes.contains(name);
            attributes[a].texts.push_back(present ? cell_text(row_attributes[name]) : std::string());
        }
        any_score = any_score || row.score.has_value();
        score.numbers.push_back(row.score.value_or(missing));
        if (regression) {
            prediction.numbers.push_back(row.prediction_value.value_or(missing));
            label.numbers.push_back(row.value.value_or(missing));
        } else {
            prediction.texts.push_back(row.prediction_label.value_or(""));
            label.texts.push_back(row.label.value_or(""));
        }
    }
    table.columns = std::move(features);
    for (auto& attribute : attributes) table.columns.push_back(std::move(attribute));
    if (any_score) table.columns.push_back(std::move(score));
    table.columns.push_back(std::move(prediction));
    table.columns.push_back(std::move(label));
    return table;
}

drift::DriftTable features_view(const drift::DriftTable& table, const ModelSchema& schema,
                                const std::vector<std::string>& segment_attributes) {
    drift::DriftTable view;
    view.rows = table.rows;
    for (const auto& feature : schema.features)
        if (const auto* data = table.find(feature.name)) view.columns.push_back(*data);
    for (const auto& attribute : segment_attributes) {
        if (const auto* data = table.find(attribute_column(attribute))) {
            view.columns.push_back(*data);
            view.columns.back().name = attribute;
        }
    }
    return view;
}

drift::DriftTable outputs_view(const drift::DriftTable& table) {
    drift::DriftTable view;
    view.rows = table.rows;
    if (const auto* score = table.find(score_column)) {
        view.columns.push_back(*score);
        view.columns.back().name = "score";
    }
    if (const auto* prediction = table.find(prediction_column)) {
        view.columns.push_back(*prediction);
        view.columns.back().name = "prediction";
    }
    return view;
}

drift::DriftTable labels_view(const drift::DriftTable& table) {
    drift::DriftTable view;
    const auto* label = table.find(label_column);
    if (label == nullptr) return view;
    auto labels = column("label", label->numeric);
    for (std::size_t r = 0; r < table.rows; ++r) {
        if (label->numeric && std::isfinite(label->numbers[r]))
            labels.numbers.push_back(label->numbers[r]);
        else if (!label->numeric && !label->texts[r].empty())
            labels.texts.push_back(label->texts[r]);
    }
    view.rows = labels.size();
    view.columns.push_back(std::move(labels));
    return view;
}

performance::PerformanceWindow performance_window(const std::vector<store::WindowRow>& rows, bool regression) {
    performance::PerformanceWindow window;
    for (const auto& row : rows) {
        if (regression) {
            window.predicted_value.push_back(row.prediction_value.value_or(std::nan("")));
            window.target.push_back(row.value);
        } else {
            window.y_pred.push_back(row.prediction_label.value_or(""));
            window.y_true.push_back(row.label);
        }
        window.label_delay_seconds.push_back(row.label_delay_s);
    }
    const bool all_scored =
        !rows.empty() && std::all_of(rows.begin(), rows.end(), [](const auto& row) { return row.score.has_value(); });
    if (all_scored && !regression)
        for (const auto& row : rows) window.score.push_back(*row.score);
    return window;
}

rootcause::RankingRows ranking_rows(const drift::DriftTable& table, const ModelSchema& schema,
                                    const std::vector<std::string>& attributes, bool labelled_only) {
    rootcause::RankingRows out;
    const auto* label = table.find(label_column);
    const auto* prediction = table.find(prediction_column);
    const auto* score = table.find(score_column);
    if (prediction == nullptr) return out;
    const bool regression = prediction->numeric;
    std::vector<std::size_t> kept;
    for (std::size_t r = 0; r < table.rows; ++r) {
        const bool labelled = label != nullptr && (regression ? std::isfinite(label->numbers[r]) : !label->texts[r].empty());
        if (labelled || !labelled_only) kept.push_back(r);
    }
    const bool all_scored = score != nullptr && !regression &&
                            std::all_of(kept.begin(), kept.end(), [&](auto r) { return std::isfinite(score->numbers[r]); });
    auto& o = out.outcomes;
    for (const auto r : kept) {
        if (regression) {
            o.predicted_value.push_back(prediction->numbers[r]);
            o.target.push_back(label != nullptr && std::isfinite(label->numbers[r]) ? std::optional(label->numbers[r])
                                                                                     : std::nullopt);
        } else {
            o.y_pred.emplace_back(prediction->texts[r]);
            o.y_true.push_back(label != nullptr && !label->texts[r].empty()
                                   ? std::optional<std::string>(label->texts[r])
                                   : std::nullopt);
        }
        if (all_scored) o.score.push_back(score->numbers[r]);
    }
    const auto add = [&](const drift::ColumnData& data, const std::string& name, bool attribute) {
        rootcause::Column column{.name = name, .attribute = attribute, .numeric = data.numeric};
        for (const auto r : kept) {
            if (data.numeric)
                column.numbers.push_back(data.numbers[r]);
            else
                column.texts.emplace_back(data.texts[r]);
        }
        out.columns.push_back(std::move(column));
    };
    for (const auto& feature : schema.features)
        if (const auto* data = table.find(feature.name)) add(*data, feature.name, false);
    for (const auto& attribute : attributes)
        if (const auto* data = table.find(attribute_column(attribute))) add(*data, attribute, true);
    return out;
}

}  // namespace mw::daemon
