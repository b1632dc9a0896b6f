// A seasonal baseline: the expected value of a series at a phase of a period
// (time of day, time of week), learnt from the series' own past.
//
// The period is cut into slots (e.g. 48 half hours of a day). Each occurrence
// of a slot (a given half hour of a given day) is summarised by the mean of
// the points that fell into it; the slot's expectation is the median of its
// last few occurrence means, so one abnormal day does not move it, and the
// expectation between slot centres is interpolated linearly. Works for any
// sampling interval, regular or not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mw::anomaly {

class SeasonalProfile {
public:
    // `occurrences`: how many past occurrences of a slot its median covers;
    // the slot is usable once it has `min_occurrences` complete ones.
    SeasonalProfile(double period_s, double slot_s, std::size_t occurrences, std::size_t min_occurrences);

    // The expected value at `timestamp_s`, or nothing while the slots around it are still learning.
    std::optional<double> expected(double timestamp_s) const;
    void update(double timestamp_s, double value);

    // Every slot's sums and ring (detectors/detector_state.h); restore_state
    // throws std::invalid_argument when `state` has another number of slots.
    nlohmann::json save_state() const;
    void restore_state(const nlohmann::json& state);

private:
    struct Slot {
        std::int64_t occurrence = -1;  // absolute slot number of the occurrence being summed
        double sum = 0;
        std::size_t count = 0;
        std::vector<double> means;  // ring of the last complete occurrences' means
        std::size_t next = 0;
    };

    std::size_t slot_index(double timestamp_s) const;
    std::optional<double> slot_expected(std::size_t index) const;

    double period_s_;
    double slot_s_;
    std::size_t occurrences_;
    std::size_t min_occurrences_;
    std::vector<Slot> slots_;
};

}  // namespace mw::anomaly
