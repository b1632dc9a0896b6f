// models[].privacy: the option tables of a model's privacy policy
// (core/privacy.h), the checks that span its keys and the model's other
// sections, and the reading of its HMAC key file. docs/privacy.md explains
// the policy; config/modelwatch.yaml documents every key.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/option_table.h"

namespace mw::config {

// Reads `node` (undefined when the key is absent) into model.schema.privacy.
void read_privacy(Reader& reader, const YAML::Node& node, const std::string& path, int line, ModelOptions& model);
void describe_privacy(const std::string& prefix, std::vector<OptionDoc>& out);

// For every model: what each row may do to the field it names (a declared
// feature's type, an attribute's audits and segments), that hashing has a
// key, and reads the key file (the daemon's own file: not readable by
// others, at least min_privacy_key_bytes).
void check_privacy(Reader& reader, std::vector<ModelOptions>& models);

inline constexpr std::size_t min_privacy_key_bytes = 32;   // RFC 2104 section 3: at least the hash's output length
inline constexpr std::size_t max_privacy_key_bytes = 1024;

}  // namespace mw::config
