#include "detectors/detector_state.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace mw::detector_state {

nlohmann::json from_double(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    if (value == 0.0 && std::signbit(value)) return "-0";
    return value;
}

double to_double(const nlohmann::json& value) {
    if (value.is_number()) return value.get<double>();
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
        if (text == "inf") return std::numeric_limits<double>::infinity();
        if (text == "-inf") return -std::numeric_limits<double>::infinity();
        if (text == "-0") return -0.0;
    }
    throw std::invalid_argument("expected a number, \"inf\", \"-inf\", \"nan\" or \"-0\", got " + value.dump());
}

nlohmann::json from_doubles(std::span<const double> values) {
    auto array = nlohmann::json::array();
    for (const double value : values) array.push_back(from_double(value));
    return array;
}

std::vector<double> to_doubles(const nlohmann::json& values) {
    if (!values.is_array()) throw std::invalid_argument("expected an array of numbers, got " + values.dump());
    std::vector<double> out;
    out.reserve(values.size());
    for (const auto& value : values) out.push_back(to_double(value));
    return out;
}

}  // namespace mw::detector_state
