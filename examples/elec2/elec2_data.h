// The rows the example works on: the 7 Elec2 features and the UP/DOWN class,
// read from the bundled data set or from the CSV a modelwatch retraining job
// receives in $MODELWATCH_DATA.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "examples/elec2/result.h"

namespace mw::elec2 {

// The model's inputs. `date` is left out on purpose: it only grows, so a model
// using it cannot generalise to later rows and every window would drift on it.
inline constexpr std::array<std::string_view, 7> feature_names = {
    "day", "period", "nswprice", "nswdemand", "vicprice", "vicdemand", "transfer"};
inline constexpr std::size_t feature_count = feature_names.size();

using Features = std::array<double, feature_count>;

struct LabelledRow {
    std::string id;  // the job CSV's id, or the row's 0-based index in the data set
    Features features{};
    bool up = false;  // class UP (the positive class of the model)
};

// The bundled data set (data/elec2/elec2.csv.gz): header with at least the
// feature columns and `class`, rows in stream order.
Result<std::vector<LabelledRow>> load_elec2_stream(const std::string& path);

// A retraining job's data.csv: columns found by name (id, the features,
// label); rows in file order. Rows whose label is empty have no outcome yet
// and are skipped. `skipped_unlabelled` receives how many.
Result<std::vector<LabelledRow>> load_job_data(const std::string& path, std::size_t& skipped_unlabelled);

// "UP" -> true, "DOWN" -> false; anything else is an error.
Result<bool> parse_label(std::string_view text);

}  // namespace mw::elec2
