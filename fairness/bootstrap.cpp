#include "fairness/bootstrap.h"

#include <array>
#include <map>

namespace mw::fairness {

ConfusionCounts resample_counts(const ConfusionCounts& counts, std::mt19937_64& rng) {
    const std::array<std::uint64_t, 4> cells = {counts.tp, counts.fp, counts.tn, counts.fn};
    std::array<std::uint64_t, 4> drawn = {0, 0, 0, 0};
    std::uint64_t trials_left = counts.total();
    std::uint64_t mass_left = counts.total();
    for (std::size_t i = 0; i + 1 < cells.size() && trials_left > 0 && mass_left > 0; ++i) {
        if (cells[i] > 0) {
            const double p = static_cast<double>(cells[i]) / static_cast<double>(mass_left);
            drawn[i] = p >= 1.0 ? trials_left : std::binomial_distribution<std::uint64_t>(trials_left, p)(rng);
        }
        trials_left -= drawn[i];
        mass_left -= cells[i];
    }
    drawn[3] = trials_left;
    return {drawn[0], drawn[1], drawn[2], drawn[3]};
}

void attach_bootstrap_intervals(GroupingDisparities& disparities, const std::vector<GroupMetrics>& groups,
                                const BootstrapOptions& options, const Tolerance& tolerance) {
    if (!disparities.reference_index || disparities.eligible.size() < 2 || options.replicates == 0) return;
    std::map<std::string, std::size_t> index_of_label;
    for (std::size_t g = 0; g < groups.size(); ++g) index_of_label[groups[g].label] = g;

    const std::size_t values = disparities.to_reference.size() + disparities.between_groups.size();
    std::vector<std::vector<double>> differences(values), ratios(values);
    for (auto& v : differences) v.reserve(options.replicates);
    for (auto& v : ratios) v.reserve(options.replicates);

    std::mt19937_64 rng(options.seed);
    std::vector<GroupSummary> replicate(groups.size());
    std::vector<GroupSummary> eligible(disparities.eligible.size());
    for (std::size_t b = 0; b < options.replicates; ++b) {
        for (std::size_t k = 0; k < disparities.eligible.size(); ++k) {
            const std::size_t g = disparities.eligible[k];
            replicate[g] = {resample_counts(groups[g].counts, rng), groups[g].calibration_error};
            eligible[k] = replicate[g];
        }
        const GroupSummary& reference = replicate[*disparities.reference_index];
        std::size_t i = 0;
        for (const auto& v : disparities.to_reference) {
            const DisparityPoint p =
                disparity_to_reference(v.metric, replicate[index_of_label.at(v.group)], reference);
            differences[i].push_back(p.difference);
            ratios[i].push_back(p.ratio);
            ++i;
        }
        for (const auto& v : disparities.between_groups) {
            const DisparityPoint p = disparity_between_groups(v.metric, eligible);
            differences[i].push_back(p.difference);
            ratios[i].push_back(p.ratio);
            ++i;
        }
    }

    const double low_percent = (1.0 - options.confidence) / 2.0 * 100.0;
    const double high_percent = 100.0 - low_percent;
    std::size_t i = 0;
    auto attach = [&](DisparityValue& v, bool between_groups) {
        if (v.metric != DisparityMetric::calibration_gap) {
            v.difference_interval = {percentile_linear(differences[i], low_percent),
                                     percentile_linear(differences[i], high_percent)};
            v.ratio_interval = {percentile_linear(ratios[i], low_percent), percentile_linear(ratios[i], high_percent)};
        }
        judge(v, between_groups, tolerance);
        ++i;
    };
    for (auto& v : disparities.to_reference) attach(v, false);
    for (auto& v : disparities.between_groups) attach(v, true);
}

}  // namespace mw::fairness
