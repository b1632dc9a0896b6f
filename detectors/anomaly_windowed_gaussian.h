// NAB's "windowed Gaussian" baseline (numenta/NAB,
// nab/detectors/gaussian/windowedGaussian_detector.py), reproduced as
// published so that our NAB scorer can be checked against its published
// score (39.6 on the full corpus). It is a reference, not a production
// method: like the original (see NAB's results/windowedGaussian/*.csv) its
// score is the normal CDF P(X < x) of a normal fitted to the last 1000
// values, so only high values score near 1 and drops are never anomalies.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "detectors/anomaly_detector.h"
#include "detectors/anomaly_registry.h"
#include "detectors/anomaly_rolling_window.h"

namespace mw::anomaly {

class WindowedGaussianDetector final : public AnomalyDetector {
public:
    explicit WindowedGaussianDetector(std::size_t window_size);
    double score(double timestamp_s, double value) override;
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

    static std::span<const config::SettingRow> options();
    static std::unique_ptr<AnomalyDetector> make(const config::Settings& params);

private:
    RollingWindow window_;
    double mean_ = 0;
    double stddev_ = 1;
};

}  // namespace mw::anomaly
