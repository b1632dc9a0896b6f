#include "detectors/anomaly_rolling_window.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "detectors/detector_state.h"

namespace mw::anomaly {

namespace {

// The median of `values`, reordering them (std::nth_element, O(n)).
double median_in_place(std::vector<double>& values) {
    const std::size_t middle = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle), values.end());
    const double upper = values[middle];
    if (values.size() % 2 == 1) return upper;
    const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle));
    return 0.5 * (lower + upper);
}

}  // namespace

RollingWindow::RollingWindow(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
    values_.reserve(capacity_);
}

void RollingWindow::push(double value) {
    if (values_.size() < capacity_) {
        values_.push_back(value);
    } else {
        values_[next_] = value;
        next_ = (next_ + 1) % capacity_;
    }
}

double RollingWindow::mean() const {
    // Summed afresh on each call: running sums drift over long streams.
    if (values_.empty()) return 0.0;
    double sum = 0;
    for (double v : values_) sum += v;
    return sum / static_cast<double>(values_.size());
}

double RollingWindow::stddev() const {
    if (values_.empty()) return 0.0;
    // Two passes: the one-pass sum of squares loses all precision on large,
    // nearly constant values.
    const double centre = mean();
    double squares = 0;
    for (double v : values_) squares += (v - centre) * (v - centre);
    return std::sqrt(squares / static_cast<double>(values_.size()));
}

double RollingWindow::median() const {
    if (values_.empty()) return 0.0;
    scratch_ = values_;
    return median_in_place(scratch_);
}

double RollingWindow::robust_scale() const {
    if (values_.size() < 2) return 0.0;
    const double centre = median();  // leaves a copy of the values in scratch_, reused below
    double absolute_sum = 0;
    for (double& v : scratch_) {
        v = std::fabs(v - centre);
        absolute_sum += v;
    }
    const double mad = median_in_place(scratch_);
    // 1 / Phi^-1(3/4), as scipy.stats.median_abs_deviation(scale="normal").
    if (mad > 0) return 1.482602218505602 * mad;
    // sqrt(pi / 2): E|X - mu| = sigma sqrt(2 / pi) for a normal X.
    return 1.2533141373155001 * absolute_sum / static_cast<double>(scratch_.size());
}

nlohmann::json RollingWindow::save_state() const {
    return {{"values", detector_state::from_doubles(values_)}, {"next", next_}};
}

void RollingWindow::restore_state(const nlohmann::json& state) {
    auto values = detector_state::to_doubles(state.at("values"));
    const auto next = state.at("next").get<std::size_t>();
    if (values.size() > capacity_ || next >= capacity_)
        throw std::invalid_argument("a rolling window's state larger than its capacity");
    values_ = std::move(values);
    values_.reserve(capacity_);
    next_ = next;
}

}  // namespace mw::anomaly
