// Which HMAC key each model's records are hashed under, recorded in
// model_privacy.key_id (migration 10; docs/privacy.md "Rotating the key").
// Two daemons hashing one model under two keys would store hashes that never
// compare equal: outcomes would not join their predictions and every hashed
// category would read as new. So every daemon claims its key ids before it
// writes (at start, when PostgreSQL answers, and before the drain's writes):
// the first claim of a model records its key id, later claims must find the
// same one, and a different one is refused unless the daemon's configuration
// declares the rotation (privacy.previous_key_id names the recorded id).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <pqxx/connection>

namespace mw::store {

// A model's policy and key as a daemon's configuration has them.
struct ModelKey {
    std::string model;
    std::string key_id;           // core/privacy_key.h: 8 hex digits; "" when the model hashes nothing (not checked)
    std::string previous_key_id;  // a declared rotation from this id; "" when none
    std::string key_file;         // for the error: which file to fix
    std::string fingerprint;      // collectors/privacy.h: what a first record of the model records
};

// Another key id is recorded for a model and no rotation from it was
// declared; what() names the model, both key ids, the key file and the fix.
class PrivacyKeyConflict : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Claims every key of `keys` in one transaction: records a model's key id
// when none is (a first start, or a database from before key ids were
// recorded), replaces the recorded id by a declared rotation's new one
// (logging privacy_key_rotated with the count of predictions hashed under
// the old key that have no outcome: their outcomes, hashed under the new
// key, will never join them), and throws PrivacyKeyConflict, recording
// nothing, when any recorded id is neither the key's nor the one its
// rotation replaces. A model never recorded before gets its row with its
// policy fingerprint and `since` = started_us, the daemon's start: rows
// received before (under no recorded policy: a first run, or a database
// from before fingerprints were recorded) are not taken into references
// (store/monitor_store.h, record_privacy_fingerprint).
// A rotation also keeps the replaced id among the model's retired key ids
// (migration 14), so a batch spooled under it before the rotation is still
// stored (recorded_privacy_keys below).
void claim_privacy_keys(pqxx::connection_base& connection, const std::vector<ModelKey>& keys,
                        std::int64_t started_us);

// One model's refused claim: the model and PrivacyKeyConflict's text.
struct KeyConflict {
    std::string model;
    std::string text;
    bool operator==(const KeyConflict&) const = default;
};

// The drain's claim (store/spool_drain.h): as claim_privacy_keys, but a
// model whose claim is refused is left as recorded and returned, and the
// others' claims are committed, so one model's conflict does not stop the
// other models' writes. Start and reload claim all or nothing instead: a
// refused configuration must record nothing.
std::vector<KeyConflict> claim_privacy_keys_per_model(pqxx::connection_base& connection,
                                                      const std::vector<ModelKey>& keys, std::int64_t started_us);

// The key ids PostgreSQL records for a model: the running one (none while
// no daemon with a key claimed the model) and those a declared rotation
// replaced.
struct RecordedKeys {
    std::optional<std::string> key_id;
    std::vector<std::string> retired;
};
// The models of `models` that have a row in model_privacy.
std::map<std::string, RecordedKeys> recorded_privacy_keys(pqxx::connection_base& connection,
                                                          const std::vector<std::string>& models);

// Why a batch of `model` hashed under `key_id` must not be stored, or ""
// when it may: its key is the model's recorded key or one a declared
// rotation replaced (the batch was acknowledged under it before the
// rotation). A batch hashed under a key never recorded for the model (a
// daemon started with a stray key while PostgreSQL was down) would be
// stored as if it were the model's: its hashed ids never join, its hashed
// categories all read as new.
std::string spooled_key_refusal(const std::string& model, const std::string& key_id,
                                const std::map<std::string, RecordedKeys>& recorded);

}  // namespace mw::store
