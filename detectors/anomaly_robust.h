// The default anomaly detector: robust residuals of the best-fitting of four
// simple baselines, turned into a score by Numenta's anomaly likelihood.
//
// Baselines, each predicting the next value from the past only:
//   level    the median of the last `level_window` values;
//   previous the previous value (a random walk: residuals are first differences),
//            except that a point this baseline finds surprising is held out
//            of it for one point (see below);
//   daily    the seasonal profile of the time of day (SeasonalProfile);
//   weekly   the seasonal profile of the time of week.
// Each baseline keeps its last `residual_window` residuals; the one whose
// residuals have the smallest robust scale (1.4826 MAD) is the model of the
// series at that moment. On a seasonal series that is a seasonal profile, so
// the daily swing is expected and alone never raises the score; on a random
// walk it is the previous value; on stationary noise the level.
//
// An isolated spike makes two large first differences, out and back, so the
// previous-value baseline would be as surprised by the return to normal as
// by the spike, and the return would raise a second alert. As a Hampel
// filter rejects an outlier before it enters a running estimate (Pearson,
// Neuvo, Astola, Gabbouj, "Generalized Hampel filters", EURASIP J. Adv.
// Signal Process. 2016), a point whose first difference is surprising (more
// than `raw_offset` decades, the line the raw surprise below draws between
// noise and surprise) does not become the previous value: the next point is
// compared with the value before it. At most one point in a row is held out,
// so after a level shift the baseline follows from the second point on; the
// shift then surprises on two points, which is more evidence for the
// likelihood below (on a square wave, every edge does).
//
// The chosen baseline's residual r gives z = (r - median) / scale and a raw
// surprise: (-log10 of the two-sided normal tail of z, less `raw_offset`) /
// `raw_decades`, clamped to [0, `raw_cap`]. With the defaults (2, 10, 3)
// |z| below 2.58 is no surprise at all, |z| = 7.13 is a surprise of 1 and
// |z| = 11.9 or more the largest, 3. Ignoring ordinary noise keeps a run of
// moderately unusual points on a smooth cycle from adding up to an alarm;
// the cap above 1 (Numenta's raw scores stop at 1) lets one huge spike
// carry the short-term mean below on its own. Real residuals are rarely
// normal, and some series are surprising on schedule (a square wave's
// edges), so the raw surprise is not yet the score: Numenta's anomaly
// likelihood (detectors/anomaly_likelihood.h) turns it into one, over the
// last `short_window` raw values against `likelihood_window` averages.
//
// The defaults were chosen by measuring on the 25 NAB series of
// ../shared/data/nab (bench/nab/run.sh), before the outlier hold-out was
// added; the figures that count are the held-out ones of
// `bench/nab/run.sh BUILD robust --folds categories` (bench/RESULTS.md),
// which choose the threshold (and a setting of a small grid) on the other
// NAB categories than the one they score; the design itself has seen all 25.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "detectors/anomaly_detector.h"
#include "detectors/anomaly_likelihood.h"
#include "detectors/anomaly_registry.h"
#include "detectors/anomaly_rolling_window.h"
#include "detectors/anomaly_seasonal_profile.h"

namespace mw::anomaly {

struct RobustDetectorOptions {
    std::size_t level_window = 0;
    std::size_t residual_window = 0;
    std::size_t min_residuals = 0;  // a baseline is used once it has this many residuals
    double raw_decades = 0;
    double raw_offset = 0;
    double raw_cap = 0;
    std::size_t short_window = 0;
    std::size_t likelihood_window = 0;
    std::size_t min_likelihood_history = 0;  // averages needed before the score leaves 0
    double daily_slot_s = 0;
    double weekly_slot_s = 0;
    std::size_t seasonal_occurrences = 0;
    std::size_t seasonal_min_occurrences = 0;
};

class RobustDetector final : public AnomalyDetector {
public:
    explicit RobustDetector(const RobustDetectorOptions& options);
    double score(double timestamp_s, double value) override;
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

    static std::span<const config::SettingRow> options();
    static std::string check(const config::Settings& params);
    static std::unique_ptr<AnomalyDetector> make(const config::Settings& params);

private:
    enum BaselineIndex : std::size_t { level, previous, daily, weekly, baseline_count };
    struct Baseline {
        RollingWindow residuals;
        // For the current point: the prediction, when the baseline can make
        // one, and its past residuals' robust scale, when it has enough of them.
        std::optional<double> prediction;
        std::optional<double> scale;
    };

    // The standardised residual of `value` under a baseline with a scale.
    double standardised_residual(const Baseline& baseline, double value) const;
    // -log10 of the two-sided normal tail of z: how many decades of surprise.
    static double surprise_decades(double z);
    // The raw surprise of the current point, or nothing while no baseline is ready.
    std::optional<double> raw_surprise(double value) const;

    RobustDetectorOptions options_;
    RollingWindow level_values_;
    std::optional<double> previous_value_;
    bool previous_held_ = false;  // the last point was held out of the previous-value baseline
    SeasonalProfile daily_;
    SeasonalProfile weekly_;
    std::vector<Baseline> baselines_;  // indexed by BaselineIndex
    AnomalyLikelihood likelihood_;
};

}  // namespace mw::anomaly
