#include "config/privacy_section.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/privacy_key.h"
#include "core/privacy_key_id.h"
#include "core/unique_fd.h"
#include "core/utf8.h"

namespace mw::config {
namespace {

constexpr Choice privacy_actions[] = {
    {"keep", static_cast<int>(PrivacyAction::keep)},
    {"drop", static_cast<int>(PrivacyAction::drop)},
    {"hash", static_cast<int>(PrivacyAction::hash)},
    {"generalise", static_cast<int>(PrivacyAction::generalise)},
};
constexpr Choice privacy_id_actions[] = {
    {"keep", static_cast<int>(PrivacyAction::keep)},
    {"hash", static_cast<int>(PrivacyAction::hash)},
};
constexpr Choice privacy_undeclared_actions[] = {
    {"keep", static_cast<int>(PrivacyAction::keep)},
    {"drop", static_cast<int>(PrivacyAction::drop)},
};

const Option<FieldPrivacy> field_privacy_options[] = {
    {.key = "name", .kind = ValueKind::name, .required = true, .max = 128,
     .help = "a feature or attribute, declared or not", .field = "FieldPrivacy::name",
     .assign = assign_field<&FieldPrivacy::name>},
    {.key = "action", .kind = ValueKind::choice, .required = true, .choices = privacy_actions,
     .help = "keep; drop (undeclared features and attributes only); hash (keyed HMAC-SHA256: text fields, "
             "categorical features); generalise (with width or max_chars)",
     .field = "FieldPrivacy::action", .assign = assign_field<&FieldPrivacy::action>},
    {.key = "width", .kind = ValueKind::number, .min_number = 0, .max_number = 1e15, .min_exclusive = true,
     .help = "generalise a number to the lower edge of its bucket, floor(x / width) * width (numeric features; "
             "attributes whose values are numbers, the others left out)",
     .field = "FieldPrivacy::width", .assign = assign_field<&FieldPrivacy::width>},
    {.key = "max_chars", .kind = ValueKind::integer, .default_text = "0", .min = 0, .max = 1024,
     .help = "generalise text to its first max_chars characters (categorical features, attributes); 0: not text",
     .field = "FieldPrivacy::max_chars", .assign = assign_field<&FieldPrivacy::max_chars>},
};

const Option<PrivacyPolicy> privacy_options[] = {
    {.key = "key_file", .kind = ValueKind::path, .default_text = "", .allow_empty = true,
     .help = "file holding the HMAC key (at least 32 bytes, e.g. openssl rand -hex 32; not readable by others); "
             "required when anything is hashed. Replacing it is a key rotation (docs/privacy.md)",
     .field = "PrivacyPolicy::key_file, PrivacyPolicy::key", .assign = assign_field<&PrivacyPolicy::key_file>},
    {.key = "previous_key_id", .kind = ValueKind::text, .default_text = "", .allow_empty = true,
     .help = "a declared key rotation: the id (8 hex digits, as logged and as recorded in model_privacy) of the key "
             "key_file's key replaces; read at start (docs/privacy.md, \"Rotating the key\")",
     .field = "PrivacyPolicy::previous_key_id", .assign = assign_field<&PrivacyPolicy::previous_key_id>},
    {.key = "id", .kind = ValueKind::choice, .default_text = "keep", .choices = privacy_id_actions,
     .help = "keep or hash the records' ids (predictions' and outcomes' alike, so they still join)",
     .field = "PrivacyPolicy::id", .assign = assign_field<&PrivacyPolicy::id>},
    {.key = "undeclared", .kind = ValueKind::choice, .default_text = "keep", .choices = privacy_undeclared_actions,
     .help = "keep or drop features and attributes the model does not declare and fields does not name",
     .field = "PrivacyPolicy::undeclared", .assign = assign_field<&PrivacyPolicy::undeclared>},
    {.key = "fields", .kind = ValueKind::mapping_list,
     .help = "one row per feature or attribute that is not kept as sent",
     .field = "PrivacyPolicy::fields",
     .read_nested = [](Reader& reader, const YAML::Node& node, const std::string& path, int line,
                       PrivacyPolicy& policy) {
         read_mapping_list<FieldPrivacy>(reader, node, path, line, field_privacy_options, policy.fields);
     },
     .describe_nested = [](const std::string& prefix, std::vector<OptionDoc>& out) {
         describe_table<FieldPrivacy>(prefix, field_privacy_options, out);
     }},
};

// Reads the key file as the daemon will use it; "" when fine, else why not.
// The key is the file's bytes without trailing newlines (what $(cat file)
// gives), read straight into the key's own wiped, undumped memory
// (core/privacy_key.h): no buffer on the stack or the heap holds a copy.
std::string read_privacy_key_file(const std::string& file, std::shared_ptr<const PrivacyKey>& key) {
    // A symlink is resolved first (Kubernetes mounts secrets as links into
    // a ..data directory); the checks below are of the file it leads to,
    // opened without following a link, so nothing swaps it in between.
    std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(file.c_str(), nullptr), &std::free);
    if (!resolved) return fmt::format("cannot open \"{}\": {}", file, std::strerror(errno));
    const std::string target = resolved.get() == file ? std::string() : fmt::format(" (a link to \"{}\")", resolved.get());
    // O_NONBLOCK: a FIFO put in the key's place must not hang the start; it
    // is refused below as not a regular file.
    const UniqueFd fd(::open(resolved.get(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (fd.get() < 0) return fmt::format("cannot open \"{}\"{}: {}", file, target, std::strerror(errno));
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) return fmt::format("cannot stat \"{}\"{}: {}", file, target, std::strerror(errno));
    if (!S_ISREG(status.st_mode)) return fmt::format("\"{}\"{} is not a regular file", file, target);
    // Like ssh's private keys: a key others can read is no longer a secret,
    // one others can write is not the operator's.
    if ((status.st_mode & (S_IRWXO | S_IWGRP)) != 0)
        return fmt::format("\"{}\"{} has mode {:04o}: a key others can read, or others or the group can write, is "
                           "refused (chmod 0600, or 0640 for a group the daemon is in)",
                           file, target, status.st_mode & 07777);
    // A key owned by another (unprivileged) user is that user's to change.
    if (status.st_uid != ::geteuid() && status.st_uid != 0)
        return fmt::format("\"{}\"{} is owned by uid {}, not by the daemon's user (uid {}) or root: chown it", file,
                           target, status.st_uid, ::geteuid());
    if (status.st_size > static_cast<off_t>(max_privacy_key_bytes + 2))
        return fmt::format("\"{}\"{} is {} bytes, more than a key's limit of {}", file, target, status.st_size,
                           max_privacy_key_bytes);
    auto buffer = std::make_shared<PrivacyKey>(max_privacy_key_bytes + 3);
    std::size_t size = 0;
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer->writable() + size, buffer->capacity() - size);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fmt::format("cannot read \"{}\"{}: {}", file, target, std::strerror(errno));
        if (got == 0 || (size += static_cast<std::size_t>(got)) == buffer->capacity()) break;
    }
    const char* bytes = buffer->writable();
    while (size > 0 && (bytes[size - 1] == '\n' || bytes[size - 1] == '\r')) --size;
    buffer->set_size(std::min(size, buffer->capacity()));  // wipes what follows the key
    if (size > max_privacy_key_bytes)
        return fmt::format("\"{}\"{} holds more than a key's limit of {} bytes", file, target, max_privacy_key_bytes);
    if (size < min_privacy_key_bytes)
        return fmt::format("\"{}\"{} holds a key of {} bytes; at least {} are needed (openssl rand -hex 32 > FILE)",
                           file, target, size, min_privacy_key_bytes);
    std::array<bool, 256> seen{};
    std::size_t distinct = 0;
    for (std::size_t i = 0; i < size; ++i)
        if (!std::exchange(seen[static_cast<unsigned char>(bytes[i])], true)) ++distinct;
    seen.fill(false);
    if (distinct < 8)
        return fmt::format("\"{}\"{} holds only {} distinct bytes: that is a placeholder, not a random key", file,
                           target, distinct);
    buffer->finish();
    key = std::move(buffer);
    return {};
}

bool privacy_names_contain(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// An audit's reference group of an attribute truncated to max_chars must be
// a value the truncation can produce, else every audit run fails with "no rows".
void check_reference_groups_survive(Reader& reader, const std::string& path, const ModelOptions& model,
                                    const FieldPrivacy& row) {
    for (std::size_t a = 0; a < model.audits.size(); ++a)
        for (const auto& group : model.audits[a].reference_groups) {
            const auto equals = group.find('=');
            if (equals == std::string::npos || group.substr(0, equals) != row.name) continue;
            const std::string value = group.substr(equals + 1);
            if (truncate_utf8(value, row.max_chars) == value) continue;
            const std::string groups_path = fmt::format("{}.audits[{}].reference_groups", path, a);
            const std::string row_path = fmt::format("{}.privacy.fields[{}].max_chars", path,
                                                     static_cast<std::size_t>(&row - model.schema.privacy.fields.data()));
            reader.error(groups_path, reader.line_of(groups_path),
                         fmt::format("reference group \"{}\" can never have rows: {} (line {}) keeps only the first {} "
                                     "characters of {}; name the group \"{}={}\"",
                                     group, row_path, reader.line_of(row_path), row.max_chars, row.name, row.name,
                                     truncate_utf8(value, row.max_chars)));
        }
}

void check_model_privacy(Reader& reader, const std::string& path, ModelOptions& model) {
    PrivacyPolicy& policy = model.schema.privacy;
    const ModelSchema& schema = model.schema;
    const std::string privacy_path = path + ".privacy";
    if (reader.has_error_within(privacy_path)) return;
    bool hashes = policy.id == PrivacyAction::hash;
    std::string first_hash_path = privacy_path + ".id";
    for (std::size_t f = 0; f < policy.fields.size(); ++f) {
        const FieldPrivacy& row = policy.fields[f];
        const std::string row_path = fmt::format("{}.fields[{}]", privacy_path, f);
        const auto fail = [&](const std::string& key, std::string message) {
            reader.error(row_path + "." + key, reader.line_of(row_path + "." + key), std::move(message));
        };
        for (std::size_t g = 0; g < f; ++g)
            if (policy.fields[g].name == row.name)
                fail("name", fmt::format("\"{}\" has a row already (fields[{}], line {})", row.name, g,
                                         reader.line_of(fmt::format("{}.fields[{}].name", privacy_path, g))));
        if (row.action == PrivacyAction::hash && !hashes) {
            hashes = true;
            first_hash_path = row_path + ".action";
        }
        const bool generalise = row.action == PrivacyAction::generalise;
        if (!generalise && (row.width || row.max_chars != 0))
            fail(row.width ? "width" : "max_chars", "applies only to action: generalise");
        if (generalise && row.width.has_value() == (row.max_chars != 0)) {
            fail("action", "generalise needs exactly one of width (numbers) or max_chars (text)");
            continue;
        }
        const int feature = schema.feature_index(row.name);
        if (feature >= 0) {
            const FeatureType type = schema.features[static_cast<std::size_t>(feature)].type;
            const char* type_name = to_string(type);
            if (row.action == PrivacyAction::drop)
                fail("action", fmt::format("\"{}\" is a declared feature: dropped, it would read as missing in every "
                                           "record (a data-quality finding); remove it from features, and this row "
                                           "drops it as an undeclared feature",
                                           row.name));
            if (row.action == PrivacyAction::hash && type != FeatureType::categorical)
                fail("action", fmt::format("feature \"{}\" is {}: hashed, its values become categories (text), "
                                           "which its drift tests cannot read; declare it type: categorical to hash "
                                           "it, or generalise it with a width",
                                           row.name, type_name));
            if (generalise && type == FeatureType::boolean)
                fail("action", fmt::format("feature \"{}\" is boolean: there is nothing coarser to generalise it to",
                                           row.name));
            if (generalise && row.width && type != FeatureType::numeric)
                fail("width", fmt::format("feature \"{}\" is {}: width buckets numbers; use max_chars", row.name,
                                          type_name));
            if (generalise && row.max_chars != 0 && type != FeatureType::categorical)
                fail("max_chars", fmt::format("feature \"{}\" is {}: max_chars truncates text; use width", row.name,
                                              type_name));
            continue;
        }
        if (!privacy_names_contain(schema.attributes, row.name)) continue;  // undeclared: any action, applied by value type
        // An attribute's value is text; a width buckets those that read as
        // numbers (an age band) and leaves the others out (collectors/privacy.cpp).
        if (generalise && row.max_chars != 0) check_reference_groups_survive(reader, path, model, row);
        if (row.action != PrivacyAction::drop && row.action != PrivacyAction::hash) continue;
        // Sensitive attributes are kept only where an audit needs them, and
        // an audit needs them as sent: it names its groups.
        for (std::size_t a = 0; a < model.audits.size(); ++a) {
            if (!privacy_names_contain(model.audits[a].sensitive, row.name)) continue;
            const std::string audit_path = fmt::format("{}.audits[{}].sensitive", path, a);
            fail("action", fmt::format("attribute \"{}\" is {} here but {} (line {}) audits it: an audit reports "
                                       "its groups by value; keep or generalise it, or remove it from the audit",
                                       row.name, row.action == PrivacyAction::drop ? "dropped" : "hashed", audit_path,
                                       reader.line_of(audit_path)));
        }
        if (row.action == PrivacyAction::drop && privacy_names_contain(model.drift.segments, row.name)) {
            const std::string segments_path = path + ".drift.segments";
            fail("action", fmt::format("attribute \"{}\" is dropped here but {} (line {}) segments by it; hash it "
                                       "instead, or remove it from the segments",
                                       row.name, segments_path, reader.line_of(segments_path)));
        }
    }
    // Sensitive attributes are kept only where an audit or a segment needs
    // them: under a policy, a declared attribute that none uses needs a row
    // saying what is kept of it (keep, to keep it on purpose).
    if (!policy.keeps_everything()) {
        for (std::size_t a = 0; a < schema.attributes.size(); ++a) {
            const std::string& name = schema.attributes[a];
            if (policy.find(name) != nullptr || privacy_names_contain(model.drift.segments, name)) continue;
            bool audited = false;
            for (const auto& audit : model.audits) audited = audited || privacy_names_contain(audit.sensitive, name);
            if (audited) continue;
            const std::string attribute_path = fmt::format("{}.attributes[{}]", path, a);
            reader.error(attribute_path, reader.line_of(attribute_path),
                         fmt::format("attribute \"{}\" is declared but no audits[].sensitive and no drift.segments "
                                     "uses it, and {} (line {}) has no row for it: a sensitive attribute is kept only "
                                     "where an audit or a segment needs it; give it a row in privacy.fields (drop, "
                                     "hash, generalise, or keep to keep it on purpose), or remove it from attributes",
                                     name, privacy_path, reader.line_of(privacy_path)));
        }
    }
    const std::string key_path = privacy_path + ".key_file";
    const std::string previous_path = privacy_path + ".previous_key_id";
    const std::string& previous = policy.previous_key_id;
    if (!previous.empty() && !is_privacy_key_id(previous))
        reader.error(previous_path, reader.line_of(previous_path),
                     fmt::format("expected a key id, {} lowercase hex digits as logged (privacy_key_conflict, "
                                 "privacy_key_loaded) and recorded in model_privacy.key_id, got \"{}\"",
                                 privacy_key_id_digits, previous));
    if (policy.key_file.empty()) {
        if (hashes)
            reader.error(first_hash_path, reader.line_of(first_hash_path),
                         "hashing needs a key: set privacy.key_file");
        if (!previous.empty())
            reader.error(previous_path, reader.line_of(previous_path),
                         "a key rotation needs the new key: set privacy.key_file");
        return;
    }
    if (auto problem = read_privacy_key_file(policy.key_file, policy.key); !problem.empty()) {
        reader.error(key_path, reader.line_of(key_path), std::move(problem));
        return;
    }
    if (previous == policy.key->id())
        reader.error(previous_path, reader.line_of(previous_path),
                     fmt::format("\"{}\" is the id of the key in {} (line {}) itself: previous_key_id names the key "
                                 "it replaces",
                                 previous, key_path, reader.line_of(key_path)));
}

}  // namespace

void read_privacy(Reader& reader, const YAML::Node& node, const std::string& path, int line, ModelOptions& model) {
    read_mapping<PrivacyPolicy>(reader, node, path, line, privacy_options, model.schema.privacy);
}

void describe_privacy(const std::string& prefix, std::vector<OptionDoc>& out) {
    describe_table<PrivacyPolicy>(prefix, privacy_options, out);
}

void check_privacy(Reader& reader, std::vector<ModelOptions>& models) {
    for (std::size_t m = 0; m < models.size(); ++m) check_model_privacy(reader, fmt::format("models[{}]", m), models[m]);
}

}  // namespace mw::config
