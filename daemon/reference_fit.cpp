#include "daemon/reference_fit.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "daemon/detector_options.h"
#include "daemon/window_table.h"
#include "detectors/reference_sample.h"

namespace mw::daemon {
namespace {

// Feature objects as the store holds them, rebuilt from a table (a stored
// reference sample keeps columns, not the original JSON).
std::vector<nlohmann::json> feature_objects(const drift::DriftTable& table, const ModelSchema& schema) {
    std::vector<nlohmann::json> rows(table.rows, nlohmann::json::object());
    for (const auto& feature : schema.features) {
        const auto* column = table.find(feature.name);
        if (column == nullptr) continue;
        for (std::size_t r = 0; r < table.rows; ++r) {
            if (column->numeric)
                rows[r][feature.name] = std::isfinite(column->numbers[r]) ? nlohmann::json(column->numbers[r])
                                                                         : nlohmann::json(nullptr);
            else if (column->texts[r].empty())
                rows[r][feature.name] = nullptr;
            else if (feature.type == FeatureType::boolean)
                rows[r][feature.name] = column->texts[r] == "true";
            else
                rows[r][feature.name] = column->texts[r];
        }
    }
    return rows;
}

// CBPE and the thresholds' reference bands, from the reference's own
// labelled rows when it was captured after its outcomes arrived.
void fit_performance_reference(const drift::DriftTable& sample, const config::ModelOptions& options,
                               ReferenceFit& fitted) {
    const auto* prediction = sample.find(prediction_column);
    const auto* label = sample.find(label_column);
    const auto* score = sample.find(score_column);
    if (prediction == nullptr || label == nullptr || prediction->numeric) return;
    std::vector<store::WindowRow> rows;
    for (std::size_t r = 0; r < sample.rows; ++r) {
        if (label->texts[r].empty()) continue;
        store::WindowRow row;
        row.prediction_label = prediction->texts[r];
        row.label = label->texts[r];
        if (score != nullptr && std::isfinite(score->numbers[r])) row.score = score->numbers[r];
        rows.push_back(std::move(row));
    }
    if (rows.size() < 20) {
        for (const auto& threshold : options.performance.thresholds)
            if (threshold.max_drop)
                log::warning("performance_reference_unlabelled model={} metric={} labelled_rows={} reason=\"fewer "
                             "than 20 of the reference's rows have labels, so max_drop has no reference value to "
                             "drop from until the model has a new reference (reference.wait_for_labels)\"",
                             options.schema.name, threshold.metric, rows.size());
        return;
    }
    const auto spec = performance_spec(options, "");
    const auto window = performance_window(rows, false);
    if (options.performance.estimate && !window.score.empty() &&
        options.schema.prediction_type == PredictionType::binary) {
        std::vector<bool> predicted;
        std::vector<bool> actual;
        for (const auto& row : rows) {
            predicted.push_back(*row.prediction_label == spec.positive_class);
            actual.push_back(*row.label == spec.positive_class);
        }
        auto fit = performance::fit_cbpe(window.score, predicted, actual);
        if (fit.ok()) fitted.cbpe = std::move(fit.reference);
    }
    // A max_drop is relative to the metric on the whole reference, which the
    // band fit carries (reference_value) whether or not the band is used.
    std::vector<std::string> banded;
    for (const auto& threshold : options.performance.thresholds)
        if ((threshold.band_sd > 0 || threshold.max_drop) &&
            std::find(banded.begin(), banded.end(), threshold.metric) == banded.end())
            banded.push_back(threshold.metric);
    if (banded.empty()) return;
    // Ten chunks of the reference: NannyML's band needs several chunks, and
    // smaller chunks than the window only widen it (conservative).
    auto bands = performance::fit_reference_band(window, spec, std::max<std::size_t>(10, rows.size() / 10), banded);
    if (bands.ok()) fitted.bands = std::move(bands.bands);
}

}  // namespace

ReferenceFit fit_reference(const store::StoredReference& reference, const config::ModelOptions& model_options) {
    const auto& model = model_options.schema.name;
    ReferenceFit fitted;
    fitted.reference_id = reference.id;
    fitted.reference_rows = reference.rows;
    fitted.data_end = reference.data_end;
    const auto sample = drift::reference_sample_from_json(reference.sample_json);
    if (!sample.ok()) {
        fitted.error = "stored reference " + std::to_string(reference.id) + " is unreadable: " + sample.error;
        log::error("reference_unusable model={} error=\"{}\"", model, fitted.error);
        return fitted;
    }
    fitted.judged = model_options.schema;
    fitted.judged.features.clear();
    for (const auto& feature : model_options.schema.features) {
        const auto* column = sample.table.find(feature.name);
        const char* reason = column == nullptr ? "not in the reference sample (added since it was captured)"
                             : column->numeric != (feature.type == FeatureType::numeric)
                                 ? "of another type in the reference sample"
                                 : nullptr;
        if (reason == nullptr) {
            fitted.judged.features.push_back(feature);
            continue;
        }
        log::warning("reference_feature_skipped model={} reference={} feature={} reason=\"{}; not compared "
                     "until the model has a new reference\"",
                     model, reference.id, feature.name, reason);
    }
    const auto& schema = fitted.judged;
    drift::DatasetDriftOptions options;
    options.feature = drift_options(model_options.drift);
    for (const auto& feature : schema.features) options.columns.push_back(feature.name);
    options.multivariate.enabled = model_options.drift.multivariate;
    // Without features to judge on rows (none declared, or a profile-only
    // model, whose features are judged from profiles: daemon/profile_detectors.h)
    // the outputs, outcomes and operations are still judged.
    if (!schema.features.empty()) {
        auto features = drift::FittedReference::fit(features_view(sample.table, schema, {}), options);
        if (!features.ok()) {
            fitted.error = features.error;
            log::error("reference_unusable model={} error=\"{}\"", model, features.error);
            return fitted;
        }
        fitted.features = std::move(features.reference);
    }
    // Segment drift of features, when the rows hold them (a profile-only
    // model's segments drift from profiles).
    for (const auto& attribute : schema.features.empty() ? std::vector<std::string>{} : model_options.drift.segments) {
        auto segment_options = options;
        segment_options.segment_column = attribute;
        segment_options.multivariate.enabled = false;
        auto segment = drift::FittedReference::fit(features_view(sample.table, schema, {attribute}), segment_options);
        if (segment.ok())
            fitted.segments.emplace_back(attribute, std::move(*segment.reference));
        else
            log::warning("segment_reference_unusable model={} attribute={} error=\"{}\"", model, attribute,
                         segment.error);
    }
    const auto outputs_table = outputs_view(sample.table);
    drift::DatasetDriftOptions output_options;
    output_options.feature = options.feature;
    output_options.multivariate.enabled = false;
    for (const auto& column : outputs_table.columns) output_options.columns.push_back(column.name);
    auto outputs = drift::FittedReference::fit(outputs_table, output_options);
    if (outputs.ok()) fitted.outputs = std::move(outputs.reference);
    // Label drift needs the reference's own outcomes; a reference captured
    // before they arrived is compared on its predictions only.
    const auto labels_table = labels_view(sample.table);
    if (labels_table.rows >= min_labelled_rows) {
        auto label_options = output_options;
        label_options.columns = {"label"};
        auto labels = drift::FittedReference::fit(labels_table, label_options);
        if (labels.ok()) fitted.labels = std::move(labels.reference);
    }
    fitted.quality = quality::fit_quality_reference(schema, feature_objects(sample.table, schema));
    fit_performance_reference(sample.table, model_options, fitted);
    apply_rebase(fitted, reference, model_options);
    if (auto labelled = ranking_rows(sample.table, schema, model_options.drift.segments, true);
        labelled.size() >= min_labelled_rows)
        fitted.causes_reference = std::move(labelled);
    return fitted;
}

void apply_rebase(ReferenceFit& fitted, const store::StoredReference& reference, const config::ModelOptions& options) {
    if (!options.retrain.rebase_on_rejection || !reference.rebase || reference.id != fitted.reference_id ||
        fitted.rebased_by_job == reference.rebase->job_id)
        return;
    const auto& rebase = *reference.rebase;
    auto band = std::find_if(fitted.bands.begin(), fitted.bands.end(),
                             [&](const performance::ReferenceBand& each) { return each.metric == rebase.metric; });
    if (band == fitted.bands.end()) {
        fitted.bands.push_back({.metric = rebase.metric});
        band = std::prev(fitted.bands.end());
    }
    const auto before = band->reference_value;
    band->reference_value = rebase.value;
    band->rebased_by_job = rebase.job_id;
    fitted.rebased_by_job = rebase.job_id;
    log::notice("reference_rebased model={} reference={} metric={} from={} to={} job={}", options.schema.name,
                reference.id, rebase.metric, before ? fmt::format("{:.4f}", *before) : std::string("none"),
                fmt::format("{:.4f}", rebase.value), rebase.job_id);
}

}  // namespace mw::daemon
