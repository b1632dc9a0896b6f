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
// fresh window after a drift) follows river.drift.ADWIN step for step: every
// floating-point operation whose result is kept or compared is River's, in
// River's order, so the state and every detection index are River's bit for
// bit. How it is faster without changing a bit is said in adwin.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
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

    // Rows of buckets: row r holds buckets of 2^r values, so 64 rows cover
    // every size a uint64 holds (a window would need 2^63 values to open the
    // last one). A saved state may have one row fewer, so that the merges
    // cascading from it always have a row to go to.
    static constexpr std::size_t max_rows = 64;

private:
    struct Bucket {
        double total;
        double variance;
    };
    // The live buckets of a row are buckets_[first, end), oldest first, in
    // the row's slice of buckets_, which ends at `limit`. Dropping the oldest
    // advances first (River shifts the arrays and zero-fills them on every
    // merge: 45 % of the instructions before); a push that finds the end of
    // the slice moves the few live buckets back to its start, once every
    // row_capacity_ - max_buckets pushes.
    struct RowSpan {
        std::size_t first = 0;
        std::size_t end = 0;
        std::size_t limit = 0;
        std::size_t count() const { return end - first; }
    };

    void add_row();
    void push_bucket(std::size_t row, double total, double variance) {
        RowSpan& span = rows_[row];
        if (span.end == span.limit) move_row_to_start(row);
        buckets_[span.end] = Bucket{total, variance};
        ++span.end;
    }
    void move_row_to_start(std::size_t row);
    void set_ticks_to_check();

    void insert(double value);
    void merge_oldest_pair(std::size_t row);
    void compress_buckets(std::size_t from_row);
    double delete_oldest_bucket();
    bool detect_change();
    bool some_cut_is_significant() const;

    config::Settings options_;
    AdwinCutLoop cut_loop_;
    double delta_;
    std::int64_t clock_;
    std::size_t max_buckets_;
    double min_window_length_;
    double grace_period_;
    std::size_t row_capacity_;  // buckets a row's slice holds, > max_buckets + 1

    std::vector<Bucket> buckets_;  // grows a slice per row opened; reset() keeps it
    std::array<RowSpan, max_rows> rows_{};
    std::size_t row_count_ = 0;  // rows_[0]: buckets of size 1 (the newest values)
    double total_ = 0.0;
    double variance_ = 0.0;  // sum of squared deviations, not divided by the width
    double width_ = 0.0;
    std::int64_t tick_ = 0;
    std::int64_t ticks_to_check_ = 0;  // updates until tick_ % clock_ == 0 again (no division per update)
    bool drift_ = false;
};

}  // namespace mw::concept_drift
