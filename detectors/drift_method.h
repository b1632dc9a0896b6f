// The registry of drift methods (STYLE.md section 2): one entry per method,
// carrying its name and one-line meaning (config's drift.method, the CLI's
// --method, docs/monitoring.md), whether it is a test with a p-value, the
// function that computes it on the view of a feature it reads, and the exact
// definition of its statistic that drift reports print.
//
// A method reads one of two views of a feature, prepared by
// detectors/feature_drift.cpp:
// - samples: the non-missing reference and current values, sorted ascending
//   (numeric features only);
// - counts: aligned count vectors, one entry per category (categorical
//   features: every reference category, then every category seen only in the
//   current window) or per bin at the reference's quantiles (numeric
//   features).
// A third view stands in for the samples when a model keeps no raw values
// (store_raw: false): the two features' profiles (stats/feature_profile.h),
// read by on_sketches (the KLL sketches' CDFs, the exact moments); counts
// methods read bins of the KLL sketches or the frequent items' counts
// (detectors/profile_drift.h). A samples method without on_sketches (the
// Anderson-Darling and Cramer-von Mises tests, whose p-values need every
// value's rank) is "not computed from profiles".
// A method with only a samples function needs a numeric column; one marked
// categories_only (chi2, z) compares categories even on a numeric column;
// the other counts methods read bins of a numeric column.
//
// Adding a method: its functions and entry in a file pair (or beside its
// family, see drift_sample_methods.h and drift_count_methods.h), and one
// line in drift_methods.cpp's table.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/component.h"

namespace mw::stats {
class NumericProfile;
}

namespace mw::drift {

struct DriftOptions;

// A method's statistic, its p-value (tests only), or why there is none.
struct DriftStatistic {
    double statistic = 0;
    std::optional<double> p_value;
    std::string error;  // empty when valid
    // Computed from sketches: |statistic - the statistic of the raw values|
    // <= this, from the sketches' published error bounds (each 99% for one
    // sketch; both sketches at once: at least 98%, stats/kll_sketch.h).
    // Unset when exact, or when no bound is known (then it is measured:
    // bench/RESULTS.md, "Drift from profiles").
    std::optional<double> sketch_error_bound;
    // A test with a bound: its p-value at statistic - bound and at statistic
    // + bound (each end clamped to the statistic's range), between which
    // the raw rows' p-value lies when the bound holds.
    std::optional<double> p_value_at_lower_statistic;
    std::optional<double> p_value_at_upper_statistic;
};

struct DriftSamples {
    std::span<const double> reference;  // sorted ascending, no NaN, not empty
    std::span<const double> current;    // sorted ascending, no NaN, not empty
    double reference_sd;                // population sd (ddof = 0) of the reference
};

// Two numeric features' profiles, both with at least one finite value.
struct DriftSketches {
    const stats::NumericProfile& reference;
    const stats::NumericProfile& current;
};

struct DriftCounts {
    std::span<const double> reference;  // aligned with current
    std::span<const double> current;
};

struct DriftMethod {
    config::ComponentInfo info;  // no options: the threshold is a key of its own
    bool p_value;                // a test with a p-value rather than a distance
    // Null when the method does not read that view; both null: "auto", which
    // picks a method per feature (detectors/feature_drift.h).
    DriftStatistic (*on_samples)(const DriftSamples&, const DriftOptions&) = nullptr;
    DriftStatistic (*on_counts)(const DriftCounts&, const DriftOptions&) = nullptr;
    // The definition of the statistic as reports print it.
    std::string (*definition)(bool categorical, const DriftOptions&) = nullptr;
    // Why a reference with this many distinct values cannot be compared by
    // the method ("" when it can); null: any reference.
    std::string (*fits)(std::size_t reference_distinct) = nullptr;
    // Reads the counts of categories only, never bins of a numeric column.
    bool categories_only = false;
    // The samples method computed from profiles; null when it needs the raw
    // values (see the header's comment).
    DriftStatistic (*on_sketches)(const DriftSketches&, const DriftOptions&) = nullptr;

    bool selects_per_feature() const { return on_samples == nullptr && on_counts == nullptr; }
    bool numeric_only() const { return on_counts == nullptr && on_samples != nullptr; }
};

// Every method in registry order ("auto" first).
std::span<const DriftMethod> drift_methods();
// nullptr for an unknown name; "auto" is the entry that selects per feature.
const DriftMethod* parse_drift_method(std::string_view name);
// The entry called `name`; std::logic_error when there is none (for names the
// code itself gives, such as the selection rule's).
const DriftMethod& drift_method(std::string_view name);
// "auto, ks, chi2, ...", for help texts and errors.
std::string drift_method_names();

// The method's name; "auto" for nullptr (a choice left to the selection rule).
const char* to_string(const DriftMethod* method);
// Evidently's default threshold: 0.05 for a p-value, 0.1 for every distance.
double default_threshold(const DriftMethod& method);

}  // namespace mw::drift
