#include "detectors/dataset_drift.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mw::drift {

namespace {

std::string segment_key(const ColumnData& column, std::size_t row) {
    if (!column.numeric) return std::string(column.texts[row]);
    return std::isnan(column.numbers[row]) ? std::string() : fmt::format("{}", column.numbers[row]);
}

double mean_of(const std::vector<double>& values, std::size_t begin, std::size_t end) {
    double sum = 0;
    for (std::size_t i = begin; i < end; ++i) sum += values[i];
    return sum / static_cast<double>(end - begin);
}

// Standardised row `row` of the PCA columns (missing -> 0, the mean).
void standardised_row(const PcaModel& model, const std::vector<const ColumnData*>& columns, std::size_t row,
                      std::vector<double>& out) {
    for (std::size_t j = 0; j < columns.size(); ++j) {
        const double v = columns[j]->numbers[row];
        out[j] = std::isnan(v) ? 0.0 : (v - model.means[j]) / model.sds[j];
    }
}

double reconstruction_error(const PcaModel& model, const std::vector<double>& z) {
    std::vector<double> reconstructed(z.size(), 0.0);
    for (const auto& component : model.components) {
        const double projection = std::inner_product(z.begin(), z.end(), component.begin(), 0.0);
        for (std::size_t j = 0; j < z.size(); ++j) reconstructed[j] += projection * component[j];
    }
    double sum_squares = 0;
    for (std::size_t j = 0; j < z.size(); ++j) sum_squares += (z[j] - reconstructed[j]) * (z[j] - reconstructed[j]);
    return std::sqrt(sum_squares);
}

std::vector<const ColumnData*> pca_columns(const PcaModel& model, const DriftTable& table, std::string& error) {
    std::vector<const ColumnData*> columns;
    for (const auto& name : model.columns) {
        const ColumnData* column = table.find(name);
        if (column == nullptr || !column->numeric) {
            error = fmt::format("column '{}' is missing or not numeric", name);
            return {};
        }
        columns.push_back(column);
    }
    return columns;
}

}  // namespace

const ColumnData* DriftTable::find(std::string_view name) const {
    for (const auto& column : columns)
        if (column.name == name) return &column;
    return nullptr;
}

DriftTable select_rows(const DriftTable& table, const std::string& column, const std::string& value) {
    DriftTable out;
    const ColumnData* key = table.find(column);
    if (key == nullptr) return out;
    std::vector<std::size_t> rows;
    for (std::size_t r = 0; r < table.rows; ++r)
        if (segment_key(*key, r) == value) rows.push_back(r);
    out.rows = rows.size();
    for (const auto& source : table.columns) {
        ColumnData selected{source.name, source.numeric, {}, {}};
        for (std::size_t r : rows) {
            if (source.numeric)
                selected.numbers.push_back(source.numbers[r]);
            else
                selected.texts.push_back(source.texts[r]);
        }
        out.columns.push_back(std::move(selected));
    }
    return out;
}

SymmetricEigen jacobi_eigen(std::vector<std::vector<double>> a) {
    const std::size_t n = a.size();
    std::vector<std::vector<double>> v(n, std::vector<double>(n, 0.0));
    for (std::size_t i = 0; i < n; ++i) v[i][i] = 1.0;
    auto off_norm = [&] {
        double off = 0, total = 0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                total += a[i][j] * a[i][j];
                if (i != j) off += a[i][j] * a[i][j];
            }
        return std::pair{std::sqrt(off), std::sqrt(total)};
    };
    constexpr int max_sweeps = 100;
    for (int sweep = 0; sweep < max_sweeps; ++sweep) {
        const auto [off, total] = off_norm();
        if (off <= 1e-14 * total || total == 0) break;
        for (std::size_t p = 0; p + 1 < n; ++p) {
            for (std::size_t q = p + 1; q < n; ++q) {
                if (a[p][q] == 0) continue;
                // The symmetric Schur decomposition of the 2x2 block
                // (Golub & Van Loan, algorithm 8.5.1): the rotation (c, s) that zeroes a[p][q].
                const double tau = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                const double t = (tau >= 0 ? 1.0 : -1.0) / (std::abs(tau) + std::sqrt(1 + tau * tau));
                const double c = 1 / std::sqrt(1 + t * t);
                const double s = t * c;
                for (std::size_t k = 0; k < n; ++k) {
                    const double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for (std::size_t k = 0; k < n; ++k) {
                    const double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for (std::size_t k = 0; k < n; ++k) {
                    const double vkp = v[k][p], vkq = v[k][q];
                    v[k][p] = c * vkp - s * vkq;
                    v[k][q] = s * vkp + c * vkq;
                }
            }
        }
    }
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return a[x][x] > a[y][y]; });
    SymmetricEigen result;
    for (std::size_t i : order) {
        result.values.push_back(a[i][i]);
        std::vector<double> column(n);
        for (std::size_t k = 0; k < n; ++k) column[k] = v[k][i];
        result.vectors.push_back(std::move(column));
    }
    return result;
}

PcaModel fit_pca(const DriftTable& reference, const std::vector<std::string>& columns,
                 const MultivariateOptions& options) {
    PcaModel model;
    std::vector<const ColumnData*> data;
    for (const auto& name : columns) {
        const ColumnData* column = reference.find(name);
        if (column == nullptr || !column->numeric) continue;
        double sum = 0;
        std::size_t n = 0;
        double low = std::numeric_limits<double>::infinity();
        double high = -low;
        for (double v : column->numbers)
            if (!std::isnan(v)) sum += v, ++n, low = std::min(low, v), high = std::max(high, v);
        // A constant column carries no variance to reconstruct; tested on the
        // values, since the rounded mean of equal values can leave an sd of
        // 1e-18 that would blow every current deviation up to 1e+12.
        if (n < 2 || low == high) continue;
        const double mean = sum / static_cast<double>(n);
        double sum_squares = 0;
        for (double v : column->numbers)
            if (!std::isnan(v)) sum_squares += (v - mean) * (v - mean);
        const double sd = std::sqrt(sum_squares / static_cast<double>(n));
        model.columns.push_back(name);
        model.means.push_back(mean);
        model.sds.push_back(sd);
        data.push_back(column);
    }
    const std::size_t p = data.size();
    if (p < 2) {
        model.error = fmt::format("needs at least 2 non-constant numeric features, found {}", p);
        return model;
    }
    if (reference.rows < 2 * options.fallback_chunks) {
        model.error =
            fmt::format("needs at least {} reference rows, found {}", 2 * options.fallback_chunks, reference.rows);
        return model;
    }
    std::vector<std::vector<double>> covariance(p, std::vector<double>(p, 0.0));
    std::vector<double> z(p);
    for (std::size_t r = 0; r < reference.rows; ++r) {
        standardised_row(model, data, r, z);
        for (std::size_t i = 0; i < p; ++i)
            for (std::size_t j = i; j < p; ++j) covariance[i][j] += z[i] * z[j];
    }
    for (std::size_t i = 0; i < p; ++i)
        for (std::size_t j = i; j < p; ++j) {
            covariance[i][j] /= static_cast<double>(reference.rows - 1);
            covariance[j][i] = covariance[i][j];
        }
    auto eigen = jacobi_eigen(std::move(covariance));
    const double total = std::accumulate(eigen.values.begin(), eigen.values.end(), 0.0);
    double kept = 0;
    for (std::size_t k = 0; k < p && kept < options.variance_share * total; ++k) {
        kept += eigen.values[k];
        model.components.push_back(eigen.vectors[k]);
    }
    model.explained_variance_share = kept / total;
    model.eigenvalues = eigen.values;
    model.reference_row_errors.reserve(reference.rows);
    for (std::size_t r = 0; r < reference.rows; ++r) {
        standardised_row(model, data, r, z);
        model.reference_row_errors.push_back(reconstruction_error(model, z));
    }
    return model;
}

double PcaModel::window_error(const DriftTable& table) const {
    std::string problem;
    const auto data = pca_columns(*this, table, problem);
    if (!problem.empty() || table.rows == 0) return std::numeric_limits<double>::quiet_NaN();
    std::vector<double> z(columns.size());
    double sum = 0;
    for (std::size_t r = 0; r < table.rows; ++r) {
        standardised_row(*this, data, r, z);
        sum += reconstruction_error(*this, z);
    }
    return sum / static_cast<double>(table.rows);
}

MultivariateDriftResult evaluate_pca(const PcaModel& model, const DriftTable& current,
                                     const MultivariateOptions& options) {
    MultivariateDriftResult result;
    result.columns = model.columns;
    if (!model.ok()) {
        result.error = model.error;
        return result;
    }
    std::string error;
    pca_columns(model, current, error);
    if (!error.empty() || current.rows == 0) {
        result.error = error.empty() ? "the current window is empty" : error;
        return result;
    }
    result.components = model.components.size();
    result.explained_variance_share = model.explained_variance_share;
    const std::size_t n = model.reference_row_errors.size();
    result.chunk_rows = current.rows;
    if (n / current.rows < options.min_chunks) result.chunk_rows = n / options.fallback_chunks;
    result.chunks = n / result.chunk_rows;
    std::vector<double> chunk_errors;
    for (std::size_t c = 0; c < result.chunks; ++c)
        chunk_errors.push_back(mean_of(model.reference_row_errors, c * result.chunk_rows, (c + 1) * result.chunk_rows));
    result.reference_mean = mean_of(chunk_errors, 0, chunk_errors.size());
    double sum_squares = 0;
    for (double e : chunk_errors) sum_squares += (e - result.reference_mean) * (e - result.reference_mean);
    result.reference_sd = std::sqrt(sum_squares / static_cast<double>(chunk_errors.size() - 1));
    result.lower = result.reference_mean - options.sd_multiplier * result.reference_sd;
    result.upper = result.reference_mean + options.sd_multiplier * result.reference_sd;
    result.current_error = model.window_error(current);
    result.drifted = result.current_error > result.upper || result.current_error < result.lower;
    result.evaluated = true;
    return result;
}

FittedReference::FitResult FittedReference::fit(const DriftTable& reference, const DatasetDriftOptions& options) {
    FitResult out;
    FittedReference fitted;
    fitted.options_ = options;
    fitted.reference_rows_ = reference.rows;
    if (!options.segment_column.empty() && reference.find(options.segment_column) == nullptr) {
        out.error = fmt::format("segment column '{}' is not in the reference", options.segment_column);
        return out;
    }
    if (options.columns.empty()) {
        for (const auto& column : reference.columns)
            if (column.name != options.segment_column) fitted.columns_.push_back(column.name);
    } else {
        for (const auto& name : options.columns) {
            if (reference.find(name) == nullptr) {
                out.error = fmt::format("column '{}' is not in the reference", name);
                return out;
            }
            fitted.columns_.push_back(name);
        }
    }
    if (fitted.columns_.empty()) {
        out.error = "no feature columns to compare";
        return out;
    }
    auto fit_features = [&](const DriftTable& table, std::vector<FittedFeature>& features) {
        for (const auto& name : fitted.columns_) {
            const auto found = options.feature.per_feature.find(name);
            const auto& choice =
                found != options.feature.per_feature.end() ? found->second : options.feature.default_choice;
            features.push_back(fit_feature(*table.find(name), choice, options.feature));
        }
    };
    fit_features(reference, fitted.features_);
    fitted.caches_.resize(fitted.features_.size());
    if (!options.segment_column.empty()) {
        const ColumnData& key = *reference.find(options.segment_column);
        std::set<std::string> values;
        for (std::size_t r = 0; r < reference.rows; ++r) values.insert(segment_key(key, r));
        for (const auto& value : values) {
            const DriftTable rows = select_rows(reference, options.segment_column, value);
            Segment segment;
            segment.reference_rows = rows.rows;
            if (rows.rows < options.min_segment_reference_rows)
                segment.error = fmt::format("{} reference rows, fewer than the {} needed", rows.rows,
                                            options.min_segment_reference_rows);
            else
                fit_features(rows, segment.features);
            segment.caches.resize(segment.features.size());
            fitted.segments_.emplace(value, std::move(segment));
        }
    }
    if (options.multivariate.enabled) {
        std::vector<std::string> numeric;
        for (const auto& feature : fitted.features_)
            if (!feature.categorical && feature.error.empty()) numeric.push_back(feature.name);
        fitted.pca_ = fit_pca(reference, numeric, options.multivariate);
    }
    out.reference = std::move(fitted);
    return out;
}

DriftVerdict FittedReference::evaluate_features(const std::vector<FittedFeature>& features,
                                                std::vector<NoiseBaselineCache>& caches,
                                                const DriftTable& current) const {
    DriftVerdict verdict;
    std::vector<const FittedFeature*> fitted;
    std::vector<NoiseBaselineCache*> cache_pointers;
    for (std::size_t i = 0; i < features.size(); ++i) {
        const ColumnData* column = current.find(features[i].name);
        if (column == nullptr) {
            FeatureDriftResult missing;
            missing.feature = features[i].name;
            missing.method = features[i].method;
            missing.error = "column is not in the current data";
            verdict.features.push_back(std::move(missing));
        } else {
            verdict.features.push_back(evaluate_feature(features[i], *column, options_.feature));
        }
        fitted.push_back(&features[i]);
        cache_pointers.push_back(&caches[i]);
    }
    decide_drift(verdict.features, fitted, cache_pointers, options_.feature);
    for (const auto& result : verdict.features) {
        if (!result.ok()) continue;
        ++verdict.evaluated;
        if (result.drifted) ++verdict.drifted;
    }
    verdict.share =
        verdict.evaluated == 0 ? 0.0 : static_cast<double>(verdict.drifted) / static_cast<double>(verdict.evaluated);
    verdict.drift_share = options_.feature.drift_share;
    verdict.dataset_drift = verdict.evaluated > 0 && verdict.share >= verdict.drift_share;
    return verdict;
}

DatasetDriftResult FittedReference::evaluate(const DriftTable& current) {
    DatasetDriftResult result;
    result.reference_rows = reference_rows_;
    result.current_rows = current.rows;
    result.overall = evaluate_features(features_, caches_, current);
    if (options_.multivariate.enabled) result.multivariate = evaluate_pca(pca_, current, options_.multivariate);
    result.segment_column = options_.segment_column;
    if (options_.segment_column.empty()) return result;
    const ColumnData* key = current.find(options_.segment_column);
    if (key == nullptr) return result;
    std::set<std::string> values;
    for (std::size_t r = 0; r < current.rows; ++r) values.insert(segment_key(*key, r));
    for (const auto& value : values) {
        SegmentDriftResult segment_result;
        segment_result.value = value;
        const DriftTable rows = select_rows(current, options_.segment_column, value);
        segment_result.current_rows = rows.rows;
        auto found = segments_.find(value);
        if (found == segments_.end()) {
            segment_result.error = "value never seen in the reference";
        } else if (!found->second.error.empty()) {
            segment_result.reference_rows = found->second.reference_rows;
            segment_result.error = found->second.error;
        } else {
            segment_result.reference_rows = found->second.reference_rows;
            segment_result.verdict = evaluate_features(found->second.features, found->second.caches, rows);
        }
        result.segments.push_back(std::move(segment_result));
    }
    return result;
}

std::vector<Finding> to_findings(const DatasetDriftResult& result, const std::string& model,
                                 std::int64_t window_start_us, std::int64_t window_end_us) {
    std::vector<Finding> findings;
    auto base = [&](const char* kind, std::string subject) {
        Finding finding;
        finding.model = model;
        finding.kind = kind;
        finding.subject = std::move(subject);
        finding.window_start_us = window_start_us;
        finding.window_end_us = window_end_us;
        return finding;
    };
    auto add_features = [&](const DriftVerdict& verdict, const std::string& suffix) {
        for (const auto& f : verdict.features) {
            if (!f.ok()) continue;
            Finding finding = base("feature_drift", f.feature + suffix);
            finding.method = to_string(f.method);
            finding.statistic = f.statistic;
            finding.threshold = f.threshold;
            if (f.p_value) finding.p_value = f.adjusted_p_value.value_or(*f.p_value);
            finding.triggered = f.drifted;
            finding.severity = f.drifted ? Severity::warning : Severity::info;
            nlohmann::json evidence{{"effect_size", f.effect_size},
                                    {"reference_rows", f.reference_rows},
                                    {"current_rows", f.current_rows},
                                    {"unseen_rows", f.unseen_rows}};
            if (f.p_value) evidence["raw_p_value"] = *f.p_value;
            if (f.noise) evidence["noise_limit"] = f.noise->limit;
            finding.evidence_json = evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            findings.push_back(std::move(finding));
        }
        Finding dataset = base("dataset_drift", suffix);
        dataset.method = "share";
        dataset.statistic = verdict.share;
        dataset.threshold = verdict.drift_share;
        dataset.triggered = verdict.dataset_drift;
        dataset.severity = verdict.dataset_drift ? Severity::warning : Severity::info;
        dataset.evidence_json = nlohmann::json{{"drifted", verdict.drifted}, {"evaluated", verdict.evaluated}}.dump();
        findings.push_back(std::move(dataset));
    };
    add_features(result.overall, "");
    for (const auto& segment : result.segments)
        if (segment.error.empty())
            add_features(segment.verdict, fmt::format("[{}={}]", result.segment_column, segment.value));
    if (result.multivariate.evaluated) {
        const auto& m = result.multivariate;
        Finding finding = base("multivariate_drift", "");
        finding.method = "pca_reconstruction_error";
        finding.statistic = m.current_error;
        finding.threshold = m.upper;
        finding.triggered = m.drifted;
        finding.severity = m.drifted ? Severity::warning : Severity::info;
        finding.evidence_json = nlohmann::json{
            {"lower", m.lower},
            {"upper", m.upper},
            {"components", m.components},
            {"columns", m.columns}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        findings.push_back(std::move(finding));
    }
    return findings;
}

}  // namespace mw::drift
