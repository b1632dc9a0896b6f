#include "fairness/audit.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace mw::fairness {

std::string grouping_name(const std::vector<std::string>& attributes) {
    std::string name;
    for (const auto& a : attributes) {
        if (!name.empty()) name += " x ";
        name += a;
    }
    return name;
}

AuditRun run_audit(const AuditData& data, const AuditOptions& options) {
    AuditRun run;
    AuditResult& result = run.result;
    result.options = options;
    result.has_scores = data.has_scores();
    result.window.rows = data.rows();
    if (options.sensitive_attributes.empty()) {
        run.error = "no sensitive attribute given";
        return run;
    }
    std::vector<std::size_t> indices;
    for (const auto& name : options.sensitive_attributes) {
        const int index = data.attribute_index(name);
        if (index < 0) {
            run.error = fmt::format("sensitive attribute '{}' is not in the data", name);
            return run;
        }
        indices.push_back(static_cast<std::size_t>(index));
    }
    for (const auto& [attribute, value] : options.reference_values) {
        bool audited = false;
        for (const auto& name : options.sensitive_attributes) audited = audited || name == attribute;
        if (!audited) {
            run.error = fmt::format("reference group {}={} names an attribute that is not audited", attribute, value);
            return run;
        }
    }

    // Intersection codes are mixed-radix numbers over the dictionaries; refuse
    // products that would not fit in 64 bits rather than let codes collide.
    constexpr std::uint64_t max_combinations = std::uint64_t{1} << 62;
    std::uint64_t combinations = 1;
    for (std::size_t index : indices) {
        const std::uint64_t values = std::max<std::size_t>(1, data.attributes[index].values.size());
        if (combinations > max_combinations / values) {
            run.error = "the sensitive attributes have too many value combinations to intersect";
            return run;
        }
        combinations *= values;
    }

    std::vector<std::vector<std::size_t>> groupings;
    for (std::size_t index : indices) groupings.push_back({index});
    if (options.intersections && indices.size() > 1) groupings.push_back(indices);

    // Every grouping's metrics and the overall row from one pass over the rows.
    GroupingsMetrics metrics = compute_groupings_metrics(data, groupings, options.metrics);
    result.overall = std::move(metrics.overall);
    for (std::size_t i = 0; i < groupings.size(); ++i) {
        GroupingResult g;
        for (std::size_t index : groupings[i]) g.attributes.push_back(data.attributes[index].name);
        g.groups = std::move(metrics.groupings[i]);

        std::vector<std::string> wanted;
        for (const auto& attribute : g.attributes) {
            auto it = options.reference_values.find(attribute);
            if (it != options.reference_values.end()) wanted.push_back(it->second);
        }
        std::optional<std::size_t> reference;
        if (wanted.size() == g.attributes.size()) {
            for (std::size_t k = 0; k < g.groups.size(); ++k)
                if (g.groups[k].values == wanted) reference = k;
            if (!reference) {
                run.error = fmt::format("reference group '{}' of {} has no rows", group_label(wanted),
                                        grouping_name(g.attributes));
                return run;
            }
        }
        if (options.complementary_suppression) {
            // An intersection's groups sum to its attributes' own groups,
            // published in the tables before it (linked tables,
            // fairness/suppression.h): a value hidden there hides its groups here.
            std::vector<std::set<std::string>> hidden_margins;
            if (g.attributes.size() > 1)
                for (const auto& attribute : g.attributes) {
                    auto& hidden = hidden_margins.emplace_back();
                    for (const auto& earlier : result.groupings)
                        if (earlier.attributes == std::vector<std::string>{attribute})
                            for (const auto& group : earlier.groups)
                                if (group.too_small) hidden.insert(group.values.front());
                }
            suppress_complements(g.groups, options.metrics.min_group_size, reference, hidden_margins);
        }
        if (reference && g.groups[*reference].too_small) {
            // Without its count: the error is logged and shown on the status page.
            run.error = fmt::format("reference group '{}' of {} is suppressed: {}", group_label(wanted),
                                    grouping_name(g.attributes),
                                    g.groups[*reference].complementary
                                        ? "the groups smaller than it cannot be hidden otherwise"
                                        : fmt::format("fewer rows than the minimum group size {}",
                                                      options.metrics.min_group_size));
            return run;
        }
        g.disparities = compute_disparities(g.groups, reference, data.has_scores(), options.tolerance);
        attach_bootstrap_intervals(g.disparities, g.groups, options.bootstrap, options.tolerance);
        result.groupings.push_back(std::move(g));
    }
    return run;
}

VerdictCounts count_verdicts(const AuditResult& result) {
    VerdictCounts counts;
    auto add = [&](const DisparityValue& v) {
        switch (v.verdict) {
            case Verdict::within_tolerance: ++counts.within; break;
            case Verdict::beyond_clear: ++counts.beyond_clear; break;
            case Verdict::beyond_unclear: ++counts.beyond_unclear; break;
            case Verdict::not_evaluable: ++counts.not_evaluable; break;
        }
    };
    for (const auto& g : result.groupings) {
        for (const auto& v : g.disparities.to_reference) add(v);
        for (const auto& v : g.disparities.between_groups) add(v);
    }
    return counts;
}

}  // namespace mw::fairness
