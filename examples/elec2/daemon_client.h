// Posts JSON to modelwatchd's ingest API (POST /v1/models/<model>/predictions
// and /outcomes) over plain HTTP/1.1 with Boost.Beast, as a model server
// would: a 503 waits as its Retry-After says, a refused connection or a 5xx
// is retried with exponential backoff, any 4xx is final (the request itself
// is wrong, so sending it again cannot help). Reads the admin API (GET) for
// the replay's lockstep (examples/elec2/lockstep.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "examples/elec2/result.h"

namespace mw::elec2 {

struct DaemonClientOptions {
    std::string base_url = "http://127.0.0.1:8470";  // http:// only: the daemon listens on loopback
    std::string token;                                // sent as "Authorization: Bearer <token>" when set
    std::chrono::milliseconds timeout{30000};         // one exchange: connect, write, read
    std::chrono::milliseconds first_backoff{250};     // after the first connection error or 5xx; doubles
    std::chrono::milliseconds max_backoff{8000};
    std::chrono::seconds give_up_after{300};          // total time spent retrying one request
};

// A GET's answer: the body of a 200, or why there is none.
struct GetOutcome {
    Result<std::string> body;
    // The daemon refused the request itself (a 4xx other than 408 and 429:
    // a token without the scope, an unknown model or route), so asking
    // again cannot help.
    bool refused = false;
};

struct PostOutcome {
    std::size_t accepted = 0;
    std::size_t rejected = 0;
    std::string first_rejection;  // the daemon's reason for the first rejected record, if any
    std::size_t retries = 0;
};

class DaemonClient {
public:
    // Fails when the URL is not http://host[:port][/prefix].
    static Result<DaemonClient> create(const DaemonClientOptions& options);

    // POSTs the body to <base_url><path>; retries as described above. An error
    // names the path, the status and the daemon's message.
    Result<PostOutcome> post(const std::string& path, const std::string& json_body) const;
    // GETs <base_url><path> once (no retries: the caller polls) and returns
    // the body of a 200; an error names the path, the status and the
    // daemon's message, or what failed on the way.
    GetOutcome get(const std::string& path) const;

private:
    DaemonClientOptions options_;
    std::string host_;
    std::string port_;
    std::string prefix_;  // the base URL's path without a trailing '/'
};

}  // namespace mw::elec2
