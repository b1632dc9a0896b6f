#include "detectors/anomaly_registry.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "detectors/anomaly_robust.h"
#include "detectors/anomaly_windowed_gaussian.h"

namespace mw::anomaly {

namespace {

const AnomalyMethod method_table[] = {
    {"robust", "robust residuals of the best of level, previous-value, daily and weekly baselines",
     RobustDetector::options(), RobustDetector::check, RobustDetector::make},
    {"windowed_gaussian", "NAB's windowed-Gaussian baseline, as published (a reference for the benchmark)",
     WindowedGaussianDetector::options(), nullptr, WindowedGaussianDetector::make},
};

std::string known_keys(const AnomalyMethod& method) {
    std::string keys;
    for (const AnomalyOption& option : method.options) {
        if (!keys.empty()) keys += ", ";
        keys += option.key;
    }
    return keys;
}

}  // namespace

double AnomalyParams::get(std::string_view key) const {
    const auto found = values_.find(key);
    if (found == values_.end()) throw std::out_of_range(fmt::format("anomaly option '{}' is not in its table", key));
    return found->second;
}

std::span<const AnomalyMethod> anomaly_methods() { return method_table; }

AnomalyDetectorResult make_anomaly_detector(std::string_view method_name,
                                            const std::vector<std::pair<std::string, std::string>>& settings) {
    const AnomalyMethod* method = nullptr;
    std::string names;
    for (const AnomalyMethod& candidate : method_table) {
        if (candidate.name == method_name) method = &candidate;
        names += names.empty() ? "" : ", ";
        names += candidate.name;
    }
    if (method == nullptr)
        return {nullptr, fmt::format("unknown anomaly detector '{}' (known: {})", method_name, names)};

    std::map<std::string, double, std::less<>> values;
    for (const AnomalyOption& option : method->options) values.emplace(option.key, option.default_value);

    for (const auto& [key, text] : settings) {
        const AnomalyOption* option = nullptr;
        for (const AnomalyOption& candidate : method->options)
            if (candidate.key == key) option = &candidate;
        if (option == nullptr)
            return {nullptr, fmt::format("{}: unknown option '{}' (known: {})", method->name, key, known_keys(*method))};
        double value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value))
            return {nullptr, fmt::format("{}: option {}: expected a number, got '{}'", method->name, key, text)};
        if (option->integer && value != std::floor(value))
            return {nullptr, fmt::format("{}: option {}: expected a whole number, got '{}'", method->name, key, text)};
        if (value < option->min_value || value > option->max_value)
            return {nullptr, fmt::format("{}: option {}: {} is outside [{}, {}]", method->name, key, text,
                                         option->min_value, option->max_value)};
        values[key] = value;
    }
    AnomalyParams params(std::move(values));
    if (method->check != nullptr) {
        std::string problem = method->check(params);
        if (!problem.empty()) return {nullptr, fmt::format("{}: {}", method->name, problem)};
    }
    return {method->make(params), {}};
}

}  // namespace mw::anomaly
