// Bearer-token checks. Tokens are configured as the SHA-256 of the secret, so
// neither the config file nor a memory dump holds a usable credential.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace mw::daemon {

// Lowercase hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);

// insufficient_scope: a token the daemon knows, of a model, where the
// route needs another (a global token for the admin API and the pages, or
// another model's for its ingest): 403 (RFC 6750, section 3.1) naming the
// scope needed, where an unknown token is 401.
enum class AuthResult { allowed, missing, invalid, insufficient_scope };

// True when any token is configured, globally or for a model.
bool auth_enabled(const config::Config& config);

// With no token configured at all (global or for the model), access is open:
// the default listen address is loopback. Otherwise the request must carry
// "Authorization: Bearer <secret>" whose hash is a global token or one of the
// model's (model may be null for routes that are not per model).
AuthResult check_bearer(std::string_view authorization_header, const config::Config& config,
                        const config::ModelOptions* model);

// True when the server listens on a loopback address only, so every client
// is on this host.
bool listens_on_loopback_only(const config::ServerOptions& server);

// May this caller see /readyz's details (worker states, store errors that
// name sockets and hosts)? With tokens configured: only with a global
// (admin) token; a model's token is for ingest only. With none configured:
// only when the server listens on loopback, where every client is local;
// on any other address, never (configure server.tokens to see them).
bool readiness_details_allowed(std::string_view authorization_header, const config::Config& config);

// The same check of a secret given another way (allowed also when no
// token is configured at all).
AuthResult check_secret(std::string_view secret, const config::Config& config, const config::ModelOptions* model);

// Browsers cannot send a bearer header from a link, so the HTML pages take
// the admin secret from this cookie, set by opening a page with ?token=
// (docs/monitoring.md, "Status page"). It authorises GET requests only.
inline constexpr std::string_view token_cookie = "modelwatch_token";

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or empty.
std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace mw::daemon
