#include "fairness/group_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

#include "fairness/suppression.h"

namespace mw::fairness {

const char* to_string(Rate rate) {
    switch (rate) {
        case Rate::base_rate: return "base_rate";
        case Rate::selection_rate: return "selection_rate";
        case Rate::tpr: return "tpr";
        case Rate::fpr: return "fpr";
        case Rate::fnr: return "fnr";
        case Rate::tnr: return "tnr";
        case Rate::ppv: return "ppv";
        case Rate::npv: return "npv";
        case Rate::accuracy: return "accuracy";
    }
    return "unknown";
}

const char* title(Rate rate) {
    switch (rate) {
        case Rate::base_rate: return "Base rate";
        case Rate::selection_rate: return "Selection rate";
        case Rate::tpr: return "True positive rate (TPR)";
        case Rate::fpr: return "False positive rate (FPR)";
        case Rate::fnr: return "False negative rate (FNR)";
        case Rate::tnr: return "True negative rate (TNR)";
        case Rate::ppv: return "Precision (PPV)";
        case Rate::npv: return "Negative predictive value (NPV)";
        case Rate::accuracy: return "Accuracy";
    }
    return "unknown";
}

// Each matches the Fairlearn function of the same meaning (fairlearn.metrics.
// selection_rate, true_positive_rate, false_positive_rate, ...) and the
// Aequitas column (pprev, tpr, fpr, fnr, tnr, precision, npv).
const char* definition(Rate rate) {
    switch (rate) {
        case Rate::base_rate: return "(TP + FN) / n: the share of rows whose true label is positive";
        case Rate::selection_rate: return "(TP + FP) / n: the share of rows predicted positive";
        case Rate::tpr: return "TP / (TP + FN): of the truly positive rows, the share predicted positive";
        case Rate::fpr: return "FP / (FP + TN): of the truly negative rows, the share predicted positive";
        case Rate::fnr: return "FN / (TP + FN): of the truly positive rows, the share predicted negative";
        case Rate::tnr: return "TN / (FP + TN): of the truly negative rows, the share predicted negative";
        case Rate::ppv: return "TP / (TP + FP): of the rows predicted positive, the share truly positive";
        case Rate::npv: return "TN / (TN + FN): of the rows predicted negative, the share truly negative";
        case Rate::accuracy: return "(TP + TN) / n: the share of rows predicted correctly";
    }
    return "unknown";
}

double Fraction::value() const {
    if (denominator == 0) return std::numeric_limits<double>::quiet_NaN();
    return static_cast<double>(numerator) / static_cast<double>(denominator);
}

Fraction rate_fraction(const ConfusionCounts& c, Rate rate) {
    switch (rate) {
        case Rate::base_rate: return {c.tp + c.fn, c.total()};
        case Rate::selection_rate: return {c.tp + c.fp, c.total()};
        case Rate::tpr: return {c.tp, c.tp + c.fn};
        case Rate::fpr: return {c.fp, c.fp + c.tn};
        case Rate::fnr: return {c.fn, c.tp + c.fn};
        case Rate::tnr: return {c.tn, c.fp + c.tn};
        case Rate::ppv: return {c.tp, c.tp + c.fp};
        case Rate::npv: return {c.tn, c.tn + c.fn};
        case Rate::accuracy: return {c.tp + c.tn, c.total()};
    }
    return {};
}

std::size_t calibration_bucket(double score, std::size_t buckets) {
    const double scaled = std::floor(score * static_cast<double>(buckets));
    if (!(scaled > 0)) return 0;
    return std::min(static_cast<std::size_t>(scaled), buckets - 1);
}

namespace {

// The sums of one group: its confusion counts and, with scores, per
// calibration bucket its rows, truly positive rows and score sum.
struct GroupSums {
    ConfusionCounts counts;
    std::vector<std::uint64_t> bucket_count;
    std::vector<std::uint64_t> bucket_positives;
    std::vector<double> bucket_score_sum;
};

// The same sums per cell, an observed combination of the codes of the
// attributes the groupings name, in flat arrays that grow as cells are first
// seen. A cell's confusion counts sit at [4 * cell + 2 * truth + predicted]
// (tn, fp, fn, tp), its buckets at [buckets * cell + bucket].
struct CellSums {
    std::size_t buckets = 0;  // 0 without scores
    std::vector<std::uint64_t> combination;  // per cell, its mixed-radix code over the attributes
    std::vector<std::uint64_t> confusion;
    std::vector<std::uint64_t> bucket_count;
    std::vector<std::uint64_t> bucket_positives;
    std::vector<double> bucket_score_sum;

    std::uint32_t add_cell(std::uint64_t code) {
        const auto cell = static_cast<std::uint32_t>(combination.size());
        combination.push_back(code);
        confusion.resize(confusion.size() + 4, 0);
        bucket_count.resize(bucket_count.size() + buckets, 0);
        bucket_positives.resize(bucket_positives.size() + buckets, 0);
        bucket_score_sum.resize(bucket_score_sum.size() + buckets, 0.0);
        return cell;
    }
    std::size_t cells() const { return combination.size(); }
};

// Past this many combinations of codes a row's cell is found by hashing its
// combined code instead of indexing a table of one slot per combination
// (4 bytes each: 4 MiB at most).
constexpr std::uint64_t dense_cell_table_limit = std::uint64_t{1} << 20;
constexpr std::uint32_t no_cell = UINT32_MAX;

// One pass over the rows: each row's combined code (a mixed-radix number
// over `columns`), its cell found by `cell_of`, and the cell's sums. Rows
// hold no per-row allocation and nothing is written per row but the sums.
template <bool Scores, typename CellOf>
void add_rows_to_cells(CellSums& sums, const std::vector<const AttributeCode*>& columns,
                       const std::vector<std::uint64_t>& radices, const AuditData& data, CellOf cell_of) {
    const std::size_t rows = data.rows();
    const std::size_t attributes = columns.size();
    const std::uint8_t* y_true = data.y_true.data();
    const std::uint8_t* y_pred = data.y_pred.data();
    const double* score = data.score.data();
    const std::size_t buckets = sums.buckets;
    const double scale = static_cast<double>(buckets);
    for (std::size_t r = 0; r < rows; ++r) {
        std::uint64_t combined = 0;
        for (std::size_t k = 0; k < attributes; ++k) combined = combined * radices[k] + columns[k][r];
        const std::size_t cell = cell_of(combined);
        const std::size_t truth = y_true[r] != 0 ? 1 : 0;
        ++sums.confusion[4 * cell + 2 * truth + (y_pred[r] != 0 ? 1 : 0)];
        if constexpr (Scores) {
            // calibration_bucket, written out: a cast truncates as floor
            // does for the positive values it is given here.
            const double scaled = score[r] * scale;
            const std::size_t bucket =
                !(scaled > 0) ? 0 : scaled >= scale ? buckets - 1 : static_cast<std::size_t>(scaled);
            const std::size_t at = buckets * cell + bucket;
            ++sums.bucket_count[at];
            sums.bucket_positives[at] += truth;
            sums.bucket_score_sum[at] += score[r];
        }
    }
}

CellSums sum_cells(const AuditData& data, const std::vector<std::size_t>& attribute_indices, std::size_t buckets) {
    CellSums sums;
    sums.buckets = data.has_scores() ? buckets : 0;
    std::vector<const AttributeCode*> columns;
    std::vector<std::uint64_t> radices;
    std::uint64_t combinations = 1;
    for (std::size_t a : attribute_indices) {
        const AttributeColumn& column = data.attributes.at(a);
        if (column.codes.size() != data.rows())
            throw std::invalid_argument("attribute '" + column.name + "' has " + std::to_string(column.codes.size()) +
                                        " codes for " + std::to_string(data.rows()) + " rows");
        const std::uint64_t radix = std::max<std::uint64_t>(1, column.values.size());
        if (combinations > (std::uint64_t{1} << 62) / radix)
            throw std::length_error("too many combinations of attribute values to group by");
        combinations *= radix;
        columns.push_back(column.codes.data());
        radices.push_back(radix);
    }
    if (data.y_pred.size() != data.rows() || (data.has_scores() && data.score.size() != data.rows()))
        throw std::invalid_argument("audit columns of different lengths");
    auto run = [&](auto cell_of) {
        if (sums.buckets > 0)
            add_rows_to_cells<true>(sums, columns, radices, data, cell_of);
        else
            add_rows_to_cells<false>(sums, columns, radices, data, cell_of);
    };
    if (combinations <= dense_cell_table_limit) {
        std::vector<std::uint32_t> cell_of_code(combinations, no_cell);
        run([&](std::uint64_t code) -> std::size_t {
            std::uint32_t& cell = cell_of_code[code];
            if (cell == no_cell) cell = sums.add_cell(code);
            return cell;
        });
    } else {
        std::unordered_map<std::uint64_t, std::uint32_t> cell_of_code;
        run([&](std::uint64_t code) -> std::size_t {
            const auto [it, inserted] = cell_of_code.try_emplace(code, no_cell);
            if (inserted) it->second = sums.add_cell(code);
            return it->second;
        });
    }
    return sums;
}

void add_cell_to_group(GroupSums& group, const CellSums& sums, std::size_t cell) {
    const std::uint64_t* c = &sums.confusion[4 * cell];
    group.counts.tn += c[0];
    group.counts.fp += c[1];
    group.counts.fn += c[2];
    group.counts.tp += c[3];
    for (std::size_t b = 0; b < sums.buckets; ++b) {
        group.bucket_count[b] += sums.bucket_count[sums.buckets * cell + b];
        group.bucket_positives[b] += sums.bucket_positives[sums.buckets * cell + b];
        group.bucket_score_sum[b] += sums.bucket_score_sum[sums.buckets * cell + b];
    }
}

GroupSums empty_group(std::size_t buckets) {
    GroupSums group;
    group.bucket_count.assign(buckets, 0);
    group.bucket_positives.assign(buckets, 0);
    group.bucket_score_sum.assign(buckets, 0.0);
    return group;
}

GroupMetrics finish_group_metrics(const GroupSums& a, std::vector<std::string> values, const GroupMetricsOptions& options) {
    GroupMetrics m;
    m.label = group_label(values);
    m.values = std::move(values);
    m.counts = a.counts;
    m.too_small = a.counts.total() < options.min_group_size;
    for (Rate rate : all_rates) {
        RateEstimate& e = m.rates[static_cast<std::size_t>(rate)];
        e.fraction = rate_fraction(a.counts, rate);
        e.value = e.fraction.value();
        e.wilson = wilson_interval(e.fraction.numerator, e.fraction.denominator, options.confidence);
    }
    if (a.bucket_count.empty()) return m;
    // Expected calibration error: Naeini, Cooper and Hauskrecht (2015),
    // "Obtaining well calibrated probabilities using Bayesian binning", AAAI;
    // sum over buckets of n_b / n * |mean score_b - observed positive rate_b|.
    const std::size_t buckets = a.bucket_count.size();
    const double n = static_cast<double>(a.counts.total());
    double error = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
        CalibrationBucket bucket;
        bucket.lower = static_cast<double>(b) / static_cast<double>(buckets);
        bucket.upper = static_cast<double>(b + 1) / static_cast<double>(buckets);
        bucket.count = a.bucket_count[b];
        if (bucket.count > 0) {
            const double count = static_cast<double>(bucket.count);
            bucket.mean_score = a.bucket_score_sum[b] / count;
            bucket.positive_rate = static_cast<double>(a.bucket_positives[b]) / count;
            error += count / n * std::fabs(bucket.mean_score - bucket.positive_rate);
        }
        m.calibration.push_back(bucket);
    }
    m.calibration_error = a.counts.total() > 0 ? error : std::numeric_limits<double>::quiet_NaN();
    return m;
}

}  // namespace

GroupingsMetrics compute_groupings_metrics(const AuditData& data,
                                           const std::vector<std::vector<std::size_t>>& groupings,
                                           const GroupMetricsOptions& options) {
    if (options.calibration_buckets == 0) throw std::invalid_argument("calibration_buckets must be at least 1");
    // The cells: every attribute any grouping names, each once.
    std::vector<std::size_t> attributes;
    for (const auto& grouping : groupings)
        for (std::size_t a : grouping)
            if (std::find(attributes.begin(), attributes.end(), a) == attributes.end()) attributes.push_back(a);
    const CellSums sums = sum_cells(data, attributes, options.calibration_buckets);

    // Each cell's code of every attribute, from its combined code.
    std::vector<AttributeCode> cell_codes(sums.cells() * attributes.size());
    for (std::size_t cell = 0; cell < sums.cells(); ++cell) {
        std::uint64_t code = sums.combination[cell];
        for (std::size_t k = attributes.size(); k-- > 0;) {
            const std::uint64_t radix = std::max<std::uint64_t>(1, data.attributes[attributes[k]].values.size());
            cell_codes[cell * attributes.size() + k] = static_cast<AttributeCode>(code % radix);
            code /= radix;
        }
    }

    GroupingsMetrics result;
    GroupSums all = empty_group(sums.buckets);
    for (std::size_t cell = 0; cell < sums.cells(); ++cell) add_cell_to_group(all, sums, cell);
    GroupMetricsOptions overall_options = options;
    overall_options.min_group_size = 0;
    result.overall = finish_group_metrics(all, {"all"}, overall_options);

    for (const auto& grouping : groupings) {
        std::vector<std::size_t> positions;  // of the grouping's attributes among `attributes`
        for (std::size_t a : grouping)
            positions.push_back(static_cast<std::size_t>(
                std::find(attributes.begin(), attributes.end(), a) - attributes.begin()));
        // Groups by their codes, in first-seen order of the cells.
        std::map<std::vector<AttributeCode>, std::size_t> group_of_codes;
        std::vector<GroupSums> group_sums;
        std::vector<std::vector<std::string>> group_values;
        std::vector<AttributeCode> codes(positions.size());
        for (std::size_t cell = 0; cell < sums.cells(); ++cell) {
            for (std::size_t k = 0; k < positions.size(); ++k)
                codes[k] = cell_codes[cell * attributes.size() + positions[k]];
            const auto [it, inserted] = group_of_codes.try_emplace(codes, group_sums.size());
            if (inserted) {
                group_sums.push_back(empty_group(sums.buckets));
                std::vector<std::string> values;
                for (std::size_t k = 0; k < grouping.size(); ++k)
                    values.push_back(data.attributes[grouping[k]].values[codes[k]]);
                group_values.push_back(std::move(values));
            }
            add_cell_to_group(group_sums[it->second], sums, cell);
        }
        std::vector<std::size_t> order(group_sums.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return group_values[a] < group_values[b]; });
        std::vector<GroupMetrics> metrics;
        metrics.reserve(order.size());
        for (std::size_t g : order) metrics.push_back(finish_group_metrics(group_sums[g], std::move(group_values[g]), options));
        result.groupings.push_back(std::move(metrics));
    }
    return result;
}

void suppress_complements(std::vector<GroupMetrics>& groups, std::uint64_t min_group_size,
                          std::optional<std::size_t> avoid, const std::vector<std::set<std::string>>& hidden_margins) {
    std::vector<std::vector<std::string>> values;
    std::vector<std::vector<std::uint64_t>> counts(1);
    std::vector<bool> suppressed;
    for (const auto& group : groups) {
        values.push_back(group.values);
        counts[0].push_back(group.counts.total());
        suppressed.push_back(group.too_small);
    }
    suppressed = suppress_under_hidden_margins(values, hidden_margins, std::move(suppressed));
    const auto hidden = complementary_suppression(values, counts, suppressed, min_group_size, avoid);
    for (std::size_t g = 0; g < groups.size(); ++g)
        if (hidden[g] && !groups[g].too_small) groups[g].too_small = groups[g].complementary = true;
}

std::vector<GroupMetrics> compute_group_metrics(const AuditData& data, const std::vector<std::size_t>& attribute_indices,
                                                const GroupMetricsOptions& options) {
    return std::move(compute_groupings_metrics(data, {attribute_indices}, options).groupings.front());
}

GroupMetrics compute_overall_metrics(const AuditData& data, const GroupMetricsOptions& options) {
    return compute_groupings_metrics(data, {}, options).overall;
}

std::vector<RegressionGroupMetrics> compute_regression_group_metrics(const Grouping& grouping,
                                                                     std::span<const double> y_true,
                                                                     std::span<const double> y_pred,
                                                                     std::uint64_t min_group_size) {
    std::vector<RegressionGroupMetrics> metrics(grouping.group_count());
    std::vector<double> error_sum(grouping.group_count(), 0.0);
    std::vector<double> absolute_sum(grouping.group_count(), 0.0);
    const std::size_t rows = std::min({y_true.size(), y_pred.size(), grouping.group_of_row.size()});
    for (std::size_t r = 0; r < rows; ++r) {
        const std::uint32_t g = grouping.group_of_row[r];
        const double error = y_pred[r] - y_true[r];
        ++metrics[g].count;
        error_sum[g] += error;
        absolute_sum[g] += std::fabs(error);
    }
    for (std::size_t g = 0; g < metrics.size(); ++g) {
        metrics[g].values = grouping.group_values[g];
        metrics[g].label = group_label(metrics[g].values);
        metrics[g].too_small = metrics[g].count < min_group_size;
        if (metrics[g].count == 0) continue;
        metrics[g].mean_error = error_sum[g] / static_cast<double>(metrics[g].count);
        metrics[g].mean_absolute_error = absolute_sum[g] / static_cast<double>(metrics[g].count);
    }
    return metrics;
}

}  // namespace mw::fairness
