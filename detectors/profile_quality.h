// The data-quality checks of one feature from two profiles (the reference's
// and the window's, stats/feature_profile.h) instead of raw rows: the checks
// of detectors/data_quality.h that a profile can answer, with the same names,
// thresholds and triggers, so a profile-only model's findings read like a raw
// one's.
//
// From profiles (exactness stated in each check's evidence "basis"):
//   missing_rate         exact: the profiles count missing values (a numeric
//                        profile counts NaN and infinities as missing too).
//   out_of_range_share   the window sketch's weight below the reference's min
//                        and above its max (both exact): exact when the
//                        window's exact min and max lie inside the range (the
//                        share is then 0), else within twice the window
//                        sketch's rank error (two single-sided ranks; 99%).
//                        With use_quantile_range the range is the reference
//                        sketch's quantiles at range_quantile and 1 -
//                        range_quantile, which are within eps_ref in the
//                        reference's rank of the raw path's but may sit
//                        anywhere between neighbouring reference values: the
//                        window's share between the two ends has no bound, so
//                        the check is approximate (evidence: bound null,
//                        basis says so), even when the window lies inside.
//   new_category_share, vanished_categories
//                        exact while both frequent-items summaries are exact
//                        (fewer distinct values than their capacity); past it
//                        an untracked category is neither new nor vanished
//                        (the counts are lower bounds), flagged approximate.
//   constant_feature, constant_reference
//                        numeric: exact (min == max); categorical: exact from
//                        an exact summary, else HyperLogLog's estimate.
//   distinct_values      the metric: HyperLogLog's estimate (1 when constant).
// Not from profiles: type_error_rate, declared_feature_absent,
// undeclared_feature, not_an_object and duplicate_ids read every row's JSON
// or id, which a feature profile does not keep.
#pragma once

#include <string_view>

#include "detectors/data_quality.h"
#include "stats/feature_profile.h"

namespace mw::quality {

// Appends the checks and metrics of one numeric feature to `report`;
// `range_quantile` is the reference's quantile range (QualityReference's).
void evaluate_numeric_profile_quality(std::string_view feature, const stats::NumericProfile& reference,
                                      const stats::NumericProfile& window, const DataQualityOptions& options,
                                      QualityReport& report,
                                      double range_quantile = QualityReference{}.range_quantile);

// The same for a categorical (or boolean) feature.
void evaluate_categorical_profile_quality(std::string_view feature, const stats::CategoricalProfile& reference,
                                          const stats::CategoricalProfile& window, const DataQualityOptions& options,
                                          QualityReport& report);

}  // namespace mw::quality
