// Drift of one feature judged from two profiles (stats/feature_profile.h: a
// reference profile and a window profile) instead of raw rows: what a model
// whose raw feature values are not kept is judged on (issue 18, "profile-only
// models"). The method is chosen by the same rule as on raw rows
// (select_drift_method, detectors/feature_drift.h) and the verdict by the same
// correction and gates (decide_drift), so a profile-only model and a raw one
// differ only in how each statistic is obtained:
//
// numeric feature (KLL sketch, exact count / missing / mean / M2, HyperLogLog)
//   ks           sup |F_ref - F_cur| of the two sketches' step CDFs; p-value of
//                that D at the exact counts (scipy's method 'auto'). Within
//                eps_ref + eps_cur + 1 / (2 lcm(n_ref, n_cur)) of the raw D
//                (KLL rank errors, each 99% for one sketch, so at least 98%
//                for both; the last term is the rounding of D to an
//                attainable value, drift_sample_methods.cpp).
//   wasserstein  integral |F_ref - F_cur| over the exact population sd; within
//                (eps_ref + eps_cur) * span / sd. Also the effect size.
//   energy       sqrt(2 integral (F_ref - F_cur)^2); within
//                (eps_ref + eps_cur) * sqrt(2 span).
//   ttest        Welch's test from the exact moments: exact.
//   psi, jensenshannon, hellinger, tvd, kl
//                on bins at the reference sketch's quantiles i/bins (retained
//                items, where the raw path interpolates as numpy 'linear'),
//                each bin's share within the KLL's double-sided bound; the
//                statistic has no published bound: its deviation is measured
//                (bench/RESULTS.md, "Drift from profiles").
//   anderson, cvm
//                not computed from profiles: their statistics and p-values
//                need every value's rank in the pooled sample. The result
//                carries the error "not computed from profiles: ..." (never
//                silently another method); pick ks for a profile-only model.
//   compared as categories (legacy mode with <= max_categorical_distinct
//                values, or chi2 / z forced on a numeric column): a numeric
//                profile keeps no category counts, so not computed from
//                profiles, except against a constant reference (min == max:
//                one category, its count exact): exact when the window is
//                constant too, and for tvd, hellinger and jensenshannon
//                whatever the window (they need only the total of the
//                window's values other than the reference's; the count at
//                that value is exact or within the window sketch's
//                double-sided bound); see profile_drift.cpp.
// categorical feature (frequent items, exact count / missing, HyperLogLog)
//   chi2, z, psi, jensenshannon, hellinger, tvd, kl on the category counts.
//   While both summaries are exact (never more distinct values than the
//   summary's capacity, 128 by default: stats/frequent_items.h) the table is
//   the raw path's, category for category, and every statistic is exact.
//   Past the capacity the counts are lower bounds: the distances keep the
//   categories tracked in both profiles and pool the rest of each side into
//   one "(other)" column, an approximation with no published bound, flagged
//   (exact = false, basis says so). The tests on category counts (chi2, z)
//   are then not computed from profiles: chi-squared's statistic and degrees
//   of freedom need every category's count (pooling changes both, and the
//   p-value moves either way), z needs the count of its success category.
// both
//   missing counts and rows are exact; the reference's distinct count is the
//   frequent items' (exact) or HyperLogLog's estimate (relative standard
//   error 1.04 / sqrt(2^p), 1.6% for p = 12), used by the selection rule.
//   The noise gate of robust mode (compute_noise_baseline) resamples the
//   reference's rows, which a profile does not keep. ProfileNoiseGates draws
//   the same bootstrap from what the profile keeps instead (see below); a
//   result given no gate (a numeric feature compared as categories, or a
//   caller that passes none) says "noise gate not computed from profiles" in
//   its basis and is decided by the correction and the effect floor only.
// The quantiles shown in reports are the sketches' (within eps in rank).
//
// Undecided verdicts. A statistic within a bound gives an interval that holds
// the raw rows' statistic (with the bounds' confidence). decide_profile_drift
// decides each evaluation three times: at the point estimates, with every
// bounded statistic, p-value and effect size at the end of its interval least
// toward drift, and at the end most toward drift. The correction
// (Benjamini-Hochberg, Bonferroni) and the gates are monotone in each input,
// so the raw rows' verdict lies between the two ends' verdicts; where they
// differ the interval straddles the threshold and the feature is `undecided`
// (the raw verdict could be either). `drifted` stays the point estimates'
// verdict. Exact statistics are always decided; statistics without a
// published bound (binned distances of numeric features, categories past the
// capacity) are decided on their point estimate and say so in their basis.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/feature_drift.h"
#include "stats/feature_profile.h"

namespace mw::drift {

struct ProfileFeatureDrift {
    // As evaluate_feature's result; test_significant and drifted are set by
    // decide_profile_drift.
    FeatureDriftResult result;
    // |statistic - the raw rows' statistic| <= this, and the same for the
    // effect size, from the KLL's published rank errors (each 99% for one
    // sketch; both sketches at once: at least 98%).
    // Unset when the value is exact (exact = true) or has no published bound.
    std::optional<double> statistic_bound;
    std::optional<double> effect_size_bound;
    // For a test with statistic_bound: its p-value at the statistic's lower
    // and upper end (what decide_profile_drift reads for the two ends).
    std::optional<double> p_value_at_lower_statistic;
    std::optional<double> p_value_at_upper_statistic;
    // The statistic and effect size are the raw rows' (counts exact, or no
    // sketch has compacted and the method reads the CDFs).
    bool exact = false;
    // Set by decide_profile_drift: the bounds' intervals straddle the
    // verdict's threshold (see the header's comment).
    bool undecided = false;
    // Robust mode's noise gate for this window size (ProfileNoiseGates::set),
    // applied by decide_profile_drift: the effect size must exceed its limit.
    std::optional<NoiseBaseline> noise;
    // How the numbers were obtained, for reports ("kll cdfs, k=200", ...).
    std::string basis;
};

ProfileFeatureDrift evaluate_numeric_profiles(std::string_view feature, const stats::NumericProfile& reference,
                                              const stats::NumericProfile& current, const FeatureMethodChoice& choice,
                                              const DriftOptions& options);

ProfileFeatureDrift evaluate_categorical_profiles(std::string_view feature,
                                                  const stats::CategoricalProfile& reference,
                                                  const stats::CategoricalProfile& current,
                                                  const FeatureMethodChoice& choice, const DriftOptions& options);

// decide_drift over one evaluation's features: the correction across
// features, the method's threshold and, in robust mode, the effect floor and
// each feature's `noise` gate when set; then `undecided` from the verdicts at
// the bounds' two ends (the effect size's bound moves it against the gate's
// limit too).
void decide_profile_drift(std::vector<ProfileFeatureDrift>& features, const DriftOptions& options);

// Robust mode's noise gate from a reference profile. compute_noise_baseline
// bootstraps the reference's sorted values (numeric) or resamples its
// category counts (categorical) at the window's size; from a profile:
//   numeric, compared as numbers: the sorted "sample" is the reference KLL
//     sketch's quantiles at ranks (i + 0.5) / m, m = min(count,
//     max_noise_positions), each within eps in rank of the reference's, with
//     the exact population sd as the scale; the limit has no published
//     bound (on 3,000 rows within 15% of the raw path's:
//     tests/daemon/profile_detectors_test.cpp);
//   categorical: the frequent items' counts, exact below their capacity;
//     past it the tracked counts and the rest as one "(other)" category;
//   numeric compared as categories (a constant reference): no gate.
// A pure function of the reference profile, the options (seed, resamples,
// multiplier) and the window's size, built once per subject and cached by
// size: a restarted daemon, which reads the reference's stored profile,
// judges with the same limits.
inline constexpr std::size_t max_noise_positions = 2000;
FittedFeature profile_noise_reference(std::string_view feature, const stats::NumericProfile& reference);
FittedFeature profile_noise_reference(std::string_view feature, const stats::CategoricalProfile& reference);

class ProfileNoiseGates {
public:
    // Sets `noise` of each evaluated feature of `features` (robust mode with
    // resamples > 0; results with an error or compared as categories from a
    // numeric profile get none), from `reference` (the profile the features
    // were judged against); `suffix` names a segment's features apart
    // ("[sex=F]").
    void set(std::vector<ProfileFeatureDrift>& features, const stats::ProfileSet& reference,
             const std::string& suffix, const DriftOptions& options);

private:
    struct Gate {
        FittedFeature reference;
        NoiseBaselineCache cache;
    };
    std::map<std::string, Gate> gates_;  // by feature name + suffix
};

// Why `method` cannot be computed from profiles of a feature of this kind
// ("" when it can): what evaluate_numeric_profiles and
// evaluate_categorical_profiles refuse, as "not computed from profiles";
// docs/monitoring.md's table is checked against it.
std::string profile_uncomputable_reason(const DriftMethod& method, bool numeric_feature, bool categorical_view);

// A method and mode that can be computed from profiles but whose point
// verdict (`drifted`, what the daemon acts on) agreed with the raw rows' in
// fewer than 99% of the feature-windows of Elec2 and Adult at some window
// size, with the profiles' default KLL k: issue 18's bar, measured by
// tests/detectors/profile_checks_test.cpp (bench/RESULTS.md, "Against the
// issue's bar"), which checks each entry against its measurement.
struct ProfileVerdictGap {
    std::string_view method;   // a drift method's name; "auto" is the mode's own selection
    DriftMode mode;
    bool numeric_feature;
    std::string_view measured;  // the point agreement measured, as the error quotes it
    std::string_view instead;   // what to configure instead
};
std::span<const ProfileVerdictGap> profile_verdict_gaps();

// Why a profile-only model (store_raw: false) may not use `method` in `mode`
// for a feature of this kind ("" when it may): it cannot be computed from
// profiles, or its verdict from profiles is below the bar
// (profile_verdict_gaps). The one rule: config/sections.cpp's
// check_profile_only applies it through the registry's catalog, and
// docs/monitoring.md's table is checked against it. `categorical_view`
// matters only for the first part (a numeric feature compared as categories).
std::string profile_unsupported_reason(const DriftMethod& method, DriftMode mode, bool numeric_feature,
                                       bool categorical_view);

}  // namespace mw::drift
