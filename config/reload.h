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

}  // namespace mw::config
