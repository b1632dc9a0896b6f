// docs/monitoring.md's tables of pluggable components, made from a catalog
// (registry::catalog() for the real file; tests/registry/registry_test.cpp
// checks the file holds exactly this text), so the docs and the registries
// cannot disagree.
#pragma once

#include <string>

#include "config/catalog.h"

namespace mw::registry {

// One "### <registry>" section per registry: each component's name and
// description, and its options with kind, default, rule and help.
std::string component_tables_markdown(const config::Catalog& catalog);

}  // namespace mw::registry
