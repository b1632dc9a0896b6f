// What a reload (SIGHUP) may change for a model that stays configured, as
// docs/monitoring.md "Reloading" explains:
//   - features may be added, removed and reordered: records are stored with
//     their values under their names (store/copy_encoding.h), each under the
//     schema it was accepted with, so names never move;
//   - a feature's type and the model's prediction type may not change: rows
//     already stored, the reference and the window open at the reload hold
//     the old type, and mixing the two in one window would read as type
//     errors and drift that the data never had. A new type is a new feature
//     (a new name), with the reference it needs.
//   - a model's privacy policy, its key included, may not change: values
//     already accepted were kept, hashed or generalised under the running
//     one (docs/privacy.md).
// A reload with a refused change is refused as a whole, like an invalid
// file: the running configuration stays in force.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace mw::config {

// One message per refused change, naming the key path in `next`, e.g.
//   models[0].features[1].type: feature "c" of model "churn" is numeric in the
//   running configuration and categorical in the new one; ...
std::vector<std::string> refused_reload_changes(const Config& running, const Config& next);

// Every model and feature in force since the daemon started, each as it was
// first: a model or feature removed by one reload and added back by a later
// one is the same one to its stored rows, its reference and the file tails
// (which keep the schema they started with), so it may not come back with
// another type or privacy policy either. Checking the running configuration
// alone let two reloads do what one may not.
class ReloadHistory {
public:
    explicit ReloadHistory(const Config& initial);

    // refused_reload_changes against the running configuration and against
    // the history, one message per key path.
    std::vector<std::string> refused_changes(const Config& running, const Config& next) const;

    // Remembers what `next` adds; call once it is in force.
    void accept(const Config& next);

private:
    Config first_seen_;  // only its models are used
};

}  // namespace mw::config
