// models[].privacy: reading, the checks against the model's features,
// attributes, audits and segments (both key paths and lines), the key file's
// permissions and length, and a reload that changes the policy.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/loader.h"
#include "config/reload.h"
#include "config/sections.h"
#include "tests/support/temp_dir.h"

using namespace mw::config;

namespace {

const std::string privacy_key_text = "9f1c2e7a4b6d8035e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8\n";

// Lines 1-11 of every document: a model with features, attributes and an audit.
std::string privacy_document(const std::string& key_file, const std::string& privacy) {
    return fmt::format(R"(store: {{dsn: "dbname=x"}}
models:
  - name: adult
    prediction: {{type: binary, classes: [">50K", "<=50K"]}}
    features:
      - {{name: age, type: numeric}}
      - {{name: city, type: categorical}}
      - {{name: member, type: boolean}}
    attributes: [sex, race]
    audits: [{{name: weekly, schedule: "0 6 * * 1", sensitive: [sex]}}]
    drift: {{segments: [race]}}
    privacy:
      key_file: "{}"
{})",
                       key_file, privacy);
}

std::string write_privacy_key(const mw::testing::TempDir& dir, const std::string& text, mode_t mode) {
    const auto path = dir.path() / "privacy.key";
    mw::testing::write_text(path, text);
    ::chmod(path.c_str(), mode);
    return path.string();
}

std::vector<std::string> privacy_errors(const std::string& yaml) {
    const auto result = load_config_text(yaml, "privacy.yaml", [](const std::string&) { return std::nullopt; });
    std::vector<std::string> out;
    for (const auto& error : result.errors) out.push_back(to_string(error));
    return out;
}

std::string only_privacy_error(const std::string& yaml) {
    const auto errors = privacy_errors(yaml);
    for (const auto& error : errors) UNSCOPED_INFO(error);
    REQUIRE(errors.size() == 1);
    return errors.front();
}

}  // namespace

TEST_CASE("a privacy policy is read with its key, and the default keeps everything") {
    mw::testing::TempDir dir("mw-privacy");
    const auto key_file = write_privacy_key(dir, privacy_key_text, 0600);
    const auto result = load_config_text(
        privacy_document(key_file, "      id: hash\n      undeclared: drop\n      fields:\n"
                                   "        - {name: age, action: generalise, width: 5}\n"
                                   "        - {name: city, action: hash}\n"
                                   "        - {name: race, action: hash}\n"
                                   "        - {name: email, action: drop}\n"
                                   "        - {name: zip, action: generalise, max_chars: 3}\n"),
        "privacy.yaml", [](const std::string&) { return std::nullopt; });
    for (const auto& error : result.errors) UNSCOPED_INFO(to_string(error));
    REQUIRE(result.ok());
    const auto& policy = result.config->models[0].schema.privacy;
    REQUIRE(policy.key);
    CHECK(policy.key->view() == privacy_key_text.substr(0, 64));  // the trailing newline is not key
    CHECK(policy.key_id() == "819d8207");  // HMAC-SHA256(key, "modelwatch key id")[:4], Python's hmac
    CHECK(policy.key->not_dumped());
    CHECK(policy.id == mw::PrivacyAction::hash);
    CHECK(policy.undeclared == mw::PrivacyAction::drop);
    REQUIRE(policy.fields.size() == 5);
    CHECK(policy.fields[0].width == 5.0);
    CHECK(policy.fields[4].max_chars == 3);
    CHECK_FALSE(policy.keeps_everything());

    const auto plain = load_config_text("store: {dsn: x}\nmodels: [{name: m, prediction: {type: score}}]\n", "p.yaml",
                                        [](const std::string&) { return std::nullopt; });
    REQUIRE(plain.ok());
    CHECK(plain.config->models[0].schema.privacy.keeps_everything());
    CHECK(plain.config->models[0].schema.privacy == mw::PrivacyPolicy{});
}

TEST_CASE("each misuse of a row is refused at its key path and line") {
    mw::testing::TempDir dir("mw-privacy");
    const auto key_file = write_privacy_key(dir, privacy_key_text, 0600);
    const auto fields = [&](const std::string& rows) { return privacy_document(key_file, "      fields:\n" + rows); };
    // Line 15 is the first row.
    CHECK(only_privacy_error(fields("        - {name: age, action: hash}\n")) ==
          "models[0].privacy.fields[0].action (line 15): feature \"age\" is numeric: hashed, its values become "
          "categories (text), which its drift tests cannot read; declare it type: categorical to hash it, or "
          "generalise it with a width");
    CHECK(only_privacy_error(fields("        - {name: member, action: hash}\n")).find("boolean: hashed") !=
          std::string::npos);
    CHECK(only_privacy_error(fields("        - {name: age, action: drop}\n"))
              .starts_with("models[0].privacy.fields[0].action (line 15): \"age\" is a declared feature: dropped"));
    CHECK(only_privacy_error(fields("        - {name: age, action: generalise}\n")) ==
          "models[0].privacy.fields[0].action (line 15): generalise needs exactly one of width (numbers) or "
          "max_chars (text)");
    CHECK(only_privacy_error(fields("        - {name: age, action: generalise, width: 5, max_chars: 2}\n"))
              .find("exactly one of width") != std::string::npos);
    CHECK(only_privacy_error(fields("        - {name: age, action: generalise, max_chars: 2}\n")) ==
          "models[0].privacy.fields[0].max_chars (line 15): feature \"age\" is numeric: max_chars truncates text; "
          "use width");
    CHECK(only_privacy_error(fields("        - {name: city, action: generalise, width: 2}\n")).find("use max_chars") !=
          std::string::npos);
    // An attribute's width buckets the values that read as numbers (age bands).
    CHECK(privacy_errors(fields("        - {name: race, action: generalise, width: 2}\n")).empty());
    CHECK(only_privacy_error(fields("        - {name: city, action: hash, width: 2}\n")) ==
          "models[0].privacy.fields[0].width (line 15): applies only to action: generalise");
    CHECK(only_privacy_error(fields("        - {name: age, action: generalise, width: 0}\n"))
              .starts_with("models[0].privacy.fields[0].width (line 15):"));
    CHECK(only_privacy_error(fields("        - {name: city, action: hash}\n        - {name: city, action: keep}\n")) ==
          "models[0].privacy.fields[1].name (line 16): \"city\" has a row already (fields[0], line 15)");
    CHECK(only_privacy_error(fields("        - {name: city, action: shred}\n"))
              .starts_with("models[0].privacy.fields[0].action (line 15): expected one of keep, drop, hash, generalise"));
    CHECK(only_privacy_error(privacy_document(key_file, "      id: drop\n"))
              .starts_with("models[0].privacy.id (line 14): expected one of keep, hash"));
}

TEST_CASE("an attribute an audit or the segments need cannot be dropped or hashed away: both key paths") {
    mw::testing::TempDir dir("mw-privacy");
    const auto key_file = write_privacy_key(dir, privacy_key_text, 0600);
    CHECK(only_privacy_error(privacy_document(key_file, "      fields: [{name: sex, action: hash}]\n")) ==
          "models[0].privacy.fields[0].action (line 14): attribute \"sex\" is hashed here but "
          "models[0].audits[0].sensitive (line 10) audits it: an audit reports its groups by value; keep or "
          "generalise it, or remove it from the audit");
    CHECK(only_privacy_error(privacy_document(key_file, "      fields: [{name: sex, action: drop}]\n"))
              .find("is dropped here but models[0].audits[0].sensitive (line 10)") != std::string::npos);
    CHECK(only_privacy_error(privacy_document(key_file, "      fields: [{name: race, action: drop}]\n")) ==
          "models[0].privacy.fields[0].action (line 14): attribute \"race\" is dropped here but "
          "models[0].drift.segments (line 11) segments by it; hash it instead, or remove it from the segments");
    // Hashed segments are fine (their values are shown hashed); generalised audit attributes too.
    CHECK(privacy_errors(privacy_document(key_file, "      fields: [{name: race, action: hash}, "
                                                    "{name: sex, action: generalise, max_chars: 1}]\n"))
              .empty());
}

TEST_CASE("under a policy, a declared attribute no audit or segment uses needs a row saying what is kept") {
    mw::testing::TempDir dir("mw-privacy");
    const auto key_file = write_privacy_key(dir, privacy_key_text, 0600);
    const auto document = [&](const std::string& privacy) {
        return fmt::format(R"(store: {{dsn: "dbname=x"}}
models:
  - name: adult
    prediction: {{type: binary, classes: [">50K", "<=50K"]}}
    features: [{{name: age, type: numeric}}]
    attributes: [sex, race, postcode]
    audits: [{{name: weekly, schedule: "0 6 * * 1", sensitive: [sex], reference_groups: ["sex=Female"]}}]
    drift: {{segments: [race]}}
    privacy:
      key_file: "{}"
{})",
                           key_file, privacy);
    };
    CHECK(only_privacy_error(document("      id: hash\n")) ==
          "models[0].attributes[2] (line 6): attribute \"postcode\" is declared but no audits[].sensitive and no "
          "drift.segments uses it, and models[0].privacy (line 9) has no row for it: a sensitive attribute is kept "
          "only where an audit or a segment needs it; give it a row in privacy.fields (drop, hash, generalise, or "
          "keep to keep it on purpose), or remove it from attributes");
    // A row, even keep, is a decision: accepted. Without a policy nothing is asked.
    for (const char* action : {"keep", "drop", "hash"})
        CHECK(privacy_errors(document(fmt::format("      id: hash\n      fields: [{{name: postcode, action: {}}}]\n",
                                                  action)))
                  .empty());
    CHECK(privacy_errors(document("      id: keep\n")).empty());

    // A reference group the truncation can never produce: both lines named.
    CHECK(only_privacy_error(document("      fields: [{name: postcode, action: drop}, "
                                      "{name: sex, action: generalise, max_chars: 1}]\n")) ==
          "models[0].audits[0].reference_groups (line 7): reference group \"sex=Female\" can never have rows: "
          "models[0].privacy.fields[1].max_chars (line 11) keeps only the first 1 characters of sex; name the group "
          "\"sex=F\"");
    CHECK(privacy_errors(document("      fields: [{name: postcode, action: drop}, "
                                  "{name: sex, action: generalise, max_chars: 6}]\n"))
              .empty());
}

TEST_CASE("the key file: owned by the daemon's user or root; a symlink is followed to the file it names") {
    mw::testing::TempDir dir("mw-privacy");
    const auto key_file = write_privacy_key(dir, privacy_key_text, 0600);
    const auto link = (dir.path() / "secret-volume-link").string();
    REQUIRE(::symlink(key_file.c_str(), link.c_str()) == 0);
    CHECK(privacy_errors(privacy_document(link, "      id: hash\n")).empty());
    // Only root may give a file away; as another user this case has nothing to check.
    if (::geteuid() == 0) {
        REQUIRE(::chown(key_file.c_str(), 4711, 4711) == 0);
        CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n")) ==
              fmt::format("models[0].privacy.key_file (line 13): \"{}\" is owned by uid 4711, not by the daemon's "
                          "user (uid 0) or root: chown it",
                          key_file));
        // A link to another user's file: refused, naming the link and the file it leads to.
        CHECK(only_privacy_error(privacy_document(link, "      id: hash\n")) ==
              fmt::format("models[0].privacy.key_file (line 13): \"{}\" (a link to \"{}\") is owned by uid 4711, "
                          "not by the daemon's user (uid 0) or root: chown it",
                          link, key_file));
    }
}

TEST_CASE("the key file: empty, a directory, a FIFO, dangling or unreadable is refused, naming the file") {
    mw::testing::TempDir dir("mw-privacy");
    const auto key_file = write_privacy_key(dir, "", 0600);
    CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n")) ==
          fmt::format("models[0].privacy.key_file (line 13): \"{}\" holds a key of 0 bytes; at least 32 are needed "
                      "(openssl rand -hex 32 > FILE)",
                      key_file));
    write_privacy_key(dir, "\n\r\n", 0600);  // newlines only: no key either
    CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n")).find("holds a key of 0 bytes") !=
          std::string::npos);
    const auto subdirectory = (dir.path() / "keys.d").string();
    REQUIRE(::mkdir(subdirectory.c_str(), 0700) == 0);
    CHECK(only_privacy_error(privacy_document(subdirectory, "      id: hash\n")) ==
          fmt::format("models[0].privacy.key_file (line 13): \"{}\" is not a regular file", subdirectory));
    // A FIFO in the key's place is refused without waiting for a writer.
    const auto fifo = (dir.path() / "key.fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(only_privacy_error(privacy_document(fifo, "      id: hash\n")).find("is not a regular file") !=
          std::string::npos);
    const auto dangling = (dir.path() / "dangling").string();
    REQUIRE(::symlink((dir.path() / "gone").c_str(), dangling.c_str()) == 0);
    CHECK(only_privacy_error(privacy_document(dangling, "      id: hash\n")) ==
          fmt::format("models[0].privacy.key_file (line 13): cannot open \"{}\": No such file or directory", dangling));
    // Unreadable by the daemon's user: root reads any file, so a child
    // process checks it as an unprivileged user (its own file, mode 0000).
    if (::geteuid() == 0) {
        write_privacy_key(dir, privacy_key_text, 0000);
        REQUIRE(::chown(key_file.c_str(), 4711, 4711) == 0);
        REQUIRE(::chmod(dir.path().c_str(), 0711) == 0);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            const bool dropped = ::setresgid(4711, 4711, 4711) == 0 && ::setresuid(4711, 4711, 4711) == 0;
            const auto errors = privacy_errors(privacy_document(key_file, "      id: hash\n"));
            const bool refused = errors.size() == 1 &&
                                 errors[0] == fmt::format("models[0].privacy.key_file (line 13): cannot open \"{}\": "
                                                          "Permission denied",
                                                          key_file);
            ::_exit(dropped && refused ? 0 : 1);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
}

TEST_CASE("a declared rotation names the key it replaces by its id") {
    mw::testing::TempDir dir("mw-privacy");
    const auto key_file = write_privacy_key(dir, privacy_key_text, 0600);
    const auto load = [&](const std::string& privacy) {
        return load_config_text(privacy_document(key_file, privacy), "privacy.yaml",
                                [](const std::string&) { return std::nullopt; });
    };
    const auto rotation = load("      id: hash\n      previous_key_id: 473a000a\n");
    REQUIRE(rotation.ok());
    CHECK(rotation.config->models[0].schema.privacy.previous_key_id == "473a000a");
    CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n      previous_key_id: 473A000A\n")) ==
          "models[0].privacy.previous_key_id (line 15): expected a key id, 8 lowercase hex digits as logged "
          "(privacy_key_conflict, privacy_key_loaded) and recorded in model_privacy.key_id, got \"473A000A\"");
    CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n      previous_key_id: 819d8207\n")) ==
          "models[0].privacy.previous_key_id (line 15): \"819d8207\" is the id of the key in "
          "models[0].privacy.key_file (line 13) itself: previous_key_id names the key it replaces");
    CHECK(only_privacy_error(privacy_document("", "      previous_key_id: 473a000a\n")) ==
          "models[0].privacy.previous_key_id (line 14): a key rotation needs the new key: set privacy.key_file");
}

TEST_CASE("the key file: required to hash, private, long enough, not a placeholder") {
    mw::testing::TempDir dir("mw-privacy");
    CHECK(only_privacy_error(privacy_document("", "      id: hash\n")) ==
          "models[0].privacy.id (line 14): hashing needs a key: set privacy.key_file");
    CHECK(only_privacy_error(privacy_document("", "      fields: [{name: city, action: hash}]\n")) ==
          "models[0].privacy.fields[0].action (line 14): hashing needs a key: set privacy.key_file");

    const auto key_file = write_privacy_key(dir, privacy_key_text, 0644);
    CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n")) ==
          fmt::format("models[0].privacy.key_file (line 13): \"{}\" has mode 0644: a key others can read, or others "
                      "or the group can write, is refused (chmod 0600, or 0640 for a group the daemon is in)",
                      key_file));
    ::chmod(key_file.c_str(), 0660);
    CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n")).find("mode 0660") != std::string::npos);
    ::chmod(key_file.c_str(), 0640);
    CHECK(privacy_errors(privacy_document(key_file, "      id: hash\n")).empty());

    write_privacy_key(dir, "too-short-key-0123456789abcdef\n", 0600);  // 30 bytes
    CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n")) ==
          fmt::format("models[0].privacy.key_file (line 13): \"{}\" holds a key of 30 bytes; at least 32 are "
                      "needed (openssl rand -hex 32 > FILE)",
                      key_file));
    write_privacy_key(dir, std::string(64, 'x'), 0600);
    CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n")).find("placeholder") != std::string::npos);
    write_privacy_key(dir, std::string(2000, 'k'), 0600);
    CHECK(only_privacy_error(privacy_document(key_file, "      id: hash\n")).find("limit of 1024") !=
          std::string::npos);
    CHECK(only_privacy_error(privacy_document((dir.path() / "absent").string(), "      id: hash\n"))
              .find("cannot open") != std::string::npos);
    CHECK(only_privacy_error(privacy_document(dir.path().string(), "      id: hash\n")).find("not a regular file") !=
          std::string::npos);
}

TEST_CASE("a reload that changes a live model's policy or its key is refused; a restart applies it") {
    mw::testing::TempDir dir("mw-privacy");
    const auto key_file = write_privacy_key(dir, privacy_key_text, 0600);
    const auto load = [&](const std::string& privacy) {
        auto result = load_config_text(privacy_document(key_file, privacy), "privacy.yaml",
                                       [](const std::string&) { return std::nullopt; });
        REQUIRE(result.ok());
        return *result.config;
    };
    const Config running = load("      id: hash\n");
    CHECK(refused_reload_changes(running, load("      id: hash\n")).empty());
    const auto changed = refused_reload_changes(running, load("      id: keep\n"));
    REQUIRE(changed.size() == 1);
    CHECK(changed[0].starts_with("models[0].privacy: the privacy policy of model \"adult\""));
    write_privacy_key(dir, "0123456789abcdef0123456789abcdef-rotated\n", 0600);
    CHECK(refused_reload_changes(running, load("      id: hash\n")).size() == 1);  // a key rotation
}

TEST_CASE("docs/privacy.md's option table is the option table's") {
    std::string table = "| key | kind | default | range | meaning |\n|---|---|---|---|---|\n";
    for (const auto& option : describe_options()) {
        if (!option.path.starts_with("models[].privacy.")) continue;
        table += fmt::format("| `{}` | {} | {} | {} | {} |\n", option.path.substr(std::string("models[].").size()),
                             to_string(option.kind), option.required ? "required" : option.default_text,
                             option.range, option.help);
    }
    const std::string doc = mw::testing::read_text(std::string(MODELWATCH_SOURCE_DIR) + "/docs/privacy.md");
    INFO("docs/privacy.md's option table must read exactly:\n" << table);
    CHECK(doc.find(table) != std::string::npos);
}
