#include "detectors/anomaly_robust.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "detectors/detector_state.h"

namespace mw::anomaly {

namespace {

constexpr double seconds_per_day = 86400;
constexpr double seconds_per_week = 7 * seconds_per_day;

const config::SettingRow robust_options[] = {
    {.key = "level_window", .kind = config::ValueKind::integer, .default_text = "100", .min = 3, .max = 1'000'000,
     .help = "points whose median is the level baseline"},
    {.key = "residual_window", .kind = config::ValueKind::integer, .default_text = "250", .min = 10, .max = 1'000'000,
     .help = "residuals per baseline for its location and robust scale"},
    {.key = "min_residuals", .kind = config::ValueKind::integer, .default_text = "30", .min = 5, .max = 1'000'000,
     .help = "residuals a baseline needs before it is used (warm-up)"},
    {.key = "raw_decades", .kind = config::ValueKind::number, .default_text = "10", .min_number = 1,
     .max_number = 300, .help = "raw surprise = (-log10(two-sided normal tail of z) - raw_offset) / raw_decades"},
    {.key = "raw_offset", .kind = config::ValueKind::number, .default_text = "2", .min_number = 0,
     .max_number = 300, .help = "decades of surprise ignored as noise (2 ignores |z| < 2.58)"},
    {.key = "raw_cap", .kind = config::ValueKind::number, .default_text = "3", .min_number = 0.1,
     .max_number = 100, .help = "largest raw surprise (3: reached at -log10 p = 32, |z| = 11.9)"},
    {.key = "short_window", .kind = config::ValueKind::integer, .default_text = "10", .min = 1, .max = 10'000,
     .help = "points averaged into the short-term surprise (nupic: 10)"},
    {.key = "likelihood_window", .kind = config::ValueKind::integer, .default_text = "2000", .min = 10, .max = 1'000'000,
     .help = "short-term averages whose normal the current one is tested against"},
    {.key = "min_likelihood_history", .kind = config::ValueKind::integer, .default_text = "100", .min = 2, .max = 1'000'000,
     .help = "averages needed before the score leaves 0 (warm-up)"},
    {.key = "daily_slot_s", .kind = config::ValueKind::number, .default_text = "1800", .min_number = 60,
     .max_number = seconds_per_day, .help = "slot width of the time-of-day profile"},
    {.key = "weekly_slot_s", .kind = config::ValueKind::number, .default_text = "3600", .min_number = 60,
     .max_number = seconds_per_week, .help = "slot width of the time-of-week profile"},
    {.key = "seasonal_occurrences", .kind = config::ValueKind::integer, .default_text = "5", .min = 1, .max = 1000,
     .help = "past occurrences of a slot whose median is its expectation"},
    {.key = "seasonal_min_occurrences", .kind = config::ValueKind::integer, .default_text = "2", .min = 1, .max = 1000,
     .help = "occurrences a slot needs before the profile predicts"},
};

// Two-sided standard normal tail P(|Z| >= |z|).
double two_sided_normal_tail(double z) { return std::erfc(std::fabs(z) / std::sqrt(2.0)); }

}  // namespace

RobustDetector::RobustDetector(const RobustDetectorOptions& options)
    : options_(options),
      level_values_(options.level_window),
      daily_(seconds_per_day, options.daily_slot_s, options.seasonal_occurrences, options.seasonal_min_occurrences),
      weekly_(seconds_per_week, options.weekly_slot_s, options.seasonal_occurrences,
              options.seasonal_min_occurrences),
      likelihood_({options.short_window, options.likelihood_window, options.min_likelihood_history}) {
    baselines_.assign(baseline_count,
                      Baseline{RollingWindow(options.residual_window), std::nullopt, std::nullopt});
}

double RobustDetector::standardised_residual(const Baseline& baseline, double value) const {
    // A scale of 0 (a constant past) would make any rounding error infinitely
    // surprising; a relative floor keeps z finite and leaves real changes huge.
    const double floor = 1e-9 * std::max(1.0, std::fabs(*baseline.prediction));
    return (value - *baseline.prediction - baseline.residuals.median()) / std::max(*baseline.scale, floor);
}

double RobustDetector::surprise_decades(double z) {
    const double tail = two_sided_normal_tail(z);
    return tail > 0 ? -std::log10(tail) : std::numeric_limits<double>::infinity();
}

std::optional<double> RobustDetector::raw_surprise(double value) const {
    const Baseline* best = nullptr;
    for (const Baseline& baseline : baselines_)
        if (baseline.scale && (best == nullptr || *baseline.scale < *best->scale)) best = &baseline;
    if (best == nullptr) return std::nullopt;
    const double decades = surprise_decades(standardised_residual(*best, value));
    return std::clamp((decades - options_.raw_offset) / options_.raw_decades, 0.0, options_.raw_cap);
}

double RobustDetector::score(double timestamp_s, double value) {
    if (!std::isfinite(timestamp_s) || !std::isfinite(value)) return 0.0;
    baselines_[level].prediction = level_values_.size() > 0 ? std::optional(level_values_.median()) : std::nullopt;
    baselines_[previous].prediction = previous_value_;
    baselines_[daily].prediction = daily_.expected(timestamp_s);
    baselines_[weekly].prediction = weekly_.expected(timestamp_s);
    for (Baseline& baseline : baselines_) {
        const bool ready = baseline.prediction && baseline.residuals.size() >= options_.min_residuals;
        baseline.scale = ready ? std::optional(baseline.residuals.robust_scale()) : std::nullopt;
    }

    const std::optional<double> raw = raw_surprise(value);
    // The outlier hold-out of the previous-value baseline (see the header).
    const Baseline& previous_baseline = baselines_[previous];
    previous_held_ = !previous_held_ && previous_baseline.scale &&
                     surprise_decades(standardised_residual(previous_baseline, value)) > options_.raw_offset;

    for (Baseline& baseline : baselines_)
        if (baseline.prediction) baseline.residuals.push(value - *baseline.prediction);
    level_values_.push(value);
    if (!previous_held_) previous_value_ = value;
    daily_.update(timestamp_s, value);
    weekly_.update(timestamp_s, value);

    return raw ? likelihood_.score(*raw) : 0.0;
}

std::span<const config::SettingRow> RobustDetector::options() { return robust_options; }

std::string RobustDetector::check(const config::Settings& params) {
    if (params.number("min_residuals") > params.number("residual_window"))
        return "min_residuals must not exceed residual_window (no baseline would ever be ready)";
    if (params.number("min_likelihood_history") > params.number("likelihood_window"))
        return "min_likelihood_history must not exceed likelihood_window (the score would stay 0)";
    if (std::fmod(seconds_per_day, params.number("daily_slot_s")) != 0)
        return "daily_slot_s must divide a day (86400 s) into whole slots";
    if (std::fmod(seconds_per_week, params.number("weekly_slot_s")) != 0)
        return "weekly_slot_s must divide a week (604800 s) into whole slots";
    if (params.number("seasonal_min_occurrences") > params.number("seasonal_occurrences"))
        return "seasonal_min_occurrences must not exceed seasonal_occurrences (the profiles would never predict)";
    return {};
}

std::unique_ptr<AnomalyDetector> RobustDetector::make(const config::Settings& params) {
    RobustDetectorOptions options;
    options.level_window = static_cast<std::size_t>(params.number("level_window"));
    options.residual_window = static_cast<std::size_t>(params.number("residual_window"));
    options.min_residuals = static_cast<std::size_t>(params.number("min_residuals"));
    options.raw_decades = params.number("raw_decades");
    options.raw_offset = params.number("raw_offset");
    options.raw_cap = params.number("raw_cap");
    options.short_window = static_cast<std::size_t>(params.number("short_window"));
    options.likelihood_window = static_cast<std::size_t>(params.number("likelihood_window"));
    options.min_likelihood_history = static_cast<std::size_t>(params.number("min_likelihood_history"));
    options.daily_slot_s = params.number("daily_slot_s");
    options.weekly_slot_s = params.number("weekly_slot_s");
    options.seasonal_occurrences = static_cast<std::size_t>(params.number("seasonal_occurrences"));
    options.seasonal_min_occurrences = static_cast<std::size_t>(params.number("seasonal_min_occurrences"));
    return std::make_unique<RobustDetector>(options);
}

// The baselines' prediction and scale are set afresh at the start of every
// score(), so they are not state.
nlohmann::json RobustDetector::save_state() const {
    auto residuals = nlohmann::json::array();
    for (const Baseline& baseline : baselines_) residuals.push_back(baseline.residuals.save_state());
    return {{"level_values", level_values_.save_state()},
            {"previous_value", previous_value_ ? detector_state::from_double(*previous_value_) : nlohmann::json()},
            {"previous_held", previous_held_},
            {"daily", daily_.save_state()},
            {"weekly", weekly_.save_state()},
            {"residuals", std::move(residuals)},
            {"likelihood", likelihood_.save_state()}};
}

void RobustDetector::restore_state(const nlohmann::json& state) {
    const auto& residuals = state.at("residuals");
    if (!residuals.is_array() || residuals.size() != baselines_.size())
        throw std::invalid_argument("a robust detector's state with another number of baselines");
    level_values_.restore_state(state.at("level_values"));
    for (std::size_t i = 0; i < baselines_.size(); ++i) baselines_[i].residuals.restore_state(residuals.at(i));
    const auto& previous_value = state.at("previous_value");
    previous_value_ = previous_value.is_null() ? std::nullopt : std::optional(detector_state::to_double(previous_value));
    previous_held_ = state.at("previous_held").get<bool>();
    daily_.restore_state(state.at("daily"));
    weekly_.restore_state(state.at("weekly"));
    likelihood_.restore_state(state.at("likelihood"));
}

}  // namespace mw::anomaly
