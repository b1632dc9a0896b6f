#include "detectors/anomaly_contextual.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/detector_state.h"

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

// The transitions are saved sorted, as the first key and then the
// difference from the one before: keys of one order and context differ in
// their low bytes only, so the differences are short numbers and a
// checkpoint written at every window close stays a few digits per
// transition instead of up to 20.
nlohmann::json ContextualDetector::save_state() const {
    std::vector<std::uint64_t> keys(transitions_seen_.begin(), transitions_seen_.end());
    std::sort(keys.begin(), keys.end());
    auto transitions = nlohmann::json::array();
    std::uint64_t before = 0;
    for (const std::uint64_t key : keys) {
        transitions.push_back(key - before);
        before = key;
    }
    return {{"calibrated", calibrated_},
            {"minimum", detector_state::from_double(minimum_)},
            {"maximum", detector_state::from_double(maximum_)},
            {"width", detector_state::from_double(width_)},
            {"history", history_},
            {"transitions", std::move(transitions)},
            {"likelihood", likelihood_.save_state()}};
}

void ContextualDetector::restore_state(const nlohmann::json& state) {
    const double width = detector_state::to_double(state.at("width"));
    if (!std::isfinite(width) || width < 0)
        throw std::invalid_argument("a contextual detector's state with a level width that is not finite and >= 0");
    const auto levels = static_cast<int>(options_.levels);
    std::deque<int> history;
    for (const auto& level : state.at("history")) {
        const int value = level.get<int>();
        if (value < -levels || value > 2 * levels - 1)
            throw std::invalid_argument("a contextual detector's state with a level outside this detector's levels");
        history.push_back(value);
    }
    if (history.size() > options_.context_length)
        throw std::invalid_argument("a contextual detector's state with a longer context than this detector's");
    const auto& transitions = state.at("transitions");
    if (!transitions.is_array()) throw std::invalid_argument("a contextual detector's transitions are not an array");
    std::unordered_set<std::uint64_t> seen;
    seen.reserve(transitions.size());
    std::uint64_t key = 0;
    for (const auto& difference : transitions) {
        key += difference.get<std::uint64_t>();
        // A key of order o is o on top of o + 1 levels (pack_transition).
        bool packed = false;
        for (std::size_t order = 1; order <= options_.context_length && !packed; ++order)
            packed = (key >> (8 * (order + 1))) == order;
        if (!packed) throw std::invalid_argument("a contextual detector's transition of another context length");
        seen.insert(key);
    }
    likelihood_.restore_state(state.at("likelihood"));
    calibrated_ = state.at("calibrated").get<std::size_t>();
    minimum_ = detector_state::to_double(state.at("minimum"));
    maximum_ = detector_state::to_double(state.at("maximum"));
    width_ = width;
    history_ = std::move(history);
    transitions_seen_ = std::move(seen);
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
