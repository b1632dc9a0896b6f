// Renderers of a dataset drift result (detectors/dataset_drift.h): a text
// table for terminals, JSON for programs (every statistic with its exact
// definition), and a self-contained HTML page (no network access: inline CSS
// and inline SVG small multiples of the reference and current distributions
// of every feature, drifted first).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "detectors/dataset_drift.h"

namespace mw::drift {

// A column of the inputs that was not compared, and why ("label column",
// "grows monotonically in both files (an id or a time)", "--exclude").
struct ExcludedColumn {
    std::string name;
    std::string reason;
};

struct ReportSources {
    std::string reference;  // e.g. the reference file name
    std::string current;
    std::vector<ExcludedColumn> excluded;  // noted in every format
};

std::string render_text(const DatasetDriftResult& result, const DatasetDriftOptions& options,
                        const ReportSources& sources);
std::string render_json(const DatasetDriftResult& result, const DatasetDriftOptions& options,
                        const ReportSources& sources);
std::string render_html(const DatasetDriftResult& result, const DatasetDriftOptions& options,
                        const ReportSources& sources);

// The formats of a drift report (modelwatch drift --format), text first (the default).
struct DriftReportFormat {
    config::ComponentInfo info;
    std::string (*render)(const DatasetDriftResult&, const DatasetDriftOptions&, const ReportSources&);
};
std::span<const DriftReportFormat> drift_report_formats();

// The definitions of the effect size, noise baseline, correction, verdict and
// multivariate error that apply to the whole report, as written in JSON and HTML.
std::string effect_size_definition();
std::string noise_baseline_definition(const DriftOptions& options);
std::string verdict_definition(const DriftOptions& options);
std::string multivariate_definition(const MultivariateOptions& options);
// Why a feature's verdict is what it is, e.g. "ok: adjusted p 5e-06 < 0.05 but
// effect size 0.031 is under the floor 0.1"; notes a constant reference.
std::string verdict_reason(const FeatureDriftResult& feature, const DriftOptions& options);

}  // namespace mw::drift
