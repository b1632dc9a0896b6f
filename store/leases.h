// Ownership of models among the daemons sharing one database
// (docs/scaling.md). Each daemon heartbeats in `daemons` and holds a lease
// per model it owns in `model_leases`; only a model's owner closes its
// windows, runs its detectors and its audits. A write for a model carries
// the owner and epoch of the lease it was decided under, and the store
// refuses it unless that lease is still held (check_fence), so a daemon that
// was paused or cut off past its lease writes nothing after a successor took
// over. Every comparison with the expiry uses the database's clock
// (clock_timestamp()), so the daemons' clocks do not matter.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/connection_base>
#include <pqxx/transaction_base>

namespace mw::store {

struct Lease {
    std::string model;
    std::int64_t epoch = 0;

    bool operator==(const Lease&) const = default;
};

// What one heartbeat did.
struct Heartbeat {
    std::vector<Lease> owned;         // every lease held after it, by model name
    std::vector<Lease> claimed;       // newly taken (new epochs)
    std::vector<std::string> released;  // given up to even out the load
    std::int64_t renewed = 0;         // leases extended
    std::int64_t live_daemons = 0;    // heartbeats within one lease duration, this one included
    std::int64_t fair_share = 0;      // ceil(models / live daemons): the most this daemon keeps
};

// One heartbeat of `daemon_id`, in one transaction: records the heartbeat
// with the models of its configuration (daemons.models, migration 16: what
// tells a model no live daemon configures, answer_unconfigured_root_causes),
// extends the leases it still holds, gives up those beyond its fair share
// (or of models it no longer has) and claims expired or never-held ones up
// to it. Claims skip rows another daemon is claiming (SKIP LOCKED), so
// concurrent heartbeats never take the same model. A lease already expired
// is never extended: it is claimed again, with a new epoch, like any other.
// The first heartbeat of a process (`first`) takes the leases still held
// under its id (its predecessor of the same name, killed before they
// expired) with a new epoch too, so nothing the predecessor decided can
// still be written.
Heartbeat heartbeat(pqxx::connection_base& connection, const std::string& daemon_id,
                    const std::vector<std::string>& models, std::chrono::milliseconds lease_duration,
                    bool first = false);

// SQL: true for a row of `daemons` (under `alias`) that heartbeated within
// the lease duration, given as milliseconds in parameter $`parameter`: a
// live daemon (counted in Heartbeat::live_daemons).
std::string live_daemon_condition(std::string_view alias, int parameter);

// A clean stop: every lease of `daemon_id` expires now and its heartbeat row
// goes, so the others take its models at their next heartbeat instead of
// waiting for the expiry.
void release_all(pqxx::connection_base& connection, const std::string& daemon_id);

// The lease a write is made under.
struct Fence {
    std::string owner;
    std::int64_t epoch = 0;
};

// Every lease one daemon holds at one moment, for a worker that writes for
// several models (the alert outbox): each model's writes go under
// fence(model).
struct HeldLeases {
    std::string owner;                             // the daemon's cluster.daemon_id
    std::map<std::string, std::int64_t> epochs;    // model -> epoch of the lease held

    std::optional<Fence> fence(const std::string& model) const {
        const auto it = epochs.find(model);
        if (it == epochs.end()) return std::nullopt;
        return Fence{owner, it->second};
    }
    std::vector<std::string> models() const {
        std::vector<std::string> names;
        for (const auto& [model, epoch] : epochs) names.push_back(model);
        return names;
    }
};

// Thrown by check_fence: the lease is gone (expired, taken, or a newer epoch).
class LeaseLost : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// In the caller's write transaction, before it writes: holds the model's
// lease row FOR SHARE until the transaction ends, so no takeover can commit
// in between, and throws LeaseLost unless `fence` is the model's current,
// unexpired lease.
void check_fence(pqxx::transaction_base& transaction, const std::string& model, const Fence& fence);

}  // namespace mw::store
