#include "store/monitor_store.h"

#include <map>

#include <fmt/format.h>
#include <pqxx/binarystring>
#include <pqxx/result>
#include <pqxx/transaction>

#include "store/sql.h"

namespace mw::store {
namespace {

const std::string row_columns = fmt::format(
    "p.id, {}, coalesce(p.model_version, ''), p.features::text, p.prediction_label, p.prediction_value, p.score, "
    "p.attributes::text, {}, o.label, o.value, extract(epoch FROM o.received_at - p.ts)::double precision",
    ts_column("p.ts"), ts_column("p.received_at"));

// Predictions with their outcome, each prediction once. (model, id) is
// unique only within a horizon (docs/retention.md), so a record can be stored
// twice (a client replaying its queue days later) and labelled on several
// days (a label job re-sending). A read keeps the first received copy of each
// (ts, id): a replay carries its record's ts, so its copies sort next to each
// other and DISTINCT ON drops them without a lookup. The outcome is the first
// received one ("the first outcome stored wins", as the labelled_predictions
// view does), among those received at most a day before the prediction's ts:
// a label cannot exist before its prediction was made, the day absorbs client
// clocks (ingest refuses a ts more than an hour ahead of its arrival), and the
// bound lets PostgreSQL skip the outcomes partitions of earlier days at run
// time, so a read costs probes in the days since the prediction rather than
// one per stored day (bench/window_read_bench.py). The outcome's order is a
// row, (received_at, id), equal in effect to received_at alone since every
// candidate has the same id: ordered by the bare column, the planner walks
// the (model, received_at) index from the bound and filters ids, hundreds of
// rows per prediction; a row order no index gives makes it use the primary
// keys, one lookup per partition left after pruning.
std::string window_rows_query(std::string_view prediction_filter, std::string_view limit) {
    return fmt::format(
        "SELECT {} FROM (SELECT DISTINCT ON (p.ts, p.id) * FROM predictions p WHERE {} "
        "ORDER BY p.ts, p.id, p.received_at {}) p "
        "LEFT JOIN LATERAL (SELECT o.label, o.value, o.received_at FROM outcomes o "
        "WHERE o.model = p.model AND o.id = p.id AND o.received_at >= p.ts - interval '1 day' "
        "ORDER BY (o.received_at, o.id) LIMIT 1) o ON true ORDER BY p.ts, p.id",
        row_columns, prediction_filter, limit);
}

template <typename T>
std::optional<T> optional_of(const pqxx::field& field) {
    if (field.is_null()) return std::nullopt;
    return field.as<T>();
}

std::vector<WindowRow> rows_of(const pqxx::result& result) {
    std::vector<WindowRow> rows;
    rows.reserve(result.size());
    for (const auto& r : result) {
        WindowRow row;
        row.id = r[0].as<std::string>();
        row.ts_us = r[1].as<std::int64_t>();
        row.model_version = r[2].as<std::string>();
        row.features_json = r[3].as<std::string>();
        row.prediction_label = optional_of<std::string>(r[4]);
        row.prediction_value = optional_of<double>(r[5]);
        row.score = optional_of<double>(r[6]);
        row.attributes_json = r[7].as<std::string>();
        row.received_at_us = r[8].as<std::int64_t>();
        row.label = optional_of<std::string>(r[9]);
        row.value = optional_of<double>(r[10]);
        row.label_delay_s = optional_of<double>(r[11]);
        rows.push_back(std::move(row));
    }
    return rows;
}

const std::string window_columns = fmt::format(
    "id, sequence, {}, first_id, {}, last_id, rows, {}, reference_id", ts_column("first_ts"), ts_column("last_ts"),
    ts_column("closed_at"));

std::vector<StoredWindow> windows_of(const pqxx::result& result) {
    std::vector<StoredWindow> windows;
    for (const auto& r : result) {
        StoredWindow window;
        window.id = r[0].as<std::int64_t>();
        window.sequence = r[1].as<std::int64_t>();
        window.first = {r[2].as<std::int64_t>(), r[3].as<std::string>()};
        window.last = {r[4].as<std::int64_t>(), r[5].as<std::string>()};
        window.rows = r[6].as<std::int64_t>();
        window.closed_at_us = r[7].as<std::int64_t>();
        window.reference_id = optional_of<std::int64_t>(r[8]);
        windows.push_back(std::move(window));
    }
    return windows;
}

void insert_metrics(pqxx::transaction_base& transaction, std::int64_t window_id,
                    const std::vector<WindowMetric>& metrics) {
    for (const auto& metric : metrics)
        transaction.exec_params0(
            "INSERT INTO window_metrics (window_id, name, segment, value, estimated) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (window_id, name, segment, estimated) DO UPDATE SET value = excluded.value",
            window_id, metric.name, metric.segment, metric.value, metric.estimated);
}

}  // namespace

std::optional<StoredReference> active_reference(pqxx::connection_base& connection, const std::string& model) {
    pqxx::read_transaction transaction(connection, "active_reference");
    const auto result = transaction.exec_params(
        fmt::format("SELECT id, source, coalesce(model_version, ''), rows, sample::text, {}, {}, data_end_id, "
                    "privacy_fingerprint, rebased_metric, rebased_value, rebased_job_id FROM model_references "
                    "WHERE model = $1 AND retired_at IS NULL",
                    ts_column("created_at"), ts_column("data_end")),
        model);
    if (result.empty()) return std::nullopt;
    const auto& r = result[0];
    StoredReference reference{r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                              r[3].as<std::int64_t>(), r[4].as<std::string>(), r[5].as<std::int64_t>(), std::nullopt};
    if (!r[6].is_null() && !r[7].is_null()) reference.data_end = RowKey{r[6].as<std::int64_t>(), r[7].as<std::string>()};
    reference.privacy_fingerprint = optional_of<std::string>(r[8]);
    if (!r[9].is_null())
        reference.rebase = ReferenceRebase{r[9].as<std::string>(), r[10].as<double>(), r[11].as<std::int64_t>()};
    return reference;
}

std::optional<RebasedReference> rebase_reference(pqxx::transaction_base& transaction, const std::string& model,
                                                 const ReferenceRebase& rebase) {
    // The previous value is read in the UPDATE's own snapshot (a CTE sees
    // the row before the update).
    const auto result = transaction.exec_params(
        "WITH before AS (SELECT id, rebased_value FROM model_references WHERE model = $1 AND retired_at IS NULL) "
        "UPDATE model_references r SET rebased_metric = $2, rebased_value = $3, rebased_job_id = $4 FROM before "
        "WHERE r.id = before.id AND r.rows > 0 AND NOT EXISTS ("
        "SELECT 1 FROM retrain_transitions t JOIN retrain_jobs j ON j.id = t.job_id "
        "WHERE j.model = $1 AND j.id <> $4 AND t.to_state IN ('promoted', 'rolled_back') "
        "AND t.at >= (SELECT started_at FROM retrain_jobs WHERE id = $4)) "
        "RETURNING r.id, before.rebased_value",
        model, rebase.metric, rebase.value, rebase.job_id);
    if (result.empty()) return std::nullopt;
    return RebasedReference{result[0][0].as<std::int64_t>(), optional_of<double>(result[0][1])};
}

PrivacyEpoch record_privacy_fingerprint(pqxx::connection_base& connection, const std::string& model,
                                        const std::string& fingerprint, std::int64_t daemon_started_us) {
    pqxx::work transaction(connection, "record_privacy_fingerprint");
    const auto before = transaction.exec_params(
        "SELECT fingerprint FROM model_privacy WHERE model = $1 FOR UPDATE", model);
    const auto row = transaction.exec_params1(
        // The daemon's start, whichever way the fingerprint is new: every
        // record this daemon accepted was accepted under its policy (a reload
        // cannot change it), the first since its start. A model first
        // recorded here (the monitor's pass came before the daemon's own
        // claim) counts from it as the claim would have; not from the epoch,
        // which would vouch for rows received under no known policy. A
        // changed fingerprint counts from it too, not from this pass, which
        // left the rows received since the start out of a new reference
        // (and the rows received under the old policy come before it).
        // Never earlier than the `since` recorded: a daemon started before
        // another recorded a policy does not vouch for rows that one
        // received.
        fmt::format("INSERT INTO model_privacy (model, fingerprint, since) VALUES ($1, $2, {0}) "
                    "ON CONFLICT (model) DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = now(), "
                    "since = CASE WHEN model_privacy.fingerprint = excluded.fingerprint THEN model_privacy.since "
                    "ELSE greatest({0}, model_privacy.since) END RETURNING {1}",
                    ts_param(3), ts_column("model_privacy.since")),
        model, fingerprint, daemon_started_us);
    transaction.commit();
    PrivacyEpoch epoch{fingerprint, row[0].as<std::int64_t>(), std::nullopt};
    if (!before.empty() && before[0][0].as<std::string>() != fingerprint) epoch.previous = before[0][0].as<std::string>();
    return epoch;
}

namespace {

// The data columns of a reference row, $3.. in the order of NewReference.
void write_reference_data(pqxx::transaction_base& transaction, std::int64_t id, const NewReference& reference) {
    const std::optional<std::int64_t> end_ts =
        reference.data_end ? std::optional(reference.data_end->ts_us) : std::nullopt;
    const std::optional<std::string> end_id =
        reference.data_end ? std::optional(reference.data_end->id) : std::nullopt;
    transaction.exec_params0(
        fmt::format("UPDATE model_references SET rows = $2, sample = $3::jsonb, "
                    "data_start = CASE WHEN $4::bigint IS NULL THEN NULL ELSE {} END, "
                    "data_end = CASE WHEN $5::bigint IS NULL THEN NULL ELSE {} END, data_end_id = $6, "
                    "description = $7, privacy_fingerprint = $8 WHERE id = $1",
                    ts_param(4), ts_param(5)),
        id, reference.rows, reference.sample_json, reference.data_start_us, end_ts, end_id, reference.description,
        reference.privacy_fingerprint);
    if (reference.profiles)
        transaction.exec_params0(
            "INSERT INTO reference_profiles (reference_id, rows, profiles) VALUES ($1, $2, $3) "
            "ON CONFLICT (reference_id) DO UPDATE SET rows = excluded.rows, profiles = excluded.profiles",
            id, reference.rows, pqxx::binarystring(*reference.profiles));
}

}  // namespace

std::int64_t insert_reference(pqxx::connection_base& connection, const NewReference& reference) {
    pqxx::work transaction(connection, "insert_reference");
    transaction.exec_params0("UPDATE model_references SET retired_at = now() WHERE model = $1 AND retired_at IS NULL",
                             reference.model);
    const auto row = transaction.exec_params1(
        "INSERT INTO model_references (model, source, model_version, rows, sample) "
        "VALUES ($1, $2, nullif($3, ''), 0, '{}'::jsonb) RETURNING id",
        reference.model, reference.source, reference.model_version);
    const auto id = row[0].as<std::int64_t>();
    write_reference_data(transaction, id, reference);
    transaction.commit();
    return id;
}

std::int64_t request_reference_reset(pqxx::transaction_base& transaction, const std::string& model,
                                     const std::string& model_version, const std::string& description) {
    transaction.exec_params0("UPDATE model_references SET retired_at = now() WHERE model = $1 AND retired_at IS NULL",
                             model);
    return transaction
        .exec_params1("INSERT INTO model_references (model, source, model_version, rows, sample, description) "
                      "VALUES ($1, 'promotion', nullif($2, ''), 0, '{}'::jsonb, $3) RETURNING id",
                      model, model_version, description)[0]
        .as<std::int64_t>();
}

void retire_reference(pqxx::connection_base& connection, std::int64_t reference_id) {
    pqxx::work transaction(connection, "retire_reference");
    transaction.exec_params0("UPDATE model_references SET retired_at = now() WHERE id = $1 AND retired_at IS NULL",
                             reference_id);
    transaction.commit();
}

void complete_reference(pqxx::connection_base& connection, std::int64_t reference_id, const NewReference& reference) {
    pqxx::work transaction(connection, "complete_reference");
    write_reference_data(transaction, reference_id, reference);
    transaction.commit();
}

std::vector<WindowRow> read_predictions_after(pqxx::connection_base& connection, const std::string& model,
                                              const std::optional<RowKey>& after, std::size_t limit,
                                              const std::string& model_version, const ReceivedRange& received) {
    pqxx::read_transaction transaction(connection, "read_predictions_after");
    const std::string query = window_rows_query(
        fmt::format("p.model = $1 AND ($2::bigint IS NULL OR (p.ts, p.id) > ({}, $3::text COLLATE \"C\")) "
                    "AND ($4 = '' OR p.model_version = $4) AND ($6::bigint IS NULL OR p.received_at >= {}) "
                    "AND ($7::bigint IS NULL OR p.received_at < {})",
                    ts_param(2), ts_param(6), ts_param(7)),
        "LIMIT $5");
    const std::optional<std::int64_t> after_ts = after ? std::optional(after->ts_us) : std::nullopt;
    const std::string after_id = after ? after->id : std::string();
    return rows_of(transaction.exec_params(query, model, after_ts, after_id, model_version,
                                           static_cast<std::int64_t>(limit), received.since_us, received.before_us));
}

std::size_t count_predictions_after(pqxx::connection_base& connection, const std::string& model,
                                    const std::optional<RowKey>& after, std::size_t limit) {
    pqxx::read_transaction transaction(connection, "count_predictions_after");
    const auto limit_param = static_cast<std::int64_t>(limit);
    const pqxx::row count =
        after ? transaction.exec_params1(
                    fmt::format("SELECT count(*) FROM (SELECT 1 FROM predictions p WHERE p.model = $1 "
                                "AND (p.ts, p.id) > ({}, $4::text COLLATE \"C\") LIMIT $2) s",
                                ts_param(3)),
                    model, limit_param, after->ts_us, after->id)
              : transaction.exec_params1("SELECT count(*) FROM (SELECT 1 FROM predictions p WHERE p.model = $1 "
                                         "LIMIT $2) s",
                                         model, limit_param);
    return count[0].as<std::size_t>();
}

std::vector<WindowRow> read_predictions_between(pqxx::connection_base& connection, const std::string& model,
                                                std::int64_t start_us, std::int64_t end_us, std::size_t limit,
                                                const ReceivedRange& received) {
    pqxx::read_transaction transaction(connection, "read_predictions_between");
    const std::string query = window_rows_query(
        fmt::format("p.model = $1 AND p.ts >= {} AND p.ts < {} AND ($5::bigint IS NULL OR p.received_at >= {}) "
                    "AND ($6::bigint IS NULL OR p.received_at < {})",
                    ts_param(2), ts_param(3), ts_param(5), ts_param(6)),
        "LIMIT $4");
    return rows_of(transaction.exec_params(query, model, start_us, end_us, static_cast<std::int64_t>(limit),
                                           received.since_us, received.before_us));
}

std::vector<WindowRow> read_window_rows(pqxx::connection_base& connection, const std::string& model,
                                        const StoredWindow& window) {
    pqxx::read_transaction transaction(connection, "read_window_rows");
    const std::string query = window_rows_query(
        fmt::format("p.model = $1 AND (p.ts, p.id) >= ({}, $3::text COLLATE \"C\") "
                    "AND (p.ts, p.id) <= ({}, $5::text COLLATE \"C\")",
                    ts_param(2), ts_param(4)),
        "");
    return rows_of(transaction.exec_params(query, model, window.first.ts_us, window.first.id, window.last.ts_us,
                                           window.last.id));
}

std::optional<RowKey> latest_prediction(pqxx::connection_base& connection, const std::string& model) {
    pqxx::read_transaction transaction(connection, "latest_prediction");
    const auto result = transaction.exec_params(
        fmt::format("SELECT {}, id FROM predictions WHERE model = $1 ORDER BY ts DESC, id DESC LIMIT 1", ts_column("ts")),
        model);
    if (result.empty()) return std::nullopt;
    return RowKey{result[0][0].as<std::int64_t>(), result[0][1].as<std::string>()};
}

std::optional<StoredWindow> last_window(pqxx::connection_base& connection, const std::string& model) {
    pqxx::read_transaction transaction(connection, "last_window");
    auto windows = windows_of(transaction.exec_params(
        fmt::format("SELECT {} FROM monitor_windows WHERE model = $1 ORDER BY sequence DESC LIMIT 1", window_columns),
        model));
    if (windows.empty()) return std::nullopt;
    return std::move(windows.front());
}

std::vector<StoredWindow> windows_awaiting_performance(pqxx::connection_base& connection, const std::string& model) {
    pqxx::read_transaction transaction(connection, "windows_awaiting_performance");
    return windows_of(transaction.exec_params(
        fmt::format("SELECT {} FROM monitor_windows WHERE model = $1 AND performance_at IS NULL ORDER BY sequence "
                    "LIMIT 100",
                    window_columns),
        model));
}

std::vector<StoredWindow> windows_after(pqxx::connection_base& connection, const std::string& model,
                                        std::int64_t after_window_id, std::size_t limit) {
    pqxx::read_transaction transaction(connection, "windows_after");
    return windows_of(transaction.exec_params(
        fmt::format("SELECT {} FROM monitor_windows WHERE model = $1 AND id > $2 ORDER BY sequence LIMIT $3",
                    window_columns),
        model, after_window_id, static_cast<std::int64_t>(limit)));
}

void insert_findings(pqxx::transaction_base& transaction, const std::vector<Finding>& findings,
                     std::optional<std::int64_t> window_id) {
    for (const auto& finding : findings) {
        transaction.exec_params0(
            fmt::format("INSERT INTO findings (model, kind, subject, method, statistic, threshold, p_value, triggered, "
                        "severity, window_start, window_end, evidence, window_id) VALUES ($1, $2, $3, $4, $5, $6, "
                        "CASE WHEN $7::double precision < 0 THEN NULL ELSE $7 END, "
                        "$8, $9, {}, {}, $12::jsonb, $13)",
                        ts_param(10), ts_param(11)),
            // A negative p-value means the method has none: NULL.
            finding.model, finding.kind, finding.subject, finding.method, finding.statistic, finding.threshold,
            finding.p_value,
            finding.triggered, std::string(to_string(finding.severity)), finding.window_start_us, finding.window_end_us,
            finding.evidence_json, window_id);
    }
}

namespace {

// The first statement of a monitor's write transaction: the fence, so a
// refused write has written nothing.
void check_monitor_fence(pqxx::transaction_base& transaction, const std::string& model, const MonitorWrite& write) {
    if (write.fence) check_fence(transaction, model, *write.fence);
}

// The last: the state the detectors reached with this write.
void save_checkpoint(pqxx::transaction_base& transaction, const std::string& model, const MonitorWrite& write) {
    if (!write.checkpoint) return;
    const std::optional<std::string> owner = write.fence ? std::optional(write.fence->owner) : std::nullopt;
    const std::optional<std::int64_t> epoch = write.fence ? std::optional(write.fence->epoch) : std::nullopt;
    transaction.exec_params0(
        "INSERT INTO monitor_checkpoints (model, reference_id, state, lease_owner, lease_epoch, saved_at) "
        "VALUES ($1, $2, $3::jsonb, $4, $5, now()) ON CONFLICT (model) DO UPDATE SET reference_id = "
        "excluded.reference_id, state = excluded.state, lease_owner = excluded.lease_owner, "
        "lease_epoch = excluded.lease_epoch, saved_at = excluded.saved_at",
        model, write.checkpoint->reference_id, write.checkpoint->state_json, owner, epoch);
}

}  // namespace

std::int64_t record_window(pqxx::connection_base& connection, const std::string& model,
                           std::optional<std::int64_t> reference_id, const StoredWindow& window,
                           const std::vector<Finding>& findings, const std::vector<WindowMetric>& metrics,
                           const MonitorWrite& write) {
    pqxx::work transaction(connection, "record_window");
    check_monitor_fence(transaction, model, write);
    const std::optional<std::string> owner = write.fence ? std::optional(write.fence->owner) : std::nullopt;
    const std::optional<std::int64_t> epoch = write.fence ? std::optional(write.fence->epoch) : std::nullopt;
    const auto row = transaction.exec_params1(
        fmt::format("INSERT INTO monitor_windows (model, reference_id, sequence, first_ts, first_id, last_ts, last_id, "
                    "rows, lease_owner, lease_epoch) VALUES ($1, $8, $7, {}, $3, {}, $5, $6, $9, $10) RETURNING id",
                    ts_param(2), ts_param(4)),
        model, window.first.ts_us, window.first.id, window.last.ts_us, window.last.id, window.rows, window.sequence,
        reference_id, owner, epoch);
    const auto window_id = row[0].as<std::int64_t>();
    insert_findings(transaction, findings, window_id);
    insert_metrics(transaction, window_id, metrics);
    save_checkpoint(transaction, model, write);
    transaction.commit();
    return window_id;
}

std::optional<MonitorCheckpoint> load_checkpoint(pqxx::connection_base& connection, const std::string& model) {
    pqxx::read_transaction transaction(connection, "load_checkpoint");
    const auto result =
        transaction.exec_params("SELECT reference_id, state::text FROM monitor_checkpoints WHERE model = $1", model);
    if (result.empty()) return std::nullopt;
    return MonitorCheckpoint{result[0][0].as<std::int64_t>(), result[0][1].as<std::string>()};
}

void record_window_performance(pqxx::connection_base& connection, const std::string& model, std::int64_t window_id,
                               double label_coverage, bool final, const std::vector<Finding>& findings,
                               const std::vector<WindowMetric>& metrics, const MonitorWrite& write) {
    pqxx::work transaction(connection, "record_window_performance");
    check_monitor_fence(transaction, model, write);
    transaction.exec_params0(
        "UPDATE monitor_windows SET label_coverage = $2, performance_at = CASE WHEN $3 THEN now() ELSE NULL END "
        "WHERE id = $1",
        window_id, label_coverage, final);
    insert_findings(transaction, findings, window_id);
    insert_metrics(transaction, window_id, metrics);
    save_checkpoint(transaction, model, write);
    transaction.commit();
}

std::vector<double> recent_metric_values(pqxx::connection_base& connection, const std::string& model,
                                         const std::string& metric, std::size_t limit) {
    pqxx::read_transaction transaction(connection, "recent_metric_values");
    const auto result = transaction.exec_params(
        "SELECT m.value FROM window_metrics m JOIN monitor_windows w ON w.id = m.window_id "
        "WHERE w.model = $1 AND m.name = $2 AND m.segment = '' AND NOT m.estimated AND m.value IS NOT NULL "
        "ORDER BY w.sequence DESC LIMIT $3",
        model, metric, static_cast<std::int64_t>(limit));
    std::vector<double> values;
    for (const auto& r : result) values.push_back(r[0].as<double>());
    return values;
}

std::vector<double> metric_values_for_reference(pqxx::connection_base& connection, const std::string& model,
                                                std::int64_t reference_id, const std::string& metric) {
    pqxx::read_transaction transaction(connection, "metric_values_for_reference");
    const auto result = transaction.exec_params(
        "SELECT m.value FROM window_metrics m JOIN monitor_windows w ON w.id = m.window_id "
        "WHERE w.model = $1 AND w.reference_id = $2 AND m.name = $3 AND m.segment = '' AND NOT m.estimated "
        "AND m.value IS NOT NULL ORDER BY w.sequence",
        model, reference_id, metric);
    std::vector<double> values;
    for (const auto& r : result) values.push_back(r[0].as<double>());
    return values;
}

std::vector<WindowDriftVerdicts> recent_drift_verdicts(pqxx::connection_base& connection, const std::string& model,
                                                       const std::string& metric, bool estimated,
                                                       std::int64_t through_sequence, std::size_t limit) {
    pqxx::read_transaction transaction(connection, "recent_drift_verdicts");
    const auto windows = transaction.exec_params(
        "SELECT w.id, w.sequence, (SELECT m.value FROM window_metrics m WHERE m.window_id = w.id AND m.name = $2 "
        "AND m.segment = '' AND m.value IS NOT NULL AND m.estimated = $5 LIMIT 1) "
        "FROM monitor_windows w WHERE w.model = $1 AND w.sequence <= $3 ORDER BY w.sequence DESC LIMIT $4",
        model, metric, through_sequence, static_cast<std::int64_t>(limit), estimated);
    std::vector<WindowDriftVerdicts> verdicts(windows.size());
    std::map<std::int64_t, std::size_t> by_id;
    for (std::size_t i = 0; i < windows.size(); ++i) {
        auto& v = verdicts[windows.size() - 1 - i];
        v.sequence = windows[i][1].as<std::int64_t>();
        v.metric = nullable<double>(windows[i][2]);
        by_id[windows[i][0].as<std::int64_t>()] = windows.size() - 1 - i;
    }
    if (windows.empty()) return verdicts;
    // Segment verdicts have subjects "feature[attribute=value]": only whole-window ones.
    const auto drift = transaction.exec_params(
        "SELECT window_id, subject, method, statistic, coalesce(p_value, -1), triggered FROM findings "
        "WHERE model = $1 AND kind = 'feature_drift' AND strpos(subject, '[') = 0 AND window_id IN "
        "(SELECT id FROM monitor_windows WHERE model = $1 AND sequence <= $2 ORDER BY sequence DESC LIMIT $3) "
        "ORDER BY id",
        model, through_sequence, static_cast<std::int64_t>(limit));
    for (const auto& row : drift) {
        const auto found = by_id.find(row[0].as<std::int64_t>());
        if (found == by_id.end()) continue;
        Finding finding;
        finding.model = model;
        finding.kind = "feature_drift";
        finding.subject = row[1].as<std::string>();
        finding.method = row[2].as<std::string>();
        finding.statistic = row[3].as<double>();
        finding.p_value = row[4].as<double>();
        finding.triggered = row[5].as<bool>();
        verdicts[found->second].drift.push_back(std::move(finding));
    }
    return verdicts;
}

std::vector<PendingRootCause> pending_root_causes(pqxx::connection_base& connection, const std::string& model,
                                                  std::size_t limit) {
    pqxx::read_transaction transaction(connection, "pending_root_causes");
    const auto findings = transaction.exec_params(
        fmt::format("SELECT id, subject, method, window_id FROM findings WHERE model = $1 AND kind = 'performance' "
                    "AND {} ORDER BY id LIMIT $2",
                    pending_root_cause_condition),
        model, static_cast<std::int64_t>(limit));
    std::vector<PendingRootCause> pending;
    for (const auto& row : findings) {
        PendingRootCause next{row[0].as<std::int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(), {}};
        const auto windows =
            row[3].is_null() ? std::vector<StoredWindow>{}
                             : windows_of(transaction.exec_params(
                                   fmt::format("SELECT {} FROM monitor_windows WHERE id = $1", window_columns),
                                   row[3].as<std::int64_t>()));
        // Retention took the window (ON DELETE SET NULL, or just now): left
        // out, the finding would say "being ranked" for ever.
        if (windows.empty()) next.window_gone = true;
        else next.window = windows.front();
        pending.push_back(std::move(next));
    }
    return pending;
}

bool attach_root_cause(pqxx::connection_base& connection, std::int64_t finding_id, const std::string& ranking_json) {
    pqxx::work transaction(connection, "attach_root_cause");
    const auto updated = transaction.exec_params(
        fmt::format("UPDATE findings SET evidence = jsonb_set(evidence, '{{root_cause}}', $2::jsonb) WHERE id = $1 "
                    "AND {}",
                    pending_root_cause_condition),
        finding_id, ranking_json);
    transaction.commit();
    return updated.affected_rows() == 1;
}

std::map<std::string, std::int64_t> answer_unconfigured_root_causes(pqxx::connection_base& connection,
                                                                    std::chrono::milliseconds lease_duration,
                                                                    const std::string& ranking_json) {
    pqxx::work transaction(connection, "answer_unconfigured_root_causes");
    // SKIP LOCKED: a finding another daemon's sweep (or a monitor attaching
    // its ranking) holds is left to it, so a daemon frozen inside this
    // statement's transaction cannot hold up every other daemon's lease
    // worker, whose heartbeat comes next. The pending condition is checked
    // again on the row locked. A lease that ended within the grace (a clean
    // stop releases it at once, kill -9 lets it expire) keeps the rankings
    // waiting for the restart of the daemon that was their model's only one,
    // unless that daemon is live and names the model no more (a reload
    // removed it, or it restarted without it): then it is answered at once.
    const auto answered = transaction.exec_params(
        fmt::format("WITH unconfigured AS (SELECT id FROM findings WHERE {0} "
                    "AND NOT EXISTS (SELECT 1 FROM daemons d WHERE {1} "
                    "AND (d.models IS NULL OR findings.model = ANY(d.models))) "
                    "AND NOT EXISTS (SELECT 1 FROM model_leases l WHERE l.model = findings.model "
                    "AND (l.expires_at > clock_timestamp() OR (l.expires_at > clock_timestamp() - $3 * interval "
                    "'1 millisecond' AND NOT EXISTS (SELECT 1 FROM daemons o WHERE o.id = l.owner AND {2})))) "
                    "FOR UPDATE OF findings SKIP LOCKED) "
                    "UPDATE findings SET evidence = jsonb_set(evidence, '{{root_cause}}', $2::jsonb) "
                    "WHERE id IN (SELECT id FROM unconfigured) AND {0} RETURNING model",
                    pending_root_cause_condition, live_daemon_condition("d", 1), live_daemon_condition("o", 1)),
        static_cast<std::int64_t>(lease_duration.count()), ranking_json,
        static_cast<std::int64_t>(lease_duration.count()) * removed_model_grace_leases);
    transaction.commit();
    std::map<std::string, std::int64_t> by_model;
    for (const auto& row : answered) ++by_model[row[0].as<std::string>()];
    return by_model;
}

void add_rejection_counts(pqxx::connection_base& connection, const std::vector<RejectionCount>& counts) {
    if (counts.empty()) return;
    pqxx::work transaction(connection, "add_rejection_counts");
    for (const auto& count : counts)
        transaction.exec_params0(
            fmt::format("INSERT INTO rejection_counts (model, second, kind, reason, count) VALUES ($1, {}, $3, $4, $5) "
                        "ON CONFLICT (model, second, kind, reason) DO UPDATE "
                        "SET count = rejection_counts.count + excluded.count",
                        ts_param(2)),
            count.model, count.second_us, count.kind, count.reason, count.count);
    transaction.commit();
}

std::vector<RejectionCount> rejections_between(pqxx::connection_base& connection, const std::string& model,
                                               std::int64_t from_us, std::int64_t to_us) {
    pqxx::read_transaction transaction(connection, "rejections_between");
    const auto result = transaction.exec_params(
        fmt::format("SELECT kind, reason, sum(count)::bigint FROM rejection_counts "
                    "WHERE model = $1 AND second >= date_trunc('second', {}) AND second <= {} "
                    "GROUP BY kind, reason ORDER BY kind, reason",
                    ts_param(2), ts_param(3)),
        model, from_us, to_us);
    std::vector<RejectionCount> counts;
    for (const auto& r : result) {
        RejectionCount count;
        count.kind = r[0].as<std::string>();
        count.reason = r[1].as<std::string>();
        count.count = r[2].as<std::int64_t>();
        counts.push_back(std::move(count));
    }
    return counts;
}

std::int64_t outcomes_received_between(pqxx::connection_base& connection, const std::string& model,
                                       std::int64_t from_us, std::int64_t to_us) {
    pqxx::read_transaction transaction(connection, "outcomes_received_between");
    return transaction
        .exec_params1(fmt::format("SELECT count(*) FROM outcomes WHERE model = $1 AND received_at >= {} "
                                  "AND received_at <= {}",
                                  ts_param(2), ts_param(3)),
                      model, from_us, to_us)[0]
        .as<std::int64_t>();
}

}  // namespace mw::store
