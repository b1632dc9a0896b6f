// Synthetic series for the anomaly detector tests: a fixed-seed generator
// whose normal draws do not depend on the standard library's distributions
// (std::normal_distribution differs between implementations).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include "detectors/anomaly_detector.h"

namespace mw::anomaly::test {

class Noise {
public:
    explicit Noise(std::uint64_t seed) : engine_(seed) {}

    double uniform() { return (static_cast<double>(engine_() >> 11) + 0.5) / 9007199254740992.0; }

    // Box-Muller transform.
    double normal() { return std::sqrt(-2 * std::log(uniform())) * std::cos(2 * std::numbers::pi * uniform()); }

private:
    std::mt19937_64 engine_;
};

struct Point {
    double timestamp_s;
    double value;
};

// A start time on a day boundary (2024-01-01 00:00:00 UTC).
constexpr double start_s = 1704067200;

inline std::vector<double> score_all(AnomalyDetector& detector, const std::vector<Point>& series) {
    std::vector<double> scores;
    scores.reserve(series.size());
    for (const Point& point : series) scores.push_back(detector.score(point.timestamp_s, point.value));
    return scores;
}

// The largest of scores[from, to).
inline double max_score_in(const std::vector<double>& scores, std::size_t from, std::size_t to) {
    double largest = 0;
    for (std::size_t i = from; i < to; ++i) largest = std::max(largest, scores[i]);
    return largest;
}

}  // namespace mw::anomaly::test
