#include "detectors/anomaly_windowed_gaussian.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "detectors/detector_state.h"

namespace mw::anomaly {

namespace {

const config::SettingRow windowed_gaussian_options[] = {
    {.key = "window_size", .kind = config::ValueKind::integer, .default_text = "1000", .min = 2, .max = 1'000'000,
     .help = "number of past values the normal is fitted to (NAB's tuned value)"},
};

// The normal CDF P(X < x) for X ~ N(mean, stddev): 1 minus nupic's
// anomaly_likelihood.normalProbability (the upper tail), which is what NAB's
// published windowedGaussian results hold (e.g. speed_7578.csv, third row:
// 66 against [73, 62] scores 0.392531 = Phi(-0.2727)).
double normal_cdf(double x, double mean, double stddev) {
    return 0.5 * std::erfc(-(x - mean) / (stddev * std::sqrt(2.0)));
}

}  // namespace

WindowedGaussianDetector::WindowedGaussianDetector(std::size_t window_size) : window_(window_size) {}

double WindowedGaussianDetector::score(double, double value) {
    if (!std::isfinite(value)) return 0.0;
    const double result = window_.size() > 0 ? normal_cdf(value, mean_, stddev_) : 0.0;
    window_.push(value);
    mean_ = window_.mean();
    stddev_ = window_.stddev();
    if (stddev_ == 0.0) stddev_ = 0.000001;  // as the original, so a flat window does not divide by zero
    return result;
}

std::span<const config::SettingRow> WindowedGaussianDetector::options() { return windowed_gaussian_options; }

std::unique_ptr<AnomalyDetector> WindowedGaussianDetector::make(const config::Settings& params) {
    return std::make_unique<WindowedGaussianDetector>(static_cast<std::size_t>(params.number("window_size")));
}

nlohmann::json WindowedGaussianDetector::save_state() const {
    return {{"window", window_.save_state()}, {"mean", detector_state::from_double(mean_)},
            {"stddev", detector_state::from_double(stddev_)}};
}

void WindowedGaussianDetector::restore_state(const nlohmann::json& state) {
    window_.restore_state(state.at("window"));
    mean_ = detector_state::to_double(state.at("mean"));
    stddev_ = detector_state::to_double(state.at("stddev"));
}

}  // namespace mw::anomaly
