#include "daemon/bearer_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

namespace mw::daemon {

std::string sha256_hex(std::string_view text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

namespace {

// Compares hashes in constant time, so response timing says nothing about
// how much of a guess matched.
bool matches_any(const std::string& hash, const std::vector<config::TokenHash>& tokens) {
    bool found = false;
    for (const auto& token : tokens)
        if (token.sha256_hex.size() == hash.size() &&
            CRYPTO_memcmp(token.sha256_hex.data(), hash.data(), hash.size()) == 0)
            found = true;
    return found;
}

}  // namespace

bool auth_enabled(const config::Config& config) {
    bool any_configured = !config.server.tokens.empty();
    for (const auto& model : config.models) any_configured = any_configured || !model.tokens.empty();
    return any_configured;
}

AuthResult check_bearer(std::string_view authorization_header, const config::Config& config,
                        const config::ModelOptions* model) {
    if (!auth_enabled(config)) return AuthResult::allowed;

    constexpr std::string_view scheme = "Bearer ";
    if (authorization_header.size() <= scheme.size()) return AuthResult::missing;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization_header[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return AuthResult::missing;
    return check_secret(authorization_header.substr(scheme.size()), config, model);
}

AuthResult check_secret(std::string_view secret, const config::Config& config, const config::ModelOptions* model) {
    if (!auth_enabled(config)) return AuthResult::allowed;
    if (secret.empty()) return AuthResult::missing;
    const std::string hash = sha256_hex(secret);
    if (matches_any(hash, config.server.tokens)) return AuthResult::allowed;
    if (model && matches_any(hash, model->tokens)) return AuthResult::allowed;
    bool another_models = false;
    for (const auto& other : config.models) another_models = matches_any(hash, other.tokens) || another_models;
    return another_models ? AuthResult::insufficient_scope : AuthResult::invalid;
}

bool listens_on_loopback_only(const config::ServerOptions& server) {
    // server.listen takes IP addresses only (names are refused at load).
    return server.listen_address.starts_with("127.") || server.listen_address == "::1";
}

bool readiness_details_allowed(std::string_view authorization_header, const config::Config& config) {
    if (!auth_enabled(config)) return listens_on_loopback_only(config.server);
    return check_bearer(authorization_header, config, nullptr) == AuthResult::allowed;
}

std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name) {
    while (!cookie_header.empty()) {
        const auto semicolon = cookie_header.find(';');
        auto pair = cookie_header.substr(0, semicolon);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        const auto equals = pair.find('=');
        if (equals != std::string_view::npos && pair.substr(0, equals) == name) return pair.substr(equals + 1);
        cookie_header = semicolon == std::string_view::npos ? std::string_view() : cookie_header.substr(semicolon + 1);
    }
    return std::nullopt;
}

}  // namespace mw::daemon
