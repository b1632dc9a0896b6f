#include "store/profile_store.h"

#include <fmt/format.h>
#include <pqxx/binarystring>
#include <pqxx/transaction>

#include "store/sql.h"

namespace mw::store {

void insert_profile_chunks(pqxx::transaction_base& transaction, const std::vector<ProfileChunk>& chunks) {
    const std::string insert = fmt::format(
        "INSERT INTO profile_chunks (model, model_version, bucket_start, bucket_end, received_from, rows, profiles) "
        "VALUES ($1, $2, {}, {}, {}, $6, $7)",
        ts_param(3), ts_param(4), ts_param(5));
    for (const auto& chunk : chunks)
        transaction.exec_params0(insert, chunk.model, chunk.model_version, chunk.bucket_start_us, chunk.bucket_end_us,
                                 chunk.received_from_us, chunk.rows, pqxx::binarystring(chunk.profiles));
}

MergedProfiles merge_profile_chunks(pqxx::connection_base& connection, const std::string& model,
                                    std::int64_t start_us, std::int64_t end_us, const std::string& model_version,
                                    std::optional<std::int64_t> received_since_us, std::size_t max_segment_values) {
    pqxx::read_transaction transaction(connection, "merge_profile_chunks");
    const auto rows = transaction.exec_params(
        fmt::format("SELECT id, rows, profiles FROM profile_chunks WHERE model = $1 AND bucket_start >= {} "
                    "AND bucket_start < {} AND ($4 = '' OR model_version = $4) "
                    "AND ($5::bigint IS NULL OR received_from >= {}) ORDER BY id",
                    ts_param(2), ts_param(3), ts_param(5)),
        model, start_us, end_us, model_version, received_since_us);
    MergedProfiles merged;
    for (const auto& row : rows) {
        const auto id = row[0].as<std::int64_t>();
        const auto recorded = row[1].as<std::int64_t>();
        const pqxx::binarystring bytes(row[2]);
        auto chunk = stats::ProfileSet::deserialize(std::string_view(bytes.get(), bytes.size()));
        if (chunk.error.empty() && (recorded < 0 || chunk.value.rows() != static_cast<std::uint64_t>(recorded)))
            chunk.error = fmt::format("{} rows in the profiles, {} recorded", chunk.value.rows(), recorded);
        // ProfileSet::merge leaves the merge as it was when it fails.
        if (chunk.error.empty()) chunk.error = merged.profiles.merge(chunk.value, max_segment_values);
        if (!chunk.error.empty()) {
            merged.skipped.push_back({id, recorded, std::move(chunk.error)});
            continue;
        }
        ++merged.chunks;
    }
    return merged;
}

std::optional<ReferenceProfile> load_reference_profile(pqxx::connection_base& connection, std::int64_t reference_id) {
    pqxx::read_transaction transaction(connection, "load_reference_profile");
    const auto rows =
        transaction.exec_params("SELECT rows, profiles FROM reference_profiles WHERE reference_id = $1", reference_id);
    if (rows.empty()) return std::nullopt;
    ReferenceProfile reference;
    reference.rows = rows[0][0].as<std::int64_t>();
    const pqxx::binarystring bytes(rows[0][1]);
    auto decoded = stats::ProfileSet::deserialize(std::string_view(bytes.get(), bytes.size()));
    if (decoded.error.empty() && (reference.rows < 0 || decoded.value.rows() != static_cast<std::uint64_t>(reference.rows)))
        decoded.error = fmt::format("{} rows in the profiles, {} recorded", decoded.value.rows(), reference.rows);
    if (!decoded.error.empty())
        reference.error = fmt::format("the profile of reference {}: {}", reference_id, decoded.error);
    reference.profiles = std::move(decoded.value);
    return reference;
}

bool reference_has_profile(pqxx::connection_base& connection, std::int64_t reference_id) {
    pqxx::read_transaction transaction(connection, "reference_has_profile");
    return transaction
        .exec_params1("SELECT EXISTS (SELECT 1 FROM reference_profiles WHERE reference_id = $1)", reference_id)[0]
        .as<bool>();
}

}  // namespace mw::store
