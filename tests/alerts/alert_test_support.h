// What the alerts tests share: findings written straight into the store,
// routing options with two receivers (one that wants re-sends, one that
// does not), and small queries on the outbox tables.
#pragma once

#include <cstdint>
#include <string>

#include <pqxx/connection_base>
#include <pqxx/result>
#include <pqxx/transaction>

#include "alerts/alert_rules.h"

namespace mw::alerts::testing {

// 2026-01-01T00:00:00Z: the tests' clock starts here and moves as they say.
inline constexpr std::int64_t t0_us = 1'767'225'600'000'000;
inline constexpr std::int64_t second_us = 1'000'000;

// "am" behaves like Alertmanager (re-sends), "pd" like PagerDuty (told once).
inline AlertRoutingOptions two_receivers() {
    AlertRoutingOptions options;
    options.receivers = {{"am", true, 0}, {"pd", false, 0}};
    options.default_receivers = {"am", "pd"};
    options.external_url = "http://modelwatch.test/";
    return options;
}

struct FindingRow {
    std::string model = "elec2";
    std::string kind = "dataset_drift";
    std::string subject;
    bool triggered = true;
    std::string severity = "warning";
    // Seconds before the database's now() that the finding was written.
    int age_seconds = 0;
};

inline std::int64_t insert_finding(pqxx::work& transaction, const FindingRow& row) {
    return transaction
        .exec_params1(
            "INSERT INTO findings (model, kind, subject, method, statistic, threshold, p_value, triggered, severity, "
            "window_start, window_end, created_at) VALUES ($1, $2, $3, 'ks', 0.75, 0.5, 0.001, $4, $5, "
            "'2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z', now() - $6 * interval '1 second') RETURNING id",
            row.model, row.kind, row.subject, row.triggered, row.severity, row.age_seconds)[0]
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

}  // namespace mw::alerts::testing
