// ADWIN (adaptive windowing): keeps a window of recent values compressed into
// exponential-histogram buckets and drops its oldest part whenever two
// sub-windows have means that differ by more than a Hoeffding-style bound.
// Bifet & Gavalda, "Learning from time-changing data with adaptive
// windowing", SDM 2007 (ADWIN2). Follows river.drift.ADWIN and its helper
// river/drift/adwin_c.pyx (River 0.21) step for step, quirks included (see
// adwin.cpp), so the detection indices are River's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "detectors/concept_detector.h"

namespace mw::concept_drift {

std::span<const OptionSpec> adwin_option_table();

class Adwin final : public ConceptDetector {
public:
    // `options` must have been validated against adwin_option_table().
    explicit Adwin(OptionValues options);

    DriftState update(double x) override;
    void reset() override;
    std::string_view name() const override { return "adwin"; }
    const OptionValues& options() const override { return options_; }

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
    bool cut_is_significant(double n0, double n1, double delta_mean) const;

    OptionValues options_;
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
