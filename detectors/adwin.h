// ADWIN (adaptive windowing): keeps a window of recent values compressed into
// exponential-histogram buckets and drops its oldest part whenever two
// sub-windows have means that differ by more than a Hoeffding-style bound.
// Bifet & Gavalda, "Learning from time-changing data with adaptive
// windowing", SDM 2007 (ADWIN2).
//
// Two cut loops, chosen by name in the registry:
// - "adwin" (AdwinCutLoop::every_bucket, the default): every bucket boundary
//   is a candidate cut, as Bifet's MOA (moa/classifiers/core/driftdetection/
//   ADWIN.java, detectChange) and current River (river/drift/adwin_c.pyx after
//   the fix of river#1539);
// - "adwin_river021" (AdwinCutLoop::river_0_21): River 0.21's loop, which
//   never tries the newest bucket of a row as a cut point (river#1539), kept
//   for users who need River 0.21's indices.
// Everything else (buckets, compression, the bound with 2/3, River's options
// and their defaults, min_window_length compared with >=, grace_period, a
// fresh window after a drift) follows river.drift.ADWIN step for step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "detectors/concept_detector.h"

namespace mw::concept_drift {

std::span<const config::SettingRow> adwin_option_table();

enum class AdwinCutLoop { every_bucket, river_0_21 };

class Adwin final : public ConceptDetector {
public:
    // `options` must have been validated against adwin_option_table().
    explicit Adwin(config::Settings options, AdwinCutLoop cut_loop = AdwinCutLoop::every_bucket);

    DriftState update(double x) override;
    void reset() override;
    std::string_view name() const override {
        return cut_loop_ == AdwinCutLoop::every_bucket ? "adwin" : "adwin_river021";
    }
    const config::Settings& options() const override { return options_; }
    nlohmann::json save_state() const override;
    void restore_state(const nlohmann::json& state) override;

    double width() const { return width_; }
    double mean() const { return width_ > 0 ? total_ / width_ : 0.0; }

private:
    // One row of buckets of equal size 2^row; index 0 is the oldest bucket.
    struct BucketRow {
        std::vector<double> totals;
        std::vector<double> variances;
        std::size_t count = 0;

        explicit BucketRow(std::size_t capacity) : totals(capacity, 0.0), variances(capacity, 0.0) {}
        void push(double total, double variance);
        void drop_oldest(std::size_t n);
    };

    void insert(double value);
    void compress_buckets();
    double delete_oldest_bucket();
    bool detect_change();
    bool cut_is_significant(double n0, double n1, double delta_mean, double delta_prime,
                            double variance_in_window) const;

    config::Settings options_;
    AdwinCutLoop cut_loop_;
    double delta_;
    std::int64_t clock_;
    std::size_t max_buckets_;
    double min_window_length_;
    double grace_period_;

    std::deque<BucketRow> rows_;  // rows_[0]: buckets of size 1 (the newest values)
    double total_ = 0.0;
    double variance_ = 0.0;  // sum of squared deviations, not divided by the width
    double width_ = 0.0;
    std::int64_t tick_ = 0;
    bool drift_ = false;
};

}  // namespace mw::concept_drift
