// What a reload may change in the server's options without a restart.
#include <catch2/catch.hpp>

#include "daemon/http_server.h"

using mw::config::ServerOptions;
using mw::daemon::server_limits_changed;

TEST_CASE("server options: tokens and the handler's limits are live; every limit the server reads is not") {
    const ServerOptions before;
    ServerOptions after = before;
    after.tokens.resize(1);
    after.max_records_per_request = 7;
    after.max_json_depth = 3;
    after.listen_port = 1;  // reported on its own as server.listen
    CHECK_FALSE(server_limits_changed(before, after));

    for (auto change : {+[](ServerOptions& o) { o.min_receive_bytes_per_second = 0; },
                        +[](ServerOptions& o) { o.max_connections_per_client = 1; },
                        +[](ServerOptions& o) { o.max_bodies_per_client = 1; },
                        +[](ServerOptions& o) { o.receive_rate_grace_ms = 1; },
                        +[](ServerOptions& o) { o.receive_rate_window_ms = 1; },
                        +[](ServerOptions& o) { o.max_inflight_bytes = 1; },
                        +[](ServerOptions& o) { o.header_timeout_ms = 1; }}) {
        ServerOptions changed = before;
        change(changed);
        CHECK(server_limits_changed(before, changed));
    }
}
