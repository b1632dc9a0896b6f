#include "detectors/profile_quality.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

namespace mw::quality {

namespace {

using json = nlohmann::json;

double profile_quality_share(double part, double whole) { return whole == 0 ? 0.0 : part / whole; }

void add_profile_check(QualityReport& report, std::string_view feature, const char* name, double statistic,
                       double threshold, bool triggered, json evidence) {
    report.checks.push_back({std::string(feature), name, statistic, threshold, triggered, std::move(evidence)});
}

void add_profile_metric(QualityReport& report, const char* name, std::string_view feature, double value) {
    report.metrics.push_back({name, std::string(feature), value});
}

// missing_rate over every row the profile saw (values and missing).
void add_missing_rate(std::string_view feature, std::uint64_t reference_count, std::uint64_t reference_missing,
                      std::uint64_t window_count, std::uint64_t window_missing, const DataQualityOptions& options,
                      QualityReport& report) {
    const double rows = static_cast<double>(window_count + window_missing);
    const double rate = profile_quality_share(static_cast<double>(window_missing), rows);
    const double reference_rate = profile_quality_share(static_cast<double>(reference_missing),
                                                        static_cast<double>(reference_count + reference_missing));
    add_profile_metric(report, "missing_rate", feature, rate);
    add_profile_check(report, feature, "missing_rate", rate, reference_rate + options.missing_rate_increase,
                      rate - reference_rate > options.missing_rate_increase,
                      {{"missing", window_missing},
                       {"rows", window_count + window_missing},
                       {"reference_missing_rate", reference_rate},
                       {"basis", "profile counts (exact)"}});
}

void add_constant_checks(std::string_view feature, std::size_t window_distinct, std::size_t reference_distinct,
                         bool window_has_values, bool reference_has_values, const DataQualityOptions& options,
                         const char* basis, QualityReport& report) {
    if (!options.check_constant) return;
    if (window_has_values)
        add_profile_check(report, feature, "constant_feature", static_cast<double>(window_distinct), 1.0,
                          window_distinct == 1 && reference_distinct > 1,
                          {{"distinct", window_distinct}, {"reference_distinct", reference_distinct}, {"basis", basis}});
    if (reference_has_values)
        add_profile_check(report, feature, "constant_reference", static_cast<double>(reference_distinct), 1.0,
                          reference_distinct == 1, {{"reference_distinct", reference_distinct}, {"basis", basis}});
}

// A distinct count for the checks: 1 exactly when constant, else HyperLogLog's
// estimate, at least 2.
std::size_t numeric_distinct(const stats::NumericProfile& profile) {
    if (profile.count() == 0) return 0;
    if (profile.min() == profile.max()) return 1;
    return std::max<std::size_t>(2, static_cast<std::size_t>(std::llround(profile.distinct_estimate())));
}

std::size_t categorical_distinct(const stats::CategoricalProfile& profile) {
    if (profile.count() == 0) return 0;
    if (profile.items().is_exact()) return profile.items().tracked();
    return std::max<std::size_t>(2, static_cast<std::size_t>(std::llround(profile.distinct_estimate())));
}

}  // namespace

void evaluate_numeric_profile_quality(std::string_view feature, const stats::NumericProfile& reference,
                                      const stats::NumericProfile& window, const DataQualityOptions& options,
                                      QualityReport& report, double range_quantile) {
    add_missing_rate(feature, reference.count(), reference.missing_count(), window.count(), window.missing_count(),
                     options, report);
    const std::size_t window_distinct = numeric_distinct(window);
    add_profile_metric(report, "distinct_values", feature, static_cast<double>(window_distinct));

    if (reference.count() > 0 && window.count() > 0) {
        const stats::KllSketch& reference_kll = reference.quantiles();
        const stats::KllSketch& window_kll = window.quantiles();
        const double low =
            options.use_quantile_range ? reference_kll.quantile(range_quantile) : reference.min();
        const double high =
            options.use_quantile_range ? reference_kll.quantile(1 - range_quantile) : reference.max();
        double below = 0;
        double above = 0;
        const bool inside = window.min() >= low && window.max() <= high;
        if (!inside) {
            // Bins (-inf, low), [low, next(high)), [next(high), +inf).
            const std::array<double, 2> edges{low, std::nextafter(high, std::numeric_limits<double>::infinity())};
            const std::vector<double> counts = window_kll.bin_counts(edges);
            below = counts[0];
            above = counts[2];
        }
        const double observed = profile_quality_share(below + above, static_cast<double>(window.count()));
        // The min-max range is exact, so only the window's two ranks err; a
        // quantile range's ends are the reference sketch's (see the header).
        json bound = nullptr;
        const char* basis = "approximate: the range's ends are the reference sketch's quantiles (within the "
                            "reference's rank error in rank, no bound on the window's share between them and the "
                            "raw rows' quantiles)";
        if (!options.use_quantile_range) {
            bound = inside ? 0.0 : 2 * stats::KllSketch::normalized_rank_error(window_kll.k());
            basis = inside ? "exact min and max inside the range"
                           : "the window's KLL sketch, within the bound (99%)";
        }
        add_profile_metric(report, "out_of_range_share", feature, observed);
        add_profile_check(report, feature, "out_of_range_share", observed, options.out_of_range_share,
                          observed > options.out_of_range_share,
                          {{"low", low},
                           {"high", high},
                           {"range", options.use_quantile_range ? "quantile" : "min_max"},
                           {"below", std::llround(below)},
                           {"above", std::llround(above)},
                           {"valid", window.count()},
                           {"bound", std::move(bound)},
                           {"basis", basis}});
    }
    add_constant_checks(feature, window_distinct, numeric_distinct(reference), window.count() > 0,
                        reference.count() > 0, options, "exact min and max; HyperLogLog for more than one value",
                        report);
}

void evaluate_categorical_profile_quality(std::string_view feature, const stats::CategoricalProfile& reference,
                                          const stats::CategoricalProfile& window, const DataQualityOptions& options,
                                          QualityReport& report) {
    add_missing_rate(feature, reference.count(), reference.missing_count(), window.count(), window.missing_count(),
                     options, report);
    const std::size_t window_distinct = categorical_distinct(window);
    add_profile_metric(report, "distinct_values", feature, static_cast<double>(window_distinct));
    const bool exact = reference.items().is_exact() && window.items().is_exact();
    const char* basis = exact ? "frequent items (exact)"
                              : "frequent items past their capacity: untracked categories are not counted "
                                "(approximate)";

    if (window.count() > 0) {
        // New: tracked in the window, absent from the reference.
        std::uint64_t unseen_rows = 0;
        std::size_t unseen_distinct = 0;
        json unseen = json::array();
        for (const stats::ItemCount& item : window.items().items()) {
            if (reference.items().count(item.item) != 0) continue;
            if (!reference.items().is_exact()) continue;  // it may hide among the reference's untracked
            unseen_rows += item.count;
            ++unseen_distinct;
            if (unseen.size() < options.max_reported_values) unseen.push_back({{"value", item.item}, {"count", item.count}});
        }
        const double observed =
            profile_quality_share(static_cast<double>(unseen_rows), static_cast<double>(window.count()));
        add_profile_metric(report, "new_category_share", feature, observed);
        add_profile_metric(report, "new_categories", feature, static_cast<double>(unseen_distinct));
        add_profile_check(report, feature, "new_category_share", observed, options.new_category_share,
                          observed > options.new_category_share,
                          {{"categories", std::move(unseen)},
                           {"distinct", unseen_distinct},
                           {"rows", unseen_rows},
                           {"valid", window.count()},
                           {"basis", basis}});

        // Vanished: a common reference category the window should have held.
        json vanished = json::array();
        std::size_t vanished_count = 0;
        const double reference_valid = static_cast<double>(reference.count());
        for (const stats::ItemCount& item : reference.items().items()) {
            const double reference_share = static_cast<double>(item.count) / reference_valid;
            if (reference_share < options.vanished_min_reference_share) continue;
            if (reference_share * static_cast<double>(window.count()) < options.vanished_min_expected_count) continue;
            if (window.items().count(item.item) != 0 || !window.items().is_exact()) continue;
            ++vanished_count;
            if (vanished.size() < options.max_reported_values)
                vanished.push_back({{"value", item.item}, {"reference_share", reference_share}});
        }
        add_profile_metric(report, "vanished_categories", feature, static_cast<double>(vanished_count));
        add_profile_check(report, feature, "vanished_categories", static_cast<double>(vanished_count),
                          static_cast<double>(options.max_vanished_categories),
                          vanished_count > options.max_vanished_categories,
                          {{"categories", std::move(vanished)}, {"valid", window.count()}, {"basis", basis}});
    }
    add_constant_checks(feature, window_distinct, categorical_distinct(reference), window.count() > 0,
                        reference.count() > 0, options, basis, report);
}

}  // namespace mw::quality
