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
// number of rows. What a profile-only model (store_raw: false) keeps instead
// of its rows; such a model's numeric profiles have reservoir capacity 0.
//
// Merging needs equal options (sketch sizes); a mismatch is an error value
// and leaves the profile unchanged.
#pragma once

#include <algorithm>
#include <cmath>
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

class ProfileSet {
public:
    std::uint64_t rows() const { return rows_; }
    void add_rows(std::uint64_t rows) { rows_ += rows; }
    // The profile of `name`, created with `options` on first use.
    NumericProfile& numeric(const std::string& name, const NumericProfileOptions& options);
    CategoricalProfile& categorical(const std::string& name, const CategoricalProfileOptions& options = {});
    const NumericProfile* find_numeric(const std::string& name) const;
    const CategoricalProfile* find_categorical(const std::string& name) const;
    const std::map<std::string, NumericProfile>& numeric_profiles() const { return numeric_; }
    const std::map<std::string, CategoricalProfile>& categorical_profiles() const { return categorical_; }

    // Adds `other`'s rows and profiles (a feature only in `other` is copied).
    // On error (a feature numeric on one side and categorical on the other,
    // or profiles of different options) this set may be partly merged: the
    // caller discards it.
    [[nodiscard]] std::string merge(const ProfileSet& other);

    std::string serialize() const;
    static Decoded<ProfileSet> deserialize(std::string_view bytes);

private:
    std::uint64_t rows_ = 0;
    std::map<std::string, NumericProfile> numeric_;
    std::map<std::string, CategoricalProfile> categorical_;
};

}  // namespace mw::stats
