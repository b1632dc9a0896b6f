#include "store/watermarks.h"

#include <algorithm>

#include <fmt/format.h>
#include <pqxx/transaction>

#include "store/sql.h"

namespace mw::store {

void publish_watermark(pqxx::connection_base& connection, const std::string& writer, std::int64_t stored_before_us) {
    pqxx::work transaction(connection, "publish_watermark");
    transaction.exec_params0(
        fmt::format("INSERT INTO store_watermarks (writer, stored_before, published_at) "
                    "VALUES ($1, {}, clock_timestamp()) ON CONFLICT (writer) DO UPDATE "
                    "SET stored_before = excluded.stored_before, published_at = excluded.published_at",
                    ts_param(2)),
        writer, stored_before_us);
    transaction.commit();
}

std::int64_t forget_watermarks(pqxx::connection_base& connection, std::int64_t now_us) {
    const std::int64_t before_us =
        now_us - std::chrono::duration_cast<std::chrono::microseconds>(watermark_forgotten_after).count();
    pqxx::work transaction(connection, "forget_watermarks");
    const auto deleted = transaction.exec_params(
        fmt::format("DELETE FROM store_watermarks WHERE published_at < {}", ts_param(1)), before_us);
    transaction.commit();
    return static_cast<std::int64_t>(deleted.affected_rows());
}

void withdraw_watermark(pqxx::connection_base& connection, const std::string& writer) {
    pqxx::work transaction(connection, "withdraw_watermark");
    transaction.exec_params0("DELETE FROM store_watermarks WHERE writer = $1", writer);
    transaction.commit();
}

std::optional<std::int64_t> others_stored_before(pqxx::connection_base& connection, const std::string& except,
                                                 std::chrono::milliseconds live_for) {
    pqxx::read_transaction transaction(connection, "others_stored_before");
    const auto row = transaction.exec_params1(
        fmt::format("SELECT {} FROM store_watermarks w WHERE w.writer <> $1 "
                    "AND (w.published_at > clock_timestamp() - $2::bigint * interval '1 millisecond' "
                    "OR EXISTS (SELECT 1 FROM daemons d WHERE d.id = w.writer "
                    "AND d.heartbeat_at > clock_timestamp() - $2::bigint * interval '1 millisecond'))",
                    ts_column("min(w.stored_before)")),
        except, static_cast<std::int64_t>(live_for.count()));
    return nullable<std::int64_t>(row[0]);
}

std::int64_t stored_before(pqxx::connection_base& connection, std::int64_t local_us, const std::string& local_writer,
                           std::chrono::milliseconds live_for) {
    const auto others = others_stored_before(connection, local_writer, live_for);
    return others ? std::min(local_us, *others) : local_us;
}

}  // namespace mw::store
