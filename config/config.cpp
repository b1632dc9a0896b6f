#include "config/config.h"

namespace mw::config {

const ModelOptions* Config::find_model(std::string_view name) const {
    for (const auto& model : models)
        if (model.schema.name == name) return &model;
    return nullptr;
}

}  // namespace mw::config
