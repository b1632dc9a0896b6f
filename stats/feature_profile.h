// The window state of one feature: what the daemon folds every record's value
// into, and what detectors read instead of raw rows. Memory per feature is
// bounded whatever the traffic (with the defaults: KLL about 600 doubles, the
// reservoir 2,000 doubles, HyperLogLog 4 KiB; frequent items at most 128
// strings), and profiles merge, so windows can be built from parts and
// stored (serialize() gives a blob for a PostgreSQL bytea column).
//
// NumericProfile: count of finite values, missing count (update_missing(),
// and every NaN or infinite value: the statistics are over finite values),
// min, max, mean and M2 (Welford, "Note on a method for calculating corrected
// sums of squares and products", Technometrics 4(3), 1962, per value; batches
// and merges by the pairwise update of Chan, Golub & LeVeque, "Updating
// formulae and a pairwise algorithm for computing sample variances", 1979),
// a KLL sketch (quantiles, PSI bins), a reservoir sample (exact tests) and a
// HyperLogLog (distinct count, e.g. Evidently's "more than 5 distinct values"
// rule).
// CategoricalProfile: count, missing count, frequent items, HyperLogLog.
//
// ProfileSet: the profiles of a model's features over one set of rows (a
// chunk the store wrote, a window, a reference), by feature name, with the
// number of rows, and per segment attribute the same for each of its values
// (SegmentProfiles). What a profile-only model (store_raw: false) keeps
// instead of its rows; such a model's numeric profiles have reservoir
// capacity 0.
//
// Merging needs equal options (sketch sizes); a mismatch is an error value
// and leaves the profile unchanged.
//
// Decoding treats a blob as hostile (profiles are read back from
// PostgreSQL, which may hold a damaged or tampered row): besides the
// sketches' own checks, a profile whose count, min, max, mean or M2 could
// not come from any values, or a set whose features count more values than
// it has rows, is an error value, never a profile to judge from.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "stats/frequent_items.h"
#include "stats/hyperloglog.h"
#include "stats/kll_sketch.h"
#include "stats/reservoir_sample.h"
#include "stats/sketch_bytes.h"

namespace mw::stats {

struct NumericProfileOptions {
    std::uint16_t kll_k = KllSketch::default_k;
    std::uint32_t reservoir_capacity = ReservoirSample::default_capacity;
    std::uint8_t hll_precision = HyperLogLog::default_precision;
    std::uint64_t seed = 0;  // seeds the KLL compactions and the reservoir
};

class NumericProfile {
public:
    explicit NumericProfile(const NumericProfileOptions& options = {});

    void update(double value) {
        if (!std::isfinite(value)) {
            ++missing_count_;
            return;
        }
        ++count_;
        const double delta = value - mean_;
        mean_ += delta / static_cast<double>(count_);
        m2_ += delta * (value - mean_);
        min_ = std::min(min_, value);
        max_ = std::max(max_, value);
        quantiles_.update(value);
        sample_.update(value);
        distinct_.update(value);
    }
    void update_missing() { ++missing_count_; }
    // The same result as update() on each value in turn, up to rounding of
    // the mean and variance (blocks are combined with Chan's formula).
    void update_many(std::span<const double> values);
    // Why merge(other) would fail ("" when it would not), changing nothing.
    [[nodiscard]] std::string merge_problem(const NumericProfile& other) const;
    [[nodiscard]] std::string merge(const NumericProfile& other);

    std::uint64_t count() const { return count_; }
    std::uint64_t missing_count() const { return missing_count_; }
    // NaN when no finite value was seen.
    double min() const;
    double max() const;
    double mean() const;
    // ddof = 0 (numpy.var) and ddof = 1; NaN when undefined.
    double population_variance() const;
    double sample_variance() const;
    double distinct_estimate() const { return distinct_.estimate(); }

    const KllSketch& quantiles() const { return quantiles_; }
    const ReservoirSample& sample() const { return sample_; }
    const HyperLogLog& distinct() const { return distinct_; }

    std::string serialize() const;
    static Decoded<NumericProfile> deserialize(std::string_view bytes);

private:
    void add_block(std::span<const double> finite_values);

    std::uint64_t count_ = 0;
    std::uint64_t missing_count_ = 0;
    double min_;
    double max_;
    double mean_ = 0.0;
    double m2_ = 0.0;
    KllSketch quantiles_;
    ReservoirSample sample_;
    HyperLogLog distinct_;
};

struct CategoricalProfileOptions {
    std::uint32_t frequent_items_capacity = FrequentItems::default_capacity;
    std::uint8_t hll_precision = HyperLogLog::default_precision;
};

class CategoricalProfile {
public:
    explicit CategoricalProfile(const CategoricalProfileOptions& options = {});

    void update(std::string_view value) {
        ++count_;
        items_.update(value);
        distinct_.update(value);
    }
    void update_missing() { ++missing_count_; }
    // Why merge(other) would fail ("" when it would not), changing nothing.
    [[nodiscard]] std::string merge_problem(const CategoricalProfile& other) const;
    [[nodiscard]] std::string merge(const CategoricalProfile& other);

    std::uint64_t count() const { return count_; }
    std::uint64_t missing_count() const { return missing_count_; }
    double distinct_estimate() const { return distinct_.estimate(); }
    const FrequentItems& items() const { return items_; }
    const HyperLogLog& distinct() const { return distinct_; }

    std::string serialize() const;
    static Decoded<CategoricalProfile> deserialize(std::string_view bytes);

private:
    std::uint64_t count_ = 0;
    std::uint64_t missing_count_ = 0;
    FrequentItems items_;
    HyperLogLog distinct_;
};

// A profile-only model's per-feature profiles: no reservoir, so no raw value
// is kept beyond what the KLL sketch, min and max and the frequent items keep
// (docs/privacy.md, "Profile-only models").
inline NumericProfileOptions profile_only_numeric_options(std::uint64_t seed) {
    NumericProfileOptions options;
    options.reservoir_capacity = 0;
    options.seed = seed;
    return options;
}

class ProfileSet;

// The profiles of one segment attribute's values (a profile-only model's
// drift.segments): every value's, or none, so that a segment's profile, when
// there is one, covers exactly the rows with that value (a missing attribute
// is the value ""). None when
// - overflowed: more distinct values than the cap (a value dropped from some
//   parts and kept in others would be profiled from part of its rows); a
//   merge with an overflowed side, or whose values together pass the cap,
//   overflows too;
// - partial: merged with rows profiled without this attribute's segments
//   (chunks written before it was configured).
struct SegmentProfiles {
    enum class State : std::uint8_t { complete = 0, overflowed = 1, partial = 2 };
    State state = State::complete;
    std::map<std::string, ProfileSet> by_value;  // value -> its rows' profiles (no segments of their own)
};

class ProfileSet {
public:
    // The cap on an attribute's distinct values when none is given (config's
    // drift.max_segment_values has the same default).
    static constexpr std::size_t default_max_segment_values = 32;
    // The most a decoded blob may hold: attributes, and values per attribute.
    static constexpr std::size_t max_segment_attributes = 64;
    static constexpr std::size_t max_decoded_segment_values = 10'000;
    // The most rows a set may count, decoded or merged: 2^53, the last count
    // a double (what the statistics compute in) holds exactly, and far
    // beyond any window; a blob claiming more is damaged, and no merge of
    // such claims can wrap the 64-bit counts around.
    static constexpr std::uint64_t max_rows = std::uint64_t{1} << 53;

    std::uint64_t rows() const { return rows_; }
    void add_rows(std::uint64_t rows) { rows_ += rows; }
    // The profile of `name`, created with `options` on first use.
    NumericProfile& numeric(const std::string& name, const NumericProfileOptions& options);
    CategoricalProfile& categorical(const std::string& name, const CategoricalProfileOptions& options = {});
    const NumericProfile* find_numeric(const std::string& name) const;
    const CategoricalProfile* find_categorical(const std::string& name) const;
    const std::map<std::string, NumericProfile>& numeric_profiles() const { return numeric_; }
    const std::map<std::string, CategoricalProfile>& categorical_profiles() const { return categorical_; }

    // The profiles of `attribute`'s segments; none until declared or a value
    // of it was added.
    const SegmentProfiles* find_segments(const std::string& attribute) const;
    const std::map<std::string, SegmentProfiles>& segments() const { return segments_; }
    // Records that `attribute` is profiled by segment even when no row had
    // it yet, so that an empty part merges as "no value" rather than as "not
    // profiled".
    SegmentProfiles& declare_segments(const std::string& attribute);
    // The set of `attribute` = `value`'s rows, created on first use; null when
    // the attribute keeps no value's profile (overflowed now or before, or
    // partial: see SegmentProfiles).
    ProfileSet* segment(const std::string& attribute, const std::string& value, std::size_t max_values);

    // Adds `other`'s rows and profiles (a feature only in `other` is copied),
    // and its segments' (an attribute's values together past
    // `max_segment_values` overflow it). On error (a feature numeric on one
    // side and categorical on the other, profiles of different options, or
    // more than max_rows rows together) this set is unchanged, so a caller
    // merging many parts can leave out the one that does not fit and go on.
    [[nodiscard]] std::string merge(const ProfileSet& other,
                                    std::size_t max_segment_values = default_max_segment_values);

    std::string serialize() const;
    static Decoded<ProfileSet> deserialize(std::string_view bytes);

private:
    // A segment's set is decoded with segments_allowed false: one level, so
    // a hostile blob cannot nest sets as deep as its length allows.
    static Decoded<ProfileSet> decode(std::string_view bytes, bool segments_allowed);
    // Why merge(other, max_segment_values) would fail ("" when it would
    // not), checked before merge changes anything.
    std::string merge_problem(const ProfileSet& other, std::size_t max_segment_values) const;

    std::uint64_t rows_ = 0;
    std::map<std::string, NumericProfile> numeric_;
    std::map<std::string, CategoricalProfile> categorical_;
    std::map<std::string, SegmentProfiles> segments_;
};

}  // namespace mw::stats
