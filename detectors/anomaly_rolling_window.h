// The last N values of a stream with robust location and scale, the building
// block of the anomaly detectors' baselines and residual distributions.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mw::anomaly {

class RollingWindow {
public:
    explicit RollingWindow(std::size_t capacity);

    void push(double value);
    std::size_t size() const { return values_.size(); }
    bool full() const { return values_.size() == capacity_; }

    double mean() const;
    // Population standard deviation (numpy.std with ddof=0).
    double stddev() const;
    double median() const;
    // A robust estimate of the standard deviation: 1.4826 times the median
    // absolute deviation (consistent for the normal distribution; Rousseeuw
    // and Croux 1993; scipy.stats.median_abs_deviation(x, scale="normal")).
    // When more than half the values equal the median (a quantised or flat
    // series) the MAD is 0, so it falls back to sqrt(pi / 2) times the mean
    // absolute deviation from the median (also consistent for the normal),
    // which is 0 only for a constant window.
    double robust_scale() const;

    // The values in ring order with the ring's position (detectors/detector_state.h).
    nlohmann::json save_state() const;
    // Throws std::invalid_argument when `state` holds more values than the capacity.
    void restore_state(const nlohmann::json& state);

private:
    std::size_t capacity_;
    std::size_t next_ = 0;  // slot the next value overwrites once full
    std::vector<double> values_;
    mutable std::vector<double> scratch_;
};

}  // namespace mw::anomaly
