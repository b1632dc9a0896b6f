// Findings written straight into the store, as a detector or audit would
// have stored them, and a one-number query: for the tests of what reads
// findings (alert routing, the retraining policy, job contexts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/connection_base>
#include <pqxx/result>
#include <pqxx/transaction>

#include "tests/support/test_clock.h"

namespace mw::testing {

struct FindingRow {
    std::string model = "elec2";
    std::string kind = "dataset_drift";
    std::string subject;
    std::string method = "ks";
    double statistic = 0.75;
    double threshold = 0.5;
    std::optional<double> p_value = 0.001;
    bool triggered = true;
    std::string severity = "warning";
    std::int64_t window_start_us = t0_us;
    std::int64_t window_end_us = t0_us + hour_us;
    // Seconds before the database's now() that the finding was written.
    int age_seconds = 0;
    std::string evidence = "{}";  // a JSON object
};

inline std::int64_t insert_finding(pqxx::transaction_base& transaction, const FindingRow& row) {
    // Times as whole microseconds from the epoch, so they round-trip exactly.
    return transaction
        .exec_params1(
            "INSERT INTO findings (model, kind, subject, method, statistic, threshold, p_value, triggered, severity, "
            "window_start, window_end, created_at, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
            "'epoch'::timestamptz + $10::bigint * interval '1 microsecond', "
            "'epoch'::timestamptz + $11::bigint * interval '1 microsecond', "
            "now() - $12 * interval '1 second', $13::jsonb) RETURNING id",
            row.model, row.kind, row.subject, row.method, row.statistic, row.threshold, row.p_value, row.triggered,
            row.severity, row.window_start_us, row.window_end_us, row.age_seconds, row.evidence)[0]
        .as<std::int64_t>();
}

inline std::int64_t insert_finding(pqxx::connection_base& connection, const FindingRow& row) {
    pqxx::work transaction(connection);
    const auto id = insert_finding(transaction, row);
    transaction.commit();
    return id;
}

// The first column of the first row of a one-value query, as an integer.
inline std::int64_t count(pqxx::connection_base& connection, const std::string& query) {
    pqxx::read_transaction transaction(connection);
    return transaction.exec1(query)[0].as<std::int64_t>();
}

}  // namespace mw::testing
