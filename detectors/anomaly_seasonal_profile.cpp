#include "detectors/anomaly_seasonal_profile.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "detectors/detector_state.h"

namespace mw::anomaly {

SeasonalProfile::SeasonalProfile(double period_s, double slot_s, std::size_t occurrences,
                                 std::size_t min_occurrences)
    : period_s_(period_s),
      slot_s_(slot_s),
      occurrences_(std::max<std::size_t>(occurrences, 1)),
      min_occurrences_(std::clamp<std::size_t>(min_occurrences, 1, occurrences_)),
      slots_(static_cast<std::size_t>(std::ceil(period_s / slot_s))) {}

std::size_t SeasonalProfile::slot_index(double timestamp_s) const {
    const double phase_s = timestamp_s - period_s_ * std::floor(timestamp_s / period_s_);
    return std::min(static_cast<std::size_t>(phase_s / slot_s_), slots_.size() - 1);
}

std::optional<double> SeasonalProfile::slot_expected(std::size_t index) const {
    const Slot& slot = slots_[index];
    if (slot.means.size() < min_occurrences_) return std::nullopt;
    std::vector<double> sorted = slot.means;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t middle = sorted.size() / 2;
    return sorted.size() % 2 == 1 ? sorted[middle] : 0.5 * (sorted[middle - 1] + sorted[middle]);
}

std::optional<double> SeasonalProfile::expected(double timestamp_s) const {
    const std::size_t index = slot_index(timestamp_s);
    const std::optional<double> own = slot_expected(index);
    if (!own) return std::nullopt;
    // Offset from the slot's centre in slots, in [-0.5, 0.5): interpolate
    // towards the neighbour on that side.
    const double phase_s = timestamp_s - period_s_ * std::floor(timestamp_s / period_s_);
    const double offset = phase_s / slot_s_ - static_cast<double>(index) - 0.5;
    const std::size_t count = slots_.size();
    const std::size_t neighbour = offset >= 0 ? (index + 1) % count : (index + count - 1) % count;
    const std::optional<double> other = slot_expected(neighbour);
    if (!other) return own;
    const double weight = std::fabs(offset);
    return (1 - weight) * *own + weight * *other;
}

void SeasonalProfile::update(double timestamp_s, double value) {
    Slot& slot = slots_[slot_index(timestamp_s)];
    const auto occurrence = static_cast<std::int64_t>(std::floor(timestamp_s / slot_s_));
    if (occurrence != slot.occurrence) {
        if (slot.count > 0) {
            const double mean = slot.sum / static_cast<double>(slot.count);
            if (slot.means.size() < occurrences_) {
                slot.means.push_back(mean);
            } else {
                slot.means[slot.next] = mean;
                slot.next = (slot.next + 1) % occurrences_;
            }
        }
        slot.occurrence = occurrence;
        slot.sum = 0;
        slot.count = 0;
    }
    slot.sum += value;
    ++slot.count;
}

nlohmann::json SeasonalProfile::save_state() const {
    auto slots = nlohmann::json::array();
    for (const Slot& slot : slots_)
        slots.push_back({slot.occurrence, detector_state::from_double(slot.sum), slot.count,
                         detector_state::from_doubles(slot.means), slot.next});
    return {{"slots", std::move(slots)}};
}

void SeasonalProfile::restore_state(const nlohmann::json& state) {
    const auto& saved = state.at("slots");
    if (!saved.is_array() || saved.size() != slots_.size())
        throw std::invalid_argument("a seasonal profile's state with another number of slots");
    std::vector<Slot> slots(slots_.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        const auto& item = saved.at(i);
        slots[i].occurrence = item.at(0).get<std::int64_t>();
        slots[i].sum = detector_state::to_double(item.at(1));
        slots[i].count = item.at(2).get<std::size_t>();
        slots[i].means = detector_state::to_doubles(item.at(3));
        slots[i].next = item.at(4).get<std::size_t>();
        if (slots[i].means.size() > occurrences_ || (!slots[i].means.empty() && slots[i].next >= slots[i].means.size()))
            throw std::invalid_argument("a seasonal profile slot with more occurrences than its options allow");
    }
    slots_ = std::move(slots);
}

}  // namespace mw::anomaly
