#include "daemon/reference_capture.h"

#include <vector>

#include <fmt/format.h>

#include "collectors/privacy.h"
#include "core/log.h"
#include "core/time.h"
#include "daemon/performance_judgement.h"
#include "daemon/window_selection.h"
#include "daemon/window_table.h"
#include "detectors/reference_sample.h"

namespace mw::daemon {

ReferenceCapture capture_reference(pqxx::connection_base& connection, const config::ModelOptions& model_options,
                                   const std::optional<store::StoredReference>& pending,
                                   const store::PrivacyEpoch& privacy, std::int64_t now_us,
                                   std::optional<std::int64_t> stored_before_us, PassControl& control) {
    const auto& model = model_options.schema.name;
    const auto& options = model_options.reference;
    const auto wait = [](std::string what) { return ReferenceCapture{false, std::move(what)}; };
    if (!pending && options.source == config::ReferenceSource::upload)
        return wait("an uploaded reference (POST /v1/models/" + model + "/reference)");
    std::vector<store::WindowRow> rows;
    std::string source = "first_n";
    std::string version = pending ? pending->model_version : options.model_version;
    if (!pending && options.source == config::ReferenceSource::time_range) {
        source = "time_range";
        const auto start = parse_rfc3339_us(options.start).value_or(0);
        const auto end = parse_rfc3339_us(options.end).value_or(0);
        if (!time_span_closed(end, model_options.window, now_us, stored_before_us))
            return wait("the end of the reference time range " + options.end);
        rows = store::read_predictions_between(connection, model, start, end, options.rows,
                                               store::ReceivedRange{privacy.since_us, std::nullopt});
        if (rows.empty()) return wait("predictions between " + options.start + " and " + options.end);
    } else {
        if (pending) source = "promotion";
        rows = store::read_predictions_after(connection, model, std::nullopt, options.rows, version,
                                             store::ReceivedRange{privacy.since_us, stored_before_us});
        if (rows.size() < options.rows)
            return wait(fmt::format("{} reference predictions{} (have {})", options.rows,
                                    version.empty() ? "" : " of version " + version, rows.size()));
        // The performance estimate is calibrated on the reference's labels:
        // stored when its predictions are all there, it would be fitted on
        // the few labels that happened to arrive by the monitor's pass, so
        // on a number that depends on timing rather than on the data.
        const auto& performance = model_options.performance;
        const double coverage =
            label_coverage(rows, model_options.schema.prediction_type == PredictionType::regression);
        const bool waited =
            now_us - rows.back().ts_us >= static_cast<std::int64_t>(performance.label_wait_ms) * 1000;
        if (options.wait_for_labels && coverage < performance.min_label_coverage && !waited)
            return wait(fmt::format("labels for {:.0f}% of the {} reference predictions{}",
                                    100 * performance.min_label_coverage, rows.size(),
                                    version.empty() ? "" : " of version " + version));
    }
    const auto table = rows_to_table(rows, model_options.schema);
    store::NewReference reference;
    reference.model = model;
    reference.source = source;
    reference.model_version = version;
    reference.rows = static_cast<std::int64_t>(rows.size());
    reference.sample_json = drift::reference_sample_to_json(table);
    reference.data_start_us = rows.front().ts_us;
    reference.data_end = store::RowKey{rows.back().ts_us, rows.back().id};
    reference.privacy_fingerprint = privacy.fingerprint;
    reference.description = fmt::format("{} predictions from {} to {}{}", rows.size(),
                                        format_rfc3339_us(rows.front().ts_us), format_rfc3339_us(rows.back().ts_us),
                                        version.empty() ? "" : " of version " + version);
    control.checkpoint();
    if (pending)
        store::complete_reference(connection, pending->id, reference);
    else
        store::insert_reference(connection, reference);
    log::notice("reference_stored model={} source={} rows={} version={}", model, source, rows.size(),
                version.empty() ? "any" : version);
    return {true, {}};
}

std::int64_t store_uploaded_reference(pqxx::connection_base& connection, const ModelSchema& schema,
                                      const drift::DriftTable& table, const std::string& description) {
    const auto& model = schema.name;
    store::NewReference reference;
    reference.model = model;
    // The upload went through the model's policy (daemon/reference_upload.cpp).
    reference.privacy_fingerprint = privacy_fingerprint(schema.privacy);
    reference.source = "upload";
    reference.rows = static_cast<std::int64_t>(table.rows);
    reference.sample_json = drift::reference_sample_to_json(table);
    reference.description = description;
    const auto id = store::insert_reference(connection, reference);
    log::notice("reference_uploaded model={} reference={} rows={}", model, id, table.rows);
    return id;
}

}  // namespace mw::daemon
