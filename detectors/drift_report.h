// Renderers of a dataset drift result (detectors/dataset_drift.h): a text
// table for terminals, JSON for programs (every statistic with its exact
// definition), and a self-contained HTML page (no network access: inline CSS
// and inline SVG charts of the reference and current distributions of each
// drifted feature).
#pragma once

#include <string>

#include "detectors/dataset_drift.h"

namespace mw::drift {

struct ReportSources {
    std::string reference;  // e.g. the reference file name
    std::string current;
};

std::string render_text(const DatasetDriftResult& result, const DatasetDriftOptions& options,
                        const ReportSources& sources);
std::string render_json(const DatasetDriftResult& result, const DatasetDriftOptions& options,
                        const ReportSources& sources);
std::string render_html(const DatasetDriftResult& result, const DatasetDriftOptions& options,
                        const ReportSources& sources);

// The definitions of the effect size, noise baseline, correction, verdict and
// multivariate error that apply to the whole report, as written in JSON and HTML.
std::string effect_size_definition();
std::string noise_baseline_definition(const DriftOptions& options);
std::string verdict_definition(const DriftOptions& options);
std::string multivariate_definition(const MultivariateOptions& options);

}  // namespace mw::drift
