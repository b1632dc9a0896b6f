#include "store/leases.h"

#include <algorithm>

#include <fmt/format.h>
#include <pqxx/result>
#include <pqxx/transaction>

#include "store/sql.h"

namespace mw::store {
namespace {

std::vector<Lease> leases_of(const pqxx::result& result) {
    std::vector<Lease> leases;
    for (const auto& row : result) leases.push_back({row[0].as<std::string>(), row[1].as<std::int64_t>()});
    std::sort(leases.begin(), leases.end(), [](const Lease& a, const Lease& b) { return a.model < b.model; });
    return leases;
}

// "$n milliseconds" as an interval.
std::string lease_interval(int index) { return fmt::format("(${}::bigint * interval '1 millisecond')", index); }

}  // namespace

std::string live_daemon_condition(std::string_view alias, int parameter) {
    return fmt::format("{}.heartbeat_at > clock_timestamp() - {}", alias, lease_interval(parameter));
}

Heartbeat heartbeat(pqxx::connection_base& connection, const std::string& daemon_id,
                    const std::vector<std::string>& models, std::chrono::milliseconds lease_duration, bool first) {
    const std::int64_t lease_ms = lease_duration.count();
    const std::string names = text_array(models);
    Heartbeat beat;
    pqxx::work transaction(connection, "lease_heartbeat");
    transaction.exec_params0(
        "INSERT INTO daemons (id, heartbeat_at, models) VALUES ($1, clock_timestamp(), $2::text[]) "
        "ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, models = excluded.models",
        daemon_id, names);
    // Rows of daemons long gone (killed, never stopped cleanly): nothing needs them.
    transaction.exec_params0(
        fmt::format("DELETE FROM daemons WHERE heartbeat_at < clock_timestamp() - 100 * {}", lease_interval(1)),
        lease_ms);
    beat.live_daemons = transaction
                            .exec_params1(fmt::format("SELECT count(*) FROM daemons d WHERE {}",
                                                      live_daemon_condition("d", 1)),
                                          lease_ms)[0]
                            .as<std::int64_t>();
    transaction.exec_params0(
        "INSERT INTO model_leases (model, epoch, expires_at) SELECT unnest($1::text[]), 0, '-infinity' "
        "ON CONFLICT (model) DO NOTHING",
        names);
    // Models this daemon no longer has (a reload removed them) go to whoever has them.
    transaction.exec_params0(
        "UPDATE model_leases SET expires_at = clock_timestamp() WHERE owner = $1 AND expires_at > clock_timestamp() "
        "AND NOT (model = ANY($2::text[]))",
        daemon_id, names);
    beat.owned = leases_of(transaction.exec_params(
        fmt::format("UPDATE model_leases SET expires_at = clock_timestamp() + {}, "
                    "epoch = epoch + CASE WHEN $4 THEN 1 ELSE 0 END, "
                    "acquired_at = CASE WHEN $4 THEN clock_timestamp() ELSE acquired_at END WHERE owner = $1 "
                    "AND model = ANY($2::text[]) AND expires_at > clock_timestamp() RETURNING model, epoch",
                    lease_interval(3)),
        daemon_id, names, lease_ms, first));
    beat.renewed = static_cast<std::int64_t>(beat.owned.size());

    const auto model_count = static_cast<std::int64_t>(models.size());
    const std::int64_t live = std::max<std::int64_t>(beat.live_daemons, 1);
    beat.fair_share = (model_count + live - 1) / live;
    const auto owned_count = static_cast<std::int64_t>(beat.owned.size());
    if (owned_count > beat.fair_share) {
        // The last ones by name: a deterministic choice, so repeated
        // rebalances move the same models rather than shuffling all of them.
        std::vector<std::string> excess;
        for (auto it = beat.owned.begin() + beat.fair_share; it != beat.owned.end(); ++it) excess.push_back(it->model);
        transaction.exec_params0(
            "UPDATE model_leases SET expires_at = clock_timestamp() WHERE owner = $1 AND model = ANY($2::text[])",
            daemon_id, text_array(excess));
        beat.owned.resize(static_cast<std::size_t>(beat.fair_share));
        beat.released = std::move(excess);
    } else if (owned_count < beat.fair_share) {
        beat.claimed = leases_of(transaction.exec_params(
            fmt::format("UPDATE model_leases l SET owner = $1, epoch = l.epoch + 1, acquired_at = clock_timestamp(), "
                        "expires_at = clock_timestamp() + {} WHERE l.model IN (SELECT model FROM model_leases "
                        "WHERE model = ANY($2::text[]) AND expires_at <= clock_timestamp() ORDER BY model "
                        "FOR UPDATE SKIP LOCKED LIMIT $4) RETURNING l.model, l.epoch",
                        lease_interval(3)),
            daemon_id, names, lease_ms, beat.fair_share - owned_count));
        beat.owned.insert(beat.owned.end(), beat.claimed.begin(), beat.claimed.end());
        std::sort(beat.owned.begin(), beat.owned.end(), [](const Lease& a, const Lease& b) { return a.model < b.model; });
    }
    transaction.commit();
    return beat;
}

void release_all(pqxx::connection_base& connection, const std::string& daemon_id) {
    pqxx::work transaction(connection, "lease_release_all");
    transaction.exec_params0(
        "UPDATE model_leases SET expires_at = clock_timestamp() WHERE owner = $1 AND expires_at > clock_timestamp()",
        daemon_id);
    transaction.exec_params0("DELETE FROM daemons WHERE id = $1", daemon_id);
    transaction.commit();
}

void check_fence(pqxx::transaction_base& transaction, const std::string& model, const Fence& fence) {
    const auto held = transaction.exec_params("SELECT owner, epoch FROM model_leases WHERE model = $1 FOR SHARE", model);
    if (held.empty()) throw LeaseLost(fmt::format("model {} has no lease", model));
    const auto owner = held[0][0].is_null() ? std::string() : held[0][0].as<std::string>();
    const auto epoch = held[0][1].as<std::int64_t>();
    if (owner != fence.owner || epoch != fence.epoch)
        throw LeaseLost(fmt::format("model {}'s lease is epoch {} of {}; this write was decided under epoch {} of {}",
                                    model, epoch, owner.empty() ? "nobody" : owner, fence.epoch, fence.owner));
    // Read after the row is locked (the lock may have waited), with the
    // database's clock at this moment, not the transaction's start.
    if (!transaction.exec_params1("SELECT expires_at > clock_timestamp() FROM model_leases WHERE model = $1", model)[0]
             .as<bool>())
        throw LeaseLost(fmt::format("model {}'s lease epoch {} of {} has expired", model, epoch, owner));
}

}  // namespace mw::store
