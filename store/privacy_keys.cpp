#include "store/privacy_keys.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pqxx/result>
#include <pqxx/transaction>

#include "core/log.h"
#include "core/privacy.h"
#include "store/sql.h"

namespace mw::store {
namespace {

// Predictions counted at most, so a rotation's count stays a bounded read
// (an index range of the old key's hashed ids, an anti-join per row).
constexpr std::int64_t max_orphans_counted = 1'000'000;

std::string privacy_key_conflict_text(const ModelKey& key, const std::string& recorded, const std::string& recorded_at) {
    return fmt::format(
        "privacy_key_conflict model={} key_id={} recorded_key_id={} key_file={}: PostgreSQL records that model {}'s "
        "values are hashed under key id {} (model_privacy, since {}), but the key in {} has key id {}: another daemon "
        "runs this model with another key file, or the file was replaced. Hashes under two keys never compare "
        "equal (outcomes would not join their predictions, every hashed category would read as new), so nothing is "
        "written. Give every daemon the key whose id is {}, or rotate the key on purpose: stop every daemon running "
        "the model, set models[].privacy.previous_key_id: {} and start them with the new key (docs/privacy.md, "
        "\"Rotating the key\")",
        key.model, key.key_id, recorded, key.key_file, key.model, recorded, recorded_at, key.key_file, key.key_id,
        recorded, recorded);
}

// Claims `configured` (claim_privacy_keys, claim_privacy_keys_per_model):
// with `all_or_nothing`, any conflict throws and records nothing; without,
// the conflicting models are left as recorded and returned.
std::vector<KeyConflict> claim_model_keys(pqxx::connection_base& connection,
                                         const std::vector<ModelKey>& configured, std::int64_t started_us,
                                         bool all_or_nothing) {
    if (configured.empty()) return {};
    // In one order on every daemon, so two claiming at once lock rows in the
    // same order and wait for each other instead of deadlocking.
    std::vector<ModelKey> keys = configured;
    std::sort(keys.begin(), keys.end(), [](const ModelKey& a, const ModelKey& b) { return a.model < b.model; });
    pqxx::work transaction(connection, "claim_privacy_keys");
    // A model never recorded gets its row now (with its fingerprint and
    // `since` the daemon's start: rows stored before were received under no
    // recorded policy); then every row is locked, so two daemons starting at
    // once claim one after the other.
    std::vector<const ModelKey*> first;
    for (const auto& key : keys) {
        const std::optional<std::string> key_id = key.key_id.empty() ? std::nullopt : std::optional(key.key_id);
        const bool inserted = !transaction
                 .exec_params(fmt::format("INSERT INTO model_privacy (model, fingerprint, since, key_id, "
                                          "key_recorded_at) VALUES ($1, $2, {}, $3, "
                                          "CASE WHEN $3::text IS NULL THEN NULL ELSE now() END) "
                                          "ON CONFLICT (model) DO NOTHING RETURNING model",
                                          ts_param(4)),
                              key.model, key.fingerprint, key_id, started_us)
                 .empty();
        if (inserted && key_id) first.push_back(&key);  // recorded now, by this daemon
    }
    std::vector<std::string> models;
    for (const auto& key : keys) models.push_back(key.model);
    std::map<std::string, std::pair<std::optional<std::string>, std::string>> recorded;
    for (const auto& row : transaction.exec_params(
             "SELECT model, key_id, coalesce(key_recorded_at, updated_at)::text FROM model_privacy "
             "WHERE model = ANY($1::text[]) FOR UPDATE",
             text_array(models)))
        recorded[row[0].as<std::string>()] = {nullable<std::string>(row[1]), row[2].as<std::string>()};

    std::vector<KeyConflict> conflicts;
    std::vector<const ModelKey*> unrecorded;
    std::vector<const ModelKey*> rotated;
    for (const auto& key : keys) {
        if (key.key_id.empty()) continue;  // hashes nothing: nothing to compare
        const auto& [key_id, recorded_at] = recorded.at(key.model);
        if (!key_id) unrecorded.push_back(&key);  // a database from before key ids, or a model that hashed nothing
        else if (*key_id == key.key_id) continue;
        else if (!key.previous_key_id.empty() && *key_id == key.previous_key_id) rotated.push_back(&key);
        else conflicts.push_back({key.model, privacy_key_conflict_text(key, *key_id, recorded_at)});
    }
    if (all_or_nothing && !conflicts.empty()) {
        std::string text = conflicts.front().text;
        for (std::size_t i = 1; i < conflicts.size(); ++i) text += "; " + conflicts[i].text;
        throw PrivacyKeyConflict(text);  // rolled back: nothing recorded
    }
    std::vector<std::int64_t> orphans;
    for (const auto* key : rotated)
        orphans.push_back(transaction
                              .exec_params1(
                                  "SELECT count(*) FROM (SELECT 1 FROM predictions p WHERE p.model = $1 AND p.id LIKE $2 "
                                  "AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.model = p.model AND o.id = p.id) "
                                  "LIMIT $3) s",
                                  key->model, fmt::format("{}{}:%", privacy_hash_prefix, key->previous_key_id),
                                  max_orphans_counted)[0]
                              .as<std::int64_t>());
    for (const auto* key : unrecorded)
        transaction.exec_params0("UPDATE model_privacy SET key_id = $2, key_recorded_at = now() WHERE model = $1",
                                 key->model, key->key_id);
    // The replaced id stays acceptable for what was spooled under it before
    // the rotation (recorded_privacy_keys).
    for (const auto* key : rotated)
        transaction.exec_params0(
            "UPDATE model_privacy SET retired_key_ids = CASE WHEN key_id = ANY(retired_key_ids) THEN retired_key_ids "
            "ELSE array_append(retired_key_ids, key_id) END, key_id = $2, key_recorded_at = now() WHERE model = $1",
            key->model, key->key_id);
    transaction.commit();
    for (const auto* key : first) log::notice("privacy_key_recorded model={} key_id={}", key->model, key->key_id);
    for (const auto* key : unrecorded) log::notice("privacy_key_recorded model={} key_id={}", key->model, key->key_id);
    for (std::size_t i = 0; i < rotated.size(); ++i)
        log::warning("privacy_key_rotated model={} key_id={} previous_key_id={} predictions_without_outcome={}{}: "
                     "outcomes of those predictions are hashed under the new key from now on and will not join them",
                     rotated[i]->model, rotated[i]->key_id, rotated[i]->previous_key_id, orphans[i],
                     orphans[i] >= max_orphans_counted ? "+" : "");
    return conflicts;
}

}  // namespace

void claim_privacy_keys(pqxx::connection_base& connection, const std::vector<ModelKey>& keys,
                        std::int64_t started_us) {
    claim_model_keys(connection, keys, started_us, true);
}

std::vector<KeyConflict> claim_privacy_keys_per_model(pqxx::connection_base& connection,
                                                      const std::vector<ModelKey>& keys, std::int64_t started_us) {
    return claim_model_keys(connection, keys, started_us, false);
}

std::map<std::string, RecordedKeys> recorded_privacy_keys(pqxx::connection_base& connection,
                                                          const std::vector<std::string>& models) {
    std::map<std::string, RecordedKeys> recorded;
    if (models.empty()) return recorded;
    pqxx::read_transaction transaction(connection, "recorded_privacy_keys");
    for (const auto& row : transaction.exec_params(
             "SELECT model, key_id, array_to_string(retired_key_ids, ',') FROM model_privacy "
             "WHERE model = ANY($1::text[])",
             text_array(models))) {
        RecordedKeys keys{nullable<std::string>(row[1]), {}};
        // Key ids are hex digits (core/privacy_key_id.h): a comma never occurs in one.
        std::string_view list = row[2].c_str();
        while (!list.empty()) {
            const auto comma = list.find(',');
            keys.retired.emplace_back(list.substr(0, comma));
            list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        }
        recorded[row[0].as<std::string>()] = std::move(keys);
    }
    return recorded;
}

std::string spooled_key_refusal(const std::string& model, const std::string& key_id,
                                const std::map<std::string, RecordedKeys>& recorded) {
    if (key_id.empty()) return {};  // hashed nothing: no key to compare
    const auto found = recorded.find(model);
    if (found == recorded.end() || !found->second.key_id)
        return fmt::format("privacy_key_unrecorded model={} key_id={}: no key id is recorded for the model in "
                           "PostgreSQL (model_privacy), so nothing vouches for the key these records were hashed "
                           "under",
                           model, key_id);
    const auto& keys = found->second;
    if (*keys.key_id == key_id || std::find(keys.retired.begin(), keys.retired.end(), key_id) != keys.retired.end())
        return {};
    return fmt::format("privacy_key_mismatch model={} key_id={} recorded_key_id={}{}: these records were hashed "
                       "under a key never recorded for the model (a daemon started with another key file while "
                       "PostgreSQL was down); stored, their hashed ids would never join and their hashed categories "
                       "would all read as new",
                       model, key_id, *keys.key_id,
                       keys.retired.empty() ? std::string()
                                            : fmt::format(" retired_key_ids={}", fmt::join(keys.retired, ",")));
}

}  // namespace mw::store
