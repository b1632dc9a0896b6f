#include "detectors/drift_method.h"

#include <stdexcept>

#include "detectors/drift_count_methods.h"
#include "detectors/drift_sample_methods.h"

namespace mw::drift {

namespace {

std::string auto_definition(bool, const DriftOptions&) { return "auto"; }

// "auto" is a name in config and on the command line, not a statistic: it
// stands for the selection rule of detectors/feature_drift.h.
constexpr DriftMethod auto_drift_method{
    {"auto", "per feature: ks / chi2 / z (legacy) or wasserstein / jensenshannon (robust) by its type"}, false,
    nullptr, nullptr, auto_definition};

}  // namespace

// The registry: one line per method, in the order help texts, docs and
// reports list them. A function-local static, so that the entries of the
// other translation units (constant-initialised) are there when it is built.
std::span<const DriftMethod> drift_methods() {
    static const DriftMethod table[] = {
        auto_drift_method,
        ks_drift_method,
        chi2_drift_method,
        z_drift_method,
        wasserstein_drift_method,
        psi_drift_method,
        jensenshannon_drift_method,
        hellinger_drift_method,
        tvd_drift_method,
        kl_drift_method,
        energy_drift_method,
        anderson_drift_method,
        cvm_drift_method,
        ttest_drift_method,
    };
    return table;
}

const DriftMethod* parse_drift_method(std::string_view name) { return config::find_component(drift_methods(), name); }

const DriftMethod& drift_method(std::string_view name) {
    const auto* method = parse_drift_method(name);
    if (method == nullptr) throw std::logic_error("unregistered drift method " + std::string(name));
    return *method;
}

std::string drift_method_names() { return config::component_names(drift_methods()); }

const char* to_string(const DriftMethod* method) { return method ? method->info.name.data() : "auto"; }

double default_threshold(const DriftMethod& method) { return method.p_value ? 0.05 : 0.1; }

}  // namespace mw::drift
