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

    // The window of every value given so far (values waiting to be inserted
    // included; inspecting them copies the detector, so not per update).
    double width() const;
    double mean() const;

    // Rows of buckets: row r holds buckets of 2^r values, so 64 rows cover
    // every size a uint64 holds (a window would need 2^63 values to open the
    // last one). A saved state may have one row fewer, so that the merges
    // cascading from it always have a row to go to.
    static constexpr std::size_t max_rows = 64;

    // Values that wait in the first row before they are inserted: River
    // looks at the window only every `clock` values, so the values between
    // two looks are inserted together (identical buckets, see adwin.cpp).
    // River's default clock; a longer clock inserts every max_pending values.
    static constexpr std::size_t max_pending = 32;

private:
    // The live buckets of a row are [first, end), oldest first, in the row's
    // slice of totals_ and variances_, which ends at `limit`. Dropping the
    // oldest advances first (River shifts the arrays and zero-fills them on
    // every merge); buckets pushed past the end of the slice move the few
    // live ones back to its start first, once every few insertions.
    struct RowSpan {
        std::size_t first = 0;
        std::size_t end = 0;
        std::size_t limit = 0;
        std::size_t count() const { return end - first; }
    };

    void add_row();
    void push_bucket(std::size_t row, double total, double variance);
    void move_row_to_start(std::size_t row);
    void set_ticks_to_check();
    void make_room_for_pending();

    // update()'s paths off the usual one, out of line so that it stays a few instructions.
    [[gnu::noinline]] DriftState restart_with(double x);
    [[gnu::noinline]] DriftState insert_pending_and_look();
    void insert_pending();
    Adwin with_pending_inserted() const;
    double delete_oldest_bucket();
    bool detect_change();
    bool some_cut_is_significant();
    void rebuild_cuts();

    config::Settings options_;
    AdwinCutLoop cut_loop_;
    double delta_;
    std::int64_t clock_;
    std::size_t max_buckets_;
    double min_window_length_;
    double grace_period_;
    std::size_t row_capacity_;  // buckets a row's slice holds: max_buckets + 1 + 2 max_pending

    // The buckets, a slice of row_capacity_ per row opened (reset() keeps
    // them): totals and variances apart, since a scan reads only totals.
    std::vector<double> totals_;
    std::vector<double> variances_;
    std::array<RowSpan, max_rows> rows_{};
    std::size_t row_count_ = 0;  // rows_[0]: buckets of size 1 (the newest values)
    // Values given since the last insertion, in order: totals_[rows_[0].end, pending_end_).
    std::size_t pending_end_ = 0;
    std::int64_t updates_to_flush_ = 0;  // until the pending values must be inserted (a look, or no room)
    double total_ = 0.0;
    double variance_ = 0.0;  // sum of squared deviations, not divided by the width
    double width_ = 0.0;
    std::int64_t tick_ = 0;  // values inserted
    std::int64_t ticks_to_check_ = 0;  // insertions until tick_ % clock_ == 0 again (no division per update)
    bool drift_ = false;

    // The candidate cuts of the last scan, in River's order, with River's
    // running sums u0 (totals of W0) and n0 (its length) after each; a row's
    // cuts depend only on it and the rows above it, so only the highest row
    // an insertion changed and the rows below it are summed again.
    std::vector<double> cut_u0_;
    std::vector<double> cut_n0_;
    std::size_t cut_count_ = 0;
    std::array<std::size_t, max_rows> row_first_cut_{};
    std::array<double, max_rows> u0_before_row_{};
    std::array<double, max_rows> n0_before_row_{};
    std::array<double, max_rows> row_magnitude_{};  // sum of |total| over the row's buckets
    std::size_t rows_to_rebuild_ = max_rows;        // rows [0, this) changed since their cuts were summed
};

}  // namespace mw::concept_drift
