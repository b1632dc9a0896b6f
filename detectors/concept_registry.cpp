#include "detectors/concept_registry.h"

#include "detectors/adwin.h"
#include "detectors/ddm.h"
#include "detectors/eddm.h"
#include "detectors/hddm_a.h"
#include "detectors/hddm_w.h"
#include "detectors/kswin.h"
#include "detectors/page_hinkley.h"

namespace mw::concept_drift {

const char* to_string(DriftState state) {
    switch (state) {
        case DriftState::none: return "none";
        case DriftState::warning: return "warning";
        case DriftState::drift: return "drift";
    }
    return "?";
}

namespace {

template <typename Detector>
std::unique_ptr<ConceptDetector> make(config::Settings options) {
    return std::make_unique<Detector>(std::move(options));
}

std::unique_ptr<ConceptDetector> make_adwin_river021(config::Settings options) {
    return std::make_unique<Adwin>(std::move(options), AdwinCutLoop::river_0_21);
}

constexpr ConceptDetectorEntry entries[] = {
    {{"adwin", "adaptive windowing: a change in the mean of any numeric stream (Bifet & Gavalda 2007)",
      adwin_option_table},
     "MOA's ADWIN.java and current River's river.drift.ADWIN (every bucket a candidate cut)", false, make<Adwin>},
    {{"adwin_river021", "adwin with River 0.21's cut loop, which skips the newest bucket of each row",
      adwin_option_table},
     "River 0.21's river.drift.ADWIN (river#1539)", false, make_adwin_river021},
    {{"ddm", "drift detection method: a rise of the error rate of a 0/1 error stream (Gama et al. 2004)",
      ddm_option_table},
     "River 0.21's river.drift.binary.DDM", true, make<Ddm>},
    {{"eddm", "early DDM: a shrinking distance between errors of a 0/1 error stream (Baena-Garcia et al. 2006)",
      eddm_option_table, eddm_check_options},
     "River 0.21's river.drift.binary.EDDM", true, make<Eddm>},
    {{"hddm_a", "Hoeffding-bound test on moving averages of a 0/1 error stream (Frias-Blanco et al. 2015)",
      hddm_a_option_table},
     "River 0.21's river.drift.binary.HDDM_A", true, make<HddmA>},
    {{"hddm_w", "McDiarmid-bound test on weighted moving averages of a 0/1 error stream (Frias-Blanco et al. 2015)",
      hddm_w_option_table},
     "River 0.21's river.drift.binary.HDDM_W", true, make<HddmW>},
    {{"kswin", "Kolmogorov-Smirnov test between recent and older values of a numeric stream (Raab et al. 2020)",
      kswin_option_table, kswin_check_options},
     "River 0.21's river.drift.KSWIN (its CPython random draws included)", false, make<Kswin>},
    {{"page_hinkley", "Page-Hinkley cumulative-sum test for a change in the mean of a numeric stream (Page 1954)",
      page_hinkley_option_table},
     "River 0.21's river.drift.PageHinkley", false, make<PageHinkley>},
};

}  // namespace

std::span<const ConceptDetectorEntry> concept_detectors() { return entries; }

const ConceptDetectorEntry* find_concept_detector(std::string_view name) {
    return config::find_component(concept_detectors(), name);
}

MakeDetectorResult make_concept_detector(std::string_view name, std::span<const std::string> assignments) {
    const ConceptDetectorEntry* entry = find_concept_detector(name);
    if (entry == nullptr) return {nullptr, config::unknown_component("concept detector", name, concept_detectors())};
    auto parsed = config::configure(entry->info, assignments);
    if (!parsed.ok()) return {nullptr, config::joined(parsed.errors)};
    return {entry->make(std::move(parsed.settings)), ""};
}

}  // namespace mw::concept_drift
