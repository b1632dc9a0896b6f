// The ensemble of the robust and contextual detectors: each point's score is
// the larger of the two. Both scores are Numenta's anomaly likelihood on the
// log scale (detectors/anomaly_likelihood.h: 0.5 means an upper tail of
// 1e-5 for that series), so they are on one scale and the larger one is the
// stronger evidence. The two look for different things: the robust detector
// for values far from the best of its baselines (level, previous value,
// daily and weekly profile), the contextual one for moves the series has
// never made from where it is (a break of its shape); on NAB's realKnownCause
// series the contextual detector catches both ambient_temperature windows,
// which the robust detector misses. Taking the maximum is how NAB's leaders
// combine detectors too (ARTime and HTM report one likelihood; "max of
// calibrated scores" is the plain ensemble of Aggarwal, "Outlier Ensembles",
// ACM SIGKDD Explorations 14(2), 2012, section 4).
// Each member runs with its own defaults; tune them by running them alone.
#pragma once

#include <memory>
#include <span>

#include "detectors/anomaly_contextual.h"
#include "detectors/anomaly_detector.h"
#include "detectors/anomaly_registry.h"
#include "detectors/anomaly_robust.h"

namespace mw::anomaly {

class EnsembleDetector final : public AnomalyDetector {
public:
    EnsembleDetector(std::unique_ptr<AnomalyDetector> robust, std::unique_ptr<AnomalyDetector> contextual);
    double score(double timestamp_s, double value) override;
    // Both members' states.
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

    static std::span<const config::SettingRow> options();
    static std::unique_ptr<AnomalyDetector> make(const config::Settings& params);

private:
    std::unique_ptr<AnomalyDetector> robust_;
    std::unique_ptr<AnomalyDetector> contextual_;
};

}  // namespace mw::anomaly
