// Drift of one feature (or of the prediction score, or of the label: the same
// machinery on one column) between a reference sample and a current window.
//
// A reference is fitted once (FittedFeature: sorted values, population sd,
// category counts, PSI bins) and reused for every current window; the noise
// level of the effect size at a given window size is measured once per size
// and cached (NoiseBaselineCache), never recomputed per window.
//
// Method selection (method "auto"). In legacy mode, Evidently's rule (evidently
// calculations/stattests/registry.py, get_default_stattest), decided on the
// reference alone so that a fitted reference fixes its methods:
//   reference rows <= 1000:  numeric with > 5 distinct values   -> ks
//                            2 distinct values (numeric or not) -> z
//                            otherwise                          -> chi2
//   reference rows  > 1000:  numeric with > 5 distinct values   -> wasserstein (normalised)
//                            otherwise                          -> jensenshannon
// (Evidently counts distinct values over reference and current together; a
// fitted reference cannot, so modelwatch counts them in the reference.)
// In the default (robust) mode "auto" always picks the test of the small-
// reference branch (ks, z or chi2) whatever the reference size, because the
// effect-size gates below take the place of the distance thresholds, and a
// column's kind comes only from its type (ColumnData::numeric, set by the
// model's schema or by parsing): a numeric column is compared as numbers
// however few distinct values it has (a constant reference column stays
// numeric and is reported as such). Only legacy mode keeps Evidently's rule
// that a numeric column with at most 5 distinct reference values is compared
// as categories (each value written in its shortest round-trip form).
//
// Verdict. Legacy mode (Evidently): drifted when p < threshold for a test, or
// statistic >= threshold for a distance. Default (robust) mode: every p-value
// is first corrected across the features of the evaluation (Benjamini-
// Hochberg by default), and a feature drifts only when the (corrected) test
// says so AND its effect size exceeds both `effect_floor` and the noise
// baseline mean + noise_sd_multiplier * sd. The effect size is the normalised
// Wasserstein distance for numeric features and the Jensen-Shannon distance
// (natural log) for categorical ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/drift_method.h"
#include "detectors/text_column.h"

namespace mw::drift {

enum class Correction { none, bonferroni, benjamini_hochberg };

// The corrections registry: the names of drift.correction in the
// configuration and of modelwatch drift --correction, the first of each value
// being how reports name it.
struct CorrectionEntry {
    config::ComponentInfo info;
    Correction correction;
};
std::span<const CorrectionEntry> corrections();
const char* to_string(Correction correction);
std::optional<Correction> parse_correction(std::string_view name);

// Adjusted p-values in the input order; NaN entries (no p-value) stay NaN and
// do not count in m. Bonferroni: min(1, m p). Benjamini-Hochberg: the step-up
// adjustment min over j >= i of m p_(j) / j, capped at 1, as
// statsmodels.stats.multitest.multipletests(method='fdr_bh') and
// scipy.stats.false_discovery_control.
std::vector<double> adjust_p_values(const std::vector<double>& p_values, Correction correction);

enum class DriftMode { robust, legacy };

struct DriftModeEntry {
    config::ComponentInfo info;
    DriftMode mode;
};
// robust, legacy (see the header's comment on the verdict).
std::span<const DriftModeEntry> drift_modes();
std::optional<DriftMode> parse_drift_mode(std::string_view name);

struct FeatureMethodChoice {
    const DriftMethod* method = nullptr;  // nullptr or "auto": the selection rule picks it
    std::optional<double> threshold;      // default_threshold(method) when unset
};

struct DriftOptions {
    DriftMode mode = DriftMode::robust;
    FeatureMethodChoice default_choice;  // for every feature not listed below
    std::map<std::string, FeatureMethodChoice> per_feature;
    Correction correction = Correction::benjamini_hochberg;  // robust mode only
    double effect_floor = 0.1;                               // robust mode: minimum effect size
    std::size_t noise_resamples = 50;                        // robust mode: 0 disables the noise gate
    double noise_sd_multiplier = 3.0;
    std::uint64_t seed = 20240601;             // of the resamples: the same input gives the same report
    double drift_share = 0.5;                  // dataset drift when drifted / features >= this
    std::size_t small_reference_rows = 1000;   // Evidently's boundary between tests and distances
    std::size_t max_categorical_distinct = 5;  // legacy mode: numeric with <= this many values compared as categories
    std::size_t psi_bins = 10;
    double psi_epsilon = 1e-4;
};

// One column of data. Numeric columns hold numbers (NaN = missing); other
// columns hold text (empty = missing), dictionary-coded.
struct ColumnData {
    std::string name;
    bool numeric = true;
    std::vector<double> numbers;
    TextColumn texts;

    std::size_t size() const { return numeric ? numbers.size() : texts.size(); }
};

// What a fitted reference keeps of one feature.
struct FittedFeature {
    std::string name;
    bool categorical = false;  // compared as categories (see the selection rule)
    const DriftMethod* method = nullptr;  // set by fit_feature (ks when the reference has no values)
    double threshold = 0.05;
    std::size_t reference_rows = 0;  // non-missing values
    std::size_t reference_missing = 0;
    std::size_t distinct_values = 0;
    // Numeric view.
    std::vector<double> sorted_values;
    double population_sd = 0;
    std::vector<double> psi_edges;  // interior quantile edges of the reference
    std::vector<double> psi_reference_counts;
    // Categorical view: categories in sorted order with their counts.
    std::vector<std::string> categories;
    std::vector<double> category_counts;
    std::map<std::string, std::size_t, std::less<>> category_index;
    std::string error;  // the feature cannot be evaluated (e.g. all values missing)
};

// The method a feature is compared by (the selection rule above, or the
// choice), its threshold, whether it is compared as categories, and why it
// cannot be (a method the column's type or distinct values do not fit).
// fit_feature and the profiles' path (detectors/profile_drift.h) both use it.
struct MethodSelection {
    const DriftMethod* method = nullptr;
    double threshold = 0.05;
    bool categorical = false;
    std::string error;
};
MethodSelection select_drift_method(const FeatureMethodChoice& choice, bool numeric_column,
                                    std::size_t reference_rows, std::size_t distinct_values,
                                    const DriftOptions& options);

// Fits one feature; `choice` may force a method and threshold.
FittedFeature fit_feature(const ColumnData& reference, const FeatureMethodChoice& choice, const DriftOptions& options);

// The effect size's distribution over `resamples` bootstrap resamples of the
// reference of the current window's size, compared with the reference itself.
struct NoiseBaseline {
    std::size_t sample_rows = 0;
    std::size_t resamples = 0;
    double mean = 0;
    double sd = 0;     // sample standard deviation (ddof = 1)
    double limit = 0;  // mean + multiplier * sd
};

NoiseBaseline compute_noise_baseline(const FittedFeature& feature, std::size_t sample_rows, std::size_t resamples,
                                     double sd_multiplier, std::uint64_t seed);

// Baselines by window size, computed on first use and then reused.
class NoiseBaselineCache {
public:
    const NoiseBaseline& get(const FittedFeature& feature, std::size_t sample_rows, const DriftOptions& options);

private:
    std::map<std::size_t, NoiseBaseline> by_rows_;
};

constexpr std::size_t max_reported_unseen = 20;
// The quantiles shown per numeric feature in reports.
constexpr double report_quantile_levels[] = {0.05, 0.25, 0.5, 0.75, 0.95};

struct UnseenCategory {
    std::string value;
    std::size_t count = 0;
};

struct FeatureDriftResult {
    std::string feature;
    const DriftMethod* method = nullptr;  // the fitted feature's
    bool categorical = false;
    double statistic = 0;
    std::optional<double> p_value;           // tests only
    std::optional<double> adjusted_p_value;  // robust mode, after the correction
    double threshold = 0;
    double effect_size = 0;              // normalised Wasserstein or Jensen-Shannon (nats)
    std::optional<NoiseBaseline> noise;  // robust mode with resamples > 0
    bool test_significant = false;       // the method's own verdict (after correction in robust mode)
    bool drifted = false;
    std::size_t reference_rows = 0;
    std::size_t reference_missing = 0;
    std::size_t reference_distinct = 0;  // 1: the reference is constant, a data-quality finding of its own
    std::size_t current_rows = 0;
    std::size_t current_missing = 0;
    // Numeric features: the reference's and the current window's quantiles at
    // report_quantile_levels (numpy.quantile, method 'linear').
    std::vector<double> reference_quantiles;
    std::vector<double> current_quantiles;
    // Current values never seen in the reference, the most frequent first, at
    // most max_reported_unseen of them; the totals count them all.
    std::vector<UnseenCategory> unseen_categories;
    std::size_t unseen_distinct = 0;
    std::size_t unseen_rows = 0;
    // Histograms shown in reports: reference and current shares per bin or
    // category (the last bin is "unseen" when unseen categories exist).
    std::vector<std::string> bin_labels;
    std::vector<double> reference_shares;
    std::vector<double> current_shares;
    std::string error;  // the feature could not be evaluated; then drifted is false

    bool ok() const { return error.empty(); }
};

// Computes the method's statistic, p-value and the effect size of one current
// column against a fitted feature. The verdict (test_significant, drifted) is
// set by decide_drift, which needs all features of the evaluation.
FeatureDriftResult evaluate_feature(const FittedFeature& feature, const ColumnData& current,
                                    const DriftOptions& options);

// Applies the correction and the gates to a set of results (one evaluation:
// all features of a dataset or of one segment), filling adjusted_p_value,
// noise, test_significant and drifted.
void decide_drift(std::vector<FeatureDriftResult>& results, const std::vector<const FittedFeature*>& fitted,
                  const std::vector<NoiseBaselineCache*>& caches, const DriftOptions& options);

// The exact definition of a method's statistic, as written in reports.
std::string statistic_definition(const DriftMethod& method, bool categorical, const DriftOptions& options);

}  // namespace mw::drift
