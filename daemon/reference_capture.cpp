#include "daemon/reference_capture.h"

#include <vector>

#include <fmt/format.h>

#include "collectors/privacy.h"
#include "core/log.h"
#include "core/time.h"
#include "daemon/performance_judgement.h"
#include "daemon/profile_detectors.h"
#include "daemon/window_selection.h"
#include "daemon/window_table.h"
#include "detectors/reference_sample.h"
#include "store/profile_store.h"

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
    std::optional<std::string> profiles;
    std::optional<std::uint64_t> profile_rows;
    std::optional<store::RowKey> bucket_end;
    std::string bucketed;
    if (!model_options.store_raw) {
        // A profile-only model's reference is whole time buckets, since its
        // features exist only as per-bucket profiles: from the bucket of its
        // first row to the end of the bucket of its last (first_rows), or
        // the buckets inside the range (time_range). Its rows (for the
        // outcome-side detectors) and its profile are of those buckets.
        const std::int64_t width_us = static_cast<std::int64_t>(model_options.window.duration_ms) * 1000;
        std::int64_t start_us = floor_to(rows.front().ts_us, width_us);
        std::int64_t end_us = floor_to(rows.back().ts_us, width_us) + width_us;
        if (source == "time_range") {
            start_us = floor_to(parse_rfc3339_us(options.start).value_or(0) + width_us - 1, width_us);
            end_us = floor_to(parse_rfc3339_us(options.end).value_or(0), width_us);
            if (end_us <= start_us)
                return wait("a whole window length (window.duration) inside the reference time range");
        }
        if (!time_span_closed(end_us, model_options.window, now_us, stored_before_us))
            return wait("the end of the time bucket " + format_rfc3339_us(end_us) + " the reference ends with");
        auto merged = store::merge_profile_chunks(connection, model, start_us, end_us, version, privacy.since_us,
                                                  model_options.drift.max_segment_values);
        // Chunks that cannot be used are left out (logged once the reference
        // is stored, and counted in its description); with none usable the
        // wait names them and hands them to the monitor, which logs them and
        // sets the gauge an operator is alerted on when the reason changes.
        std::string skipped;
        for (const auto& chunk : merged.skipped)
            skipped += fmt::format("{}{} ({} rows)", skipped.empty() ? "" : ", ", chunk.id, chunk.rows);
        if (merged.profiles.rows() == 0) {
            auto waiting = wait("profiled predictions between " + format_rfc3339_us(start_us) + " and " +
                                format_rfc3339_us(end_us) +
                                (skipped.empty() ? "" : "; unusable profile chunks " + skipped + ": " +
                                                            merged.skipped.front().error));
            waiting.unusable_chunks = std::move(merged.skipped);
            waiting.unusable_range =
                fmt::format("reference=[{}, {})", format_rfc3339_us(start_us), format_rfc3339_us(end_us));
            return waiting;
        }
        rows = store::read_predictions_between(connection, model, start_us, end_us, options.rows,
                                               store::ReceivedRange{privacy.since_us, std::nullopt});
        if (!version.empty())
            std::erase_if(rows, [&](const store::WindowRow& row) { return row.model_version != version; });
        if (rows.empty()) return wait("predictions between " + format_rfc3339_us(start_us) + " and " +
                                      format_rfc3339_us(end_us));
        profiles = merged.profiles.serialize();
        profile_rows = merged.profiles.rows();
        bucketed = fmt::format(", profiled from {} chunks of {} rows in [{}, {})", merged.chunks,
                               merged.profiles.rows(), format_rfc3339_us(start_us), format_rfc3339_us(end_us));
        if (!merged.skipped.empty()) {
            bucketed += "; unusable profile chunks left out: " + skipped;
            log_skipped_chunks(model,
                               fmt::format("reference=[{}, {})", format_rfc3339_us(start_us), format_rfc3339_us(end_us)),
                               merged.skipped);
        }
        // Windows start at the next bucket: (end_us, "") precedes every row
        // at or after end_us and follows every row before it (ids are not empty).
        bucket_end = store::RowKey{end_us, ""};
    }
    // A profile-only model's rows hold no features: its sample holds the
    // outputs, outcomes and attributes only.
    ModelSchema sampled = model_options.schema;
    if (!model_options.store_raw) sampled.features.clear();
    const auto table = rows_to_table(rows, sampled);
    store::NewReference reference;
    reference.model = model;
    reference.source = source;
    reference.model_version = version;
    // A profile-only reference's size is its profile's (the sample of its
    // rows is capped at reference.rows; the profile covers every row).
    reference.rows = static_cast<std::int64_t>(profile_rows.value_or(rows.size()));
    reference.sample_json = drift::reference_sample_to_json(table);
    reference.data_start_us = rows.front().ts_us;
    reference.data_end = bucket_end.value_or(store::RowKey{rows.back().ts_us, rows.back().id});
    reference.privacy_fingerprint = privacy.fingerprint;
    reference.description = fmt::format("{} predictions from {} to {}{}{}", rows.size(),
                                        format_rfc3339_us(rows.front().ts_us), format_rfc3339_us(rows.back().ts_us),
                                        version.empty() ? "" : " of version " + version, bucketed);
    reference.profiles = std::move(profiles);
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
