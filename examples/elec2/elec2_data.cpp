#include "examples/elec2/elec2_data.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "examples/elec2/csv.h"

namespace mw::elec2 {
namespace {

struct Columns {
    std::array<int, feature_count> features{};
    int label = -1;
    int id = -1;
};

Result<Columns> find_columns(const CsvRecord& header, std::string_view label_name, bool need_id,
                             const std::string& path) {
    Columns columns;
    for (std::size_t i = 0; i < feature_count; ++i) {
        columns.features[i] = column_index(header, feature_names[i]);
        if (columns.features[i] < 0)
            return Result<Columns>::failure(fmt::format("{}: no column '{}' in the header", path, feature_names[i]));
    }
    columns.label = column_index(header, label_name);
    if (columns.label < 0)
        return Result<Columns>::failure(fmt::format("{}: no column '{}' in the header", path, label_name));
    if (need_id) {
        columns.id = column_index(header, "id");
        if (columns.id < 0) return Result<Columns>::failure(fmt::format("{}: no column 'id' in the header", path));
    }
    return {columns, {}};
}

Result<double> parse_number(const std::string& text) {
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || !std::isfinite(value))
        return Result<double>::failure(fmt::format("'{}' is not a finite number", text));
    return {value, {}};
}

Result<LabelledRow> read_row(const CsvRecord& record, const Columns& columns) {
    LabelledRow row;
    for (std::size_t i = 0; i < feature_count; ++i) {
        auto number = parse_number(record[static_cast<std::size_t>(columns.features[i])]);
        if (!number.ok()) return Result<LabelledRow>::failure(fmt::format("{}: {}", feature_names[i], number.error));
        row.features[i] = number.value;
    }
    auto label = parse_label(record[static_cast<std::size_t>(columns.label)]);
    if (!label.ok()) return Result<LabelledRow>::failure(label.error);
    row.up = label.value;
    return {std::move(row), {}};
}

}  // namespace

Result<bool> parse_label(std::string_view text) {
    if (text == "UP") return {true, {}};
    if (text == "DOWN") return {false, {}};
    return Result<bool>::failure(fmt::format("label '{}' is neither UP nor DOWN", text));
}

Result<std::vector<LabelledRow>> load_elec2_stream(const std::string& path) {
    using Rows = Result<std::vector<LabelledRow>>;
    auto content = read_maybe_gzip_file(path);
    if (!content.ok()) return Rows::failure(content.error);
    auto table = parse_csv(content.value);
    if (!table.ok()) return Rows::failure(fmt::format("{}: {}", path, table.error));
    auto columns = find_columns(table.value.header, "class", false, path);
    if (!columns.ok()) return Rows::failure(columns.error);

    std::vector<LabelledRow> rows;
    rows.reserve(table.value.records.size());
    for (std::size_t r = 0; r < table.value.records.size(); ++r) {
        auto row = read_row(table.value.records[r], columns.value);
        if (!row.ok()) return Rows::failure(fmt::format("{}:{}: {}", path, table.value.record_lines[r], row.error));
        row.value.id = std::to_string(r);
        rows.push_back(std::move(row.value));
    }
    return {std::move(rows), {}};
}

Result<std::vector<LabelledRow>> load_job_data(const std::string& path, std::size_t& skipped_unlabelled) {
    using Rows = Result<std::vector<LabelledRow>>;
    skipped_unlabelled = 0;
    auto content = read_maybe_gzip_file(path);
    if (!content.ok()) return Rows::failure(content.error);
    auto table = parse_csv(content.value);
    if (!table.ok()) return Rows::failure(fmt::format("{}: {}", path, table.error));
    auto columns = find_columns(table.value.header, "label", true, path);
    if (!columns.ok()) return Rows::failure(columns.error);

    std::vector<LabelledRow> rows;
    rows.reserve(table.value.records.size());
    for (std::size_t r = 0; r < table.value.records.size(); ++r) {
        const CsvRecord& record = table.value.records[r];
        if (record[static_cast<std::size_t>(columns.value.label)].empty()) {
            ++skipped_unlabelled;
            continue;
        }
        auto row = read_row(record, columns.value);
        if (!row.ok()) return Rows::failure(fmt::format("{}:{}: {}", path, table.value.record_lines[r], row.error));
        row.value.id = record[static_cast<std::size_t>(columns.value.id)];
        rows.push_back(std::move(row.value));
    }
    return {std::move(rows), {}};
}

}  // namespace mw::elec2
