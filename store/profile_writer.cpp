#include "store/profile_writer.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/except>

#include "core/time.h"
#include "stats/sketch_random.h"

namespace mw::store {
namespace {

// Columns of a prediction COPY row (store/copy_encoding.h).
constexpr std::size_t prediction_fields = 10;
constexpr std::size_t id_field = 1, ts_field = 2, version_field = 3, features_field = 4, attributes_field = 8,
                      received_field = 9;

// COPY text format's escapes, as copy_encoding writes them.
std::string unescape_copy(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] != '\\' || i + 1 == field.size()) {
            out.push_back(field[i]);
            continue;
        }
        const char next = field[++i];
        out.push_back(next == 't' ? '\t' : next == 'n' ? '\n' : next == 'r' ? '\r' : next);
    }
    return out;
}

std::int64_t timestamp_field(std::string_view field, std::string_view line, const char* what) {
    const auto us = parse_rfc3339_us(field);
    if (!us)
        throw pqxx::data_exception(fmt::format("spooled prediction with {} \"{}\", not a timestamp: {}", what, field,
                                               line.substr(0, 200)),
                                   "", "22007");
    return *us;
}

}  // namespace

ProfilePlan profile_plan(const std::vector<config::ModelOptions>& models) {
    ProfilePlan plan;
    for (const auto& model : models)
        if (!model.store_raw)
            plan.emplace(model.schema.name,
                         ProfiledModel{model.schema.features, static_cast<std::int64_t>(model.window.duration_ms) * 1000,
                                       model.drift.segments, model.drift.max_segment_values});
    return plan;
}

std::optional<StrippedBatches> strip_profiled_features(std::span<const EncodedBatch> batches, const ProfilePlan& plan) {
    if (plan.empty()) return std::nullopt;
    std::optional<StrippedBatches> stripped;
    for (std::size_t b = 0; b < batches.size(); ++b) {
        const auto& batch = batches[b];
        if (batch.kind != RecordKind::prediction) {
            if (stripped) stripped->batches.push_back(batch);
            continue;
        }
        // A batch holds one model's records (the spool frames one batch per
        // request and model): its first field says whether to look further.
        const std::string_view rows = batch.copy_rows;
        const std::string model = unescape_copy(rows.substr(0, rows.find('\t')));
        if (!plan.contains(model)) {
            if (stripped) stripped->batches.push_back(batch);
            continue;
        }
        if (!stripped) {
            stripped.emplace();
            stripped->batches.assign(batches.begin(), batches.begin() + static_cast<std::ptrdiff_t>(b));
        }
        EncodedBatch rewritten{batch.kind, batch.record_count, {}};
        rewritten.copy_rows.reserve(rows.size() / 2);
        std::string_view rest = rows;
        while (!rest.empty()) {
            const auto line_end = rest.find('\n');
            const std::string_view line = rest.substr(0, line_end);
            rest = line_end == std::string_view::npos ? std::string_view{} : rest.substr(line_end + 1);
            std::string_view fields[prediction_fields];
            std::size_t count = 0, start = 0;
            for (std::size_t i = 0; i <= line.size() && count < prediction_fields; ++i) {
                if (i < line.size() && line[i] != '\t') continue;
                fields[count++] = line.substr(start, i - start);
                start = i + 1;
            }
            if (count != prediction_fields || start != line.size() + 1)
                throw pqxx::data_exception("spooled prediction row without its 10 columns: " +
                                               std::string(line.substr(0, 200)),
                                           "", "22P04");
            HeldFeatures held;
            held.model = unescape_copy(fields[0]);
            if (!plan.contains(held.model)) {  // not one model per batch after all: this row is kept whole
                rewritten.copy_rows.append(line);
                rewritten.copy_rows.push_back('\n');
                continue;
            }
            held.id = unescape_copy(fields[id_field]);
            held.model_version = fields[version_field] == "\\N" ? std::string() : unescape_copy(fields[version_field]);
            held.ts_us = timestamp_field(fields[ts_field], line, "ts");
            held.received_us = timestamp_field(fields[received_field], line, "received_at");
            held.features_json = unescape_copy(fields[features_field]);
            if (!plan.find(held.model)->second.segments.empty())
                held.attributes_json = unescape_copy(fields[attributes_field]);
            stripped->held.push_back(std::move(held));
            // The row as stored: every column but the features, which are "{}".
            const auto features_at = static_cast<std::size_t>(fields[features_field].data() - line.data());
            rewritten.copy_rows.append(line.substr(0, features_at));
            rewritten.copy_rows.append("{}");
            rewritten.copy_rows.append(line.substr(features_at + fields[features_field].size()));
            rewritten.copy_rows.push_back('\n');
        }
        stripped->batches.push_back(std::move(rewritten));
    }
    return stripped;
}

namespace {

// Folds one row's parsed features object into `profiles` (`usable`: it is a
// JSON object), as build_profile_chunks says.
void profile_feature_object(const nlohmann::json& object, bool usable, const std::vector<FeatureSpec>& features,
                            std::uint64_t seed, stats::ProfileSet& profiles) {
    const auto numeric_options = stats::profile_only_numeric_options(seed);
    for (const auto& feature : features) {
        const nlohmann::json* value = nullptr;
        if (usable) {
            const auto found = object.find(feature.name);
            if (found != object.end() && !found->is_null()) value = &*found;
        }
        if (feature.type == FeatureType::numeric) {
            auto& profile = profiles.numeric(feature.name, numeric_options);
            if (value != nullptr && value->is_number())
                profile.update(value->get<double>());
            else
                profile.update_missing();
            continue;
        }
        auto& profile = profiles.categorical(feature.name);
        if (value == nullptr)
            profile.update_missing();
        else if (value->is_string())
            profile.update(value->get_ref<const std::string&>());
        else if (value->is_boolean())
            profile.update(value->get<bool>() ? "true" : "false");
        else if (value->is_number())
            profile.update(value->dump());
        else
            profile.update_missing();
    }
}

// The segment value of `attribute` in a parsed attributes object, as the
// row-based segments read it (daemon/window_table.cpp): a string as it is,
// a boolean or number as text, "" when absent or not an object.
std::string profiled_segment_value(const nlohmann::json& attributes, const std::string& attribute) {
    if (!attributes.is_object()) return {};
    const auto found = attributes.find(attribute);
    if (found == attributes.end()) return {};
    if (found->is_string()) return found->get<std::string>();
    if (found->is_boolean()) return found->get<bool>() ? "true" : "false";
    if (found->is_number()) {
        // The shortest round trip, as daemon/window_table.cpp's cell_text.
        char buffer[32];
        const auto end = std::to_chars(buffer, buffer + sizeof buffer, found->get<double>()).ptr;
        return std::string(buffer, end);
    }
    return {};
}

}  // namespace

ProfileChunks build_profile_chunks(const std::vector<const HeldFeatures*>& inserted, const ProfilePlan& plan) {
    using Key = std::tuple<std::string, std::string, std::int64_t>;  // model, version, bucket start
    std::map<Key, std::pair<ProfileChunk, stats::ProfileSet>> chunks;
    for (const HeldFeatures* row : inserted) {
        const auto model = plan.find(row->model);
        if (model == plan.end() || model->second.bucket_us <= 0) continue;
        const ProfiledModel& profiled = model->second;
        const std::int64_t bucket = floor_to(row->ts_us, profiled.bucket_us);
        auto [entry, fresh] = chunks.try_emplace(Key{row->model, row->model_version, bucket});
        auto& [chunk, profiles] = entry->second;
        if (fresh) {
            chunk.model = row->model;
            chunk.model_version = row->model_version;
            chunk.bucket_start_us = bucket;
            chunk.bucket_end_us = bucket + profiled.bucket_us;
            chunk.received_from_us = row->received_us;
            // Declared before any row: the chunk's segments cover all its rows.
            for (const auto& attribute : profiled.segments) profiles.declare_segments(attribute);
        }
        chunk.received_from_us = std::min(chunk.received_from_us, row->received_us);
        ++chunk.rows;
        profiles.add_rows(1);
        // The KLL compactions of each chunk draw from their own stream.
        const std::uint64_t seed = stats::mix64(std::hash<std::string>{}(row->model) ^
                                                static_cast<std::uint64_t>(bucket) ^
                                                static_cast<std::uint64_t>(row->received_us));
        const auto features = nlohmann::json::parse(row->features_json, nullptr, false);
        const bool usable = !features.is_discarded() && features.is_object();
        profile_feature_object(features, usable, profiled.features, seed, profiles);
        if (profiled.segments.empty()) continue;
        const auto attributes = nlohmann::json::parse(row->attributes_json, nullptr, false);
        for (const auto& attribute : profiled.segments) {
            stats::ProfileSet* segment =
                profiles.segment(attribute, profiled_segment_value(attributes, attribute), profiled.max_segment_values);
            if (segment == nullptr) continue;  // overflowed: reported below
            segment->add_rows(1);
            profile_feature_object(features, usable, profiled.features, seed, *segment);
        }
    }
    ProfileChunks result;
    result.chunks.reserve(chunks.size());
    for (auto& [key, entry] : chunks) {
        for (const auto& [attribute, segments] : entry.second.segments())
            if (segments.state == stats::SegmentProfiles::State::overflowed)
                result.overflowed.emplace(entry.first.model, attribute);
        entry.first.profiles = entry.second.serialize();
        result.chunks.push_back(std::move(entry.first));
    }
    return result;
}

}  // namespace mw::store
