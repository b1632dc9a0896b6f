#include "detectors/anomaly_contextual.h"

#include <algorithm>
#include <cmath>

namespace mw::anomaly {

namespace {

// Levels are packed 8 bits each with the order on top: the 3 * levels
// possible levels fit in 8 bits for at most 80 levels, and 6 levels of
// context, the next one and the order in 64 bits.
constexpr std::int64_t max_levels = 80;
constexpr std::int64_t max_context_length = 6;

const config::SettingRow contextual_options[] = {
    {.key = "levels", .kind = config::ValueKind::integer, .default_text = "8", .min = 2, .max = max_levels,
     .help = "value levels across the calibrated range (CAD OSE: 8)"},
    {.key = "context_length", .kind = config::ValueKind::integer, .default_text = "3", .min = 1,
     .max = max_context_length, .help = "longest context, in past levels"},
    {.key = "calibration_points", .kind = config::ValueKind::integer, .default_text = "150", .min = 10,
     .max = 1'000'000, .help = "first values whose range fixes the level width"},
    {.key = "short_window", .kind = config::ValueKind::integer, .default_text = "10", .min = 1, .max = 10'000,
     .help = "points averaged into the short-term novelty (nupic: 10)"},
    {.key = "likelihood_window", .kind = config::ValueKind::integer, .default_text = "2000", .min = 10,
     .max = 1'000'000, .help = "short-term averages the current one is tested against"},
    {.key = "min_likelihood_history", .kind = config::ValueKind::integer, .default_text = "100", .min = 2,
     .max = 1'000'000, .help = "averages needed before the score leaves 0 (warm-up)"},
};

std::uint64_t pack_transition(std::size_t order, const std::deque<int>& history, int next, int level_offset) {
    std::uint64_t key = order;
    for (std::size_t i = history.size() - order; i < history.size(); ++i)
        key = (key << 8) | static_cast<std::uint64_t>(history[i] + level_offset);
    return (key << 8) | static_cast<std::uint64_t>(next + level_offset);
}

}  // namespace

ContextualDetector::ContextualDetector(const ContextualDetectorOptions& options)
    : options_(options), likelihood_(options.likelihood) {}

std::optional<int> ContextualDetector::level_of(double value) {
    if (width_ == 0) {
        minimum_ = calibrated_ == 0 ? value : std::min(minimum_, value);
        maximum_ = calibrated_ == 0 ? value : std::max(maximum_, value);
        ++calibrated_;
        // A series flat over the whole calibration stretch stays in calibration until it moves.
        if (calibrated_ < options_.calibration_points || maximum_ == minimum_) return std::nullopt;
        width_ = (maximum_ - minimum_) / static_cast<double>(options_.levels);
        return std::nullopt;
    }
    const auto levels = static_cast<double>(options_.levels);
    const double level = std::floor((value - minimum_) / width_);
    return static_cast<int>(std::clamp(level, -levels, 2 * levels - 1));
}

double ContextualDetector::raw_novelty(int level) {
    const int level_offset = static_cast<int>(options_.levels);
    const std::size_t orders = std::min(options_.context_length, history_.size());
    std::size_t new_transitions = 0;
    for (std::size_t order = 1; order <= orders; ++order)
        if (transitions_seen_.insert(pack_transition(order, history_, level, level_offset)).second) ++new_transitions;
    history_.push_back(level);
    if (history_.size() > options_.context_length) history_.pop_front();
    return orders == 0 ? 0.0 : static_cast<double>(new_transitions) / static_cast<double>(orders);
}

double ContextualDetector::score(double, double value) {
    if (!std::isfinite(value)) return 0.0;
    const std::optional<int> level = level_of(value);
    if (!level) return 0.0;
    const bool warm = history_.size() == options_.context_length;
    const double raw = raw_novelty(*level);
    // Until a full context exists every transition is new; the likelihood
    // would learn that as normal.
    return warm ? likelihood_.score(raw) : 0.0;
}

std::span<const config::SettingRow> ContextualDetector::options() { return contextual_options; }

std::unique_ptr<AnomalyDetector> ContextualDetector::make(const config::Settings& params) {
    ContextualDetectorOptions options;
    options.levels = static_cast<std::size_t>(params.number("levels"));
    options.context_length = static_cast<std::size_t>(params.number("context_length"));
    options.calibration_points = static_cast<std::size_t>(params.number("calibration_points"));
    options.likelihood.short_window = static_cast<std::size_t>(params.number("short_window"));
    options.likelihood.likelihood_window = static_cast<std::size_t>(params.number("likelihood_window"));
    options.likelihood.min_history = static_cast<std::size_t>(params.number("min_likelihood_history"));
    return std::make_unique<ContextualDetector>(options);
}

}  // namespace mw::anomaly
