#include "detectors/anomaly_likelihood.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "detectors/detector_state.h"

namespace mw::anomaly {

namespace {

// nupic anomaly_likelihood.py: estimateNormal's lower bounds, and the red
// zone of _filterLikelihoods (likelihood above 0.99999) and the value that
// replaces a repeated red (the yellow zone, 0.999).
constexpr double min_average_mean = 0.03;
constexpr double min_average_variance = 0.0003;
constexpr double red_zone_tail = 1e-5;
constexpr double yellow_zone_tail = 1e-3;
// computeLogLikelihood: log(1.0000000001 - likelihood) / log(1e-10).
constexpr double log_score_epsilon = 1e-10;

void push_likelihood_ring(std::vector<double>& ring, std::size_t& next, std::size_t capacity, double value) {
    if (ring.size() < capacity) {
        ring.push_back(value);
    } else {
        ring[next] = value;
        next = (next + 1) % capacity;
    }
}

}  // namespace

AnomalyLikelihood::AnomalyLikelihood(const AnomalyLikelihoodOptions& options) : options_(options) {}

double AnomalyLikelihood::score(double raw) {
    push_likelihood_ring(recent_raw_, recent_raw_next_, options_.short_window, raw);
    double recent_sum = 0;
    for (double r : recent_raw_) recent_sum += r;
    const double average = recent_sum / static_cast<double>(recent_raw_.size());

    double result = 0;
    if (averages_.size() >= options_.min_history) {
        const auto n = static_cast<double>(averages_.size());
        const double mean = std::max(averages_sum_ / n, min_average_mean);
        const double variance = std::max(averages_sum_squares_ / n - (averages_sum_ / n) * (averages_sum_ / n),
                                         min_average_variance);
        const double tail = 0.5 * std::erfc((average - mean) / std::sqrt(2.0 * variance));
        const bool in_red_zone = tail <= red_zone_tail;
        const double reported_tail = in_red_zone && previous_in_red_zone_ ? yellow_zone_tail : tail;
        previous_in_red_zone_ = in_red_zone;
        result = std::clamp(std::log(reported_tail + log_score_epsilon) / std::log(log_score_epsilon), 0.0, 1.0);
    }

    if (averages_.size() == options_.likelihood_window) {
        const double old = averages_[averages_next_];
        averages_sum_ -= old;
        averages_sum_squares_ -= old * old;
    }
    push_likelihood_ring(averages_, averages_next_, options_.likelihood_window, average);
    averages_sum_ += average;
    averages_sum_squares_ += average * average;
    return result;
}

nlohmann::json AnomalyLikelihood::save_state() const {
    return {{"recent_raw", detector_state::from_doubles(recent_raw_)},
            {"recent_raw_next", recent_raw_next_},
            {"averages", detector_state::from_doubles(averages_)},
            {"averages_next", averages_next_},
            {"averages_sum", detector_state::from_double(averages_sum_)},
            {"averages_sum_squares", detector_state::from_double(averages_sum_squares_)},
            {"previous_in_red_zone", previous_in_red_zone_}};
}

void AnomalyLikelihood::restore_state(const nlohmann::json& state) {
    auto recent_raw = detector_state::to_doubles(state.at("recent_raw"));
    auto averages = detector_state::to_doubles(state.at("averages"));
    if (recent_raw.size() > options_.short_window || averages.size() > options_.likelihood_window)
        throw std::invalid_argument("an anomaly likelihood state longer than its windows");
    const auto recent_raw_next = state.at("recent_raw_next").get<std::size_t>();
    const auto averages_next = state.at("averages_next").get<std::size_t>();
    // A ring's next slot is 0 until the ring is full (push_likelihood_ring); any other would write past it.
    const auto valid_next = [](std::size_t next, std::size_t size, std::size_t capacity) {
        return size < capacity ? next == 0 : next < capacity;
    };
    if (!valid_next(recent_raw_next, recent_raw.size(), options_.short_window) ||
        !valid_next(averages_next, averages.size(), options_.likelihood_window))
        throw std::invalid_argument("an anomaly likelihood state whose ring position is outside its ring");
    recent_raw_ = std::move(recent_raw);
    recent_raw_next_ = recent_raw_next;
    averages_ = std::move(averages);
    averages_next_ = averages_next;
    averages_sum_ = detector_state::to_double(state.at("averages_sum"));
    averages_sum_squares_ = detector_state::to_double(state.at("averages_sum_squares"));
    previous_in_red_zone_ = state.at("previous_in_red_zone").get<bool>();
}

}  // namespace mw::anomaly
