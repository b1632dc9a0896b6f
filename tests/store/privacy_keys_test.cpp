// Key ids claimed per model (store/privacy_keys.h) against a real PostgreSQL:
// the first claim records, another key is refused with everything an
// operator needs to act, a declared rotation replaces the recorded id.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <pqxx/nontransaction>
#include <pqxx/result>

#include "store/migrations.h"
#include "store/privacy_keys.h"
#include "tests/support/test_database.h"

namespace {

using mw::store::ModelKey;
using mw::store::testing::TestDatabase;

constexpr std::int64_t privacy_keys_test_start_us = 1'700'000'000'000'000;

std::string recorded_key_id(pqxx::connection& connection, const std::string& model) {
    pqxx::nontransaction query(connection);
    const auto row = query.exec_params1("SELECT coalesce(key_id, '(null)') FROM model_privacy WHERE model = $1", model);
    return row[0].as<std::string>();
}

}  // namespace

TEST_CASE("a model's key id is recorded by the first daemon and refused from a daemon with another key",
          "[privacy_keys]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    auto other = database.connect();
    const ModelKey first{"adult", "1a2b3c4d", "", "/etc/modelwatch/privacy.key", "00112233aabbccdd"};
    const ModelKey plain{"elec2", "", "", "", ""};  // hashes nothing: recorded, never compared
    mw::store::claim_privacy_keys(database.connection(), {first, plain}, privacy_keys_test_start_us);
    CHECK(recorded_key_id(database.connection(), "adult") == "1a2b3c4d");
    CHECK(recorded_key_id(database.connection(), "elec2") == "(null)");
    {
        // Rows received before the first record are not under the policy: `since` is the daemon's start.
        pqxx::nontransaction query(database.connection());
        CHECK(query.exec1("SELECT (extract(epoch FROM since) * 1000000)::bigint FROM model_privacy "
                          "WHERE model = 'adult'")[0]
                  .as<std::int64_t>() == privacy_keys_test_start_us);
    }

    // A second daemon with the same key: fine, again and again.
    mw::store::claim_privacy_keys(*other, {first, plain}, privacy_keys_test_start_us + 1);

    // A second daemon with another key file and no declared rotation: refused, nothing changed.
    const ModelKey stray{"adult", "99887766", "", "/srv/other/privacy.key", "ffeeddccbbaa9988"};
    try {
        mw::store::claim_privacy_keys(*other, {plain, stray}, privacy_keys_test_start_us + 2);
        FAIL("a second key was accepted");
    } catch (const mw::store::PrivacyKeyConflict& conflict) {
        const std::string text = conflict.what();
        CHECK(text.starts_with("privacy_key_conflict model=adult key_id=99887766 recorded_key_id=1a2b3c4d "
                               "key_file=/srv/other/privacy.key: "));
        CHECK(text.find("previous_key_id: 1a2b3c4d") != std::string::npos);
    }
    CHECK(recorded_key_id(database.connection(), "adult") == "1a2b3c4d");

    // A rotation declared from another id than the recorded one is refused too.
    const ModelKey wrong_rotation{"adult", "99887766", "55555555", "/srv/other/privacy.key", "ffeeddccbbaa9988"};
    CHECK_THROWS_AS(mw::store::claim_privacy_keys(*other, {wrong_rotation}, privacy_keys_test_start_us + 3),
                    mw::store::PrivacyKeyConflict);

    // A declared rotation from the recorded id replaces it; the old key is then the stray one.
    const ModelKey rotation{"adult", "99887766", "1a2b3c4d", "/srv/other/privacy.key", "ffeeddccbbaa9988"};
    mw::store::claim_privacy_keys(*other, {rotation}, privacy_keys_test_start_us + 4);
    CHECK(recorded_key_id(database.connection(), "adult") == "99887766");
    mw::store::claim_privacy_keys(*other, {rotation}, privacy_keys_test_start_us + 5);
    CHECK_THROWS_AS(mw::store::claim_privacy_keys(database.connection(), {first}, privacy_keys_test_start_us + 6),
                    mw::store::PrivacyKeyConflict);

    // A database from before key ids (a row without one): the first daemon with a key records it.
    {
        pqxx::nontransaction query(database.connection());
        query.exec0("UPDATE model_privacy SET key_id = NULL WHERE model = 'adult'");
    }
    mw::store::claim_privacy_keys(database.connection(), {first}, privacy_keys_test_start_us + 7);
    CHECK(recorded_key_id(database.connection(), "adult") == "1a2b3c4d");
}

TEST_CASE("the drain's claim refuses one model's key and records the others'; a rotation keeps the old id acceptable",
          "[privacy_keys]") {
    TestDatabase database;
    mw::store::migrate(database.connection());
    const ModelKey adult{"adult", "1a2b3c4d", "", "/etc/modelwatch/privacy.key", "00112233aabbccdd"};
    mw::store::claim_privacy_keys(database.connection(), {adult}, privacy_keys_test_start_us);

    // A stray key for adult beside a new model: adult is refused, the new model recorded.
    const ModelKey stray{"adult", "99887766", "", "/srv/other/privacy.key", "ffeeddccbbaa9988"};
    const ModelKey churn{"churn", "55aa55aa", "", "/etc/modelwatch/churn.key", "0123456789abcdef"};
    const auto conflicts =
        mw::store::claim_privacy_keys_per_model(database.connection(), {stray, churn}, privacy_keys_test_start_us + 1);
    REQUIRE(conflicts.size() == 1);
    CHECK(conflicts[0].model == "adult");
    CHECK(conflicts[0].text.starts_with("privacy_key_conflict model=adult key_id=99887766 recorded_key_id=1a2b3c4d "
                                        "key_file=/srv/other/privacy.key: "));
    CHECK(recorded_key_id(database.connection(), "adult") == "1a2b3c4d");
    CHECK(recorded_key_id(database.connection(), "churn") == "55aa55aa");
    // Start and reload claim all or nothing: a refused configuration records nothing.
    const ModelKey elec2{"elec2", "0badc0de", "", "/etc/modelwatch/elec2.key", "fedcba9876543210"};
    CHECK_THROWS_AS(mw::store::claim_privacy_keys(database.connection(), {stray, elec2}, privacy_keys_test_start_us + 2),
                    mw::store::PrivacyKeyConflict);
    {
        pqxx::nontransaction query(database.connection());
        CHECK(query.exec("SELECT 1 FROM model_privacy WHERE model = 'elec2'").empty());
    }

    // Which spooled batches may be stored: under the recorded key, or hashing nothing.
    auto recorded = mw::store::recorded_privacy_keys(database.connection(), {"adult", "churn", "never"});
    CHECK(recorded.size() == 2);
    CHECK(mw::store::spooled_key_refusal("adult", "1a2b3c4d", recorded).empty());
    CHECK(mw::store::spooled_key_refusal("adult", "", recorded).empty());
    CHECK(mw::store::spooled_key_refusal("adult", "99887766", recorded)
              .starts_with("privacy_key_mismatch model=adult key_id=99887766 recorded_key_id=1a2b3c4d: "));
    CHECK(mw::store::spooled_key_refusal("never", "99887766", recorded)
              .starts_with("privacy_key_unrecorded model=never key_id=99887766: "));

    // A declared rotation: the new id is recorded, and batches spooled under
    // the old one before it are still the model's; the stray key still is not.
    const ModelKey rotation{"adult", "44332211", "1a2b3c4d", "/etc/modelwatch/new.key", "00112233aabbccdd"};
    mw::store::claim_privacy_keys(database.connection(), {rotation}, privacy_keys_test_start_us + 3);
    mw::store::claim_privacy_keys(database.connection(), {rotation}, privacy_keys_test_start_us + 4);  // kept once
    recorded = mw::store::recorded_privacy_keys(database.connection(), {"adult"});
    REQUIRE(recorded.at("adult").key_id == "44332211");
    CHECK(recorded.at("adult").retired == std::vector<std::string>{"1a2b3c4d"});
    CHECK(mw::store::spooled_key_refusal("adult", "44332211", recorded).empty());
    CHECK(mw::store::spooled_key_refusal("adult", "1a2b3c4d", recorded).empty());
    CHECK(mw::store::spooled_key_refusal("adult", "99887766", recorded)
              .starts_with("privacy_key_mismatch model=adult key_id=99887766 recorded_key_id=44332211 "
                           "retired_key_ids=1a2b3c4d: "));
}
