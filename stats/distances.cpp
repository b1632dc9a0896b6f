#include "stats/distances.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "stats/sample_checks.h"
#include "stats/sorting.h"

namespace mw::stats {
namespace {

DistanceResult failure(std::string message) {
    DistanceResult result;
    result.error = std::move(message);
    return result;
}

// Shared checks for two count vectors; returns an empty string when usable.
std::string check_counts(const char* function, std::span<const double> reference, std::span<const double> current) {
    if (reference.size() != current.size()) {
        return std::string(function) + ": the count vectors differ in length (" + std::to_string(reference.size()) +
               " reference bins, " + std::to_string(current.size()) + " current)";
    }
    if (reference.empty()) return std::string(function) + ": the count vectors are empty";
    if (std::string problem = find_bad_count(function, "reference", reference); !problem.empty()) return problem;
    if (std::string problem = find_bad_count(function, "current", current); !problem.empty()) return problem;
    double reference_total = 0.0;
    double current_total = 0.0;
    for (double c : reference) reference_total += c;
    for (double c : current) current_total += c;
    if (reference_total == 0.0) return std::string(function) + ": the reference counts sum to 0";
    if (current_total == 0.0) return std::string(function) + ": the current counts sum to 0";
    return {};
}

std::vector<double> proportions(std::span<const double> counts) {
    double total = 0.0;
    for (double c : counts) total += c;
    std::vector<double> p(counts.size());
    for (std::size_t i = 0; i < counts.size(); ++i) p[i] = counts[i] / total;
    return p;
}

// Proportions with exact zeros replaced by epsilon (Evidently's np.place).
std::vector<double> proportions_with_floor(std::span<const double> counts, double epsilon) {
    std::vector<double> p = proportions(counts);
    for (double& value : p) {
        if (value == 0.0) value = epsilon;
    }
    return p;
}

// scipy.special.rel_entr(x, y) = x ln(x / y), 0 when x == 0.
double relative_entropy(double x, double y) {
    if (x == 0.0) return 0.0;
    return x * std::log(x / y);
}

std::string check_samples(const char* function, std::span<const double> u, std::span<const double> v) {
    if (u.empty() || v.empty()) {
        return std::string(function) + ": sample " + (u.empty() ? "u" : "v") + " is empty";
    }
    return find_nan(function, u, v);
}

// The integral of |F_u - F_v|^p over the pooled sample, both sorted: scipy's
// _cdf_distance before its final root. Terms are formed in double as scipy forms them.
double cdf_difference_integral(std::span<const double> u, std::span<const double> v, int power) {
    // Between consecutive pooled values z_{k-1} < z_k the counts (i, j) of
    // values consumed so far are #u <= z_{k-1} and #v <= z_{k-1}; between tied
    // values the interval has length 0 and the (partial) counts do not matter.
    // Selects instead of branches, as in ks_2samp_sorted.
    constexpr double infinity = std::numeric_limits<double>::infinity();
    // Multiplying by the reciprocal differs from scipy's division by at most
    // an ulp per term, far inside the 1e-9 agreement the vectors check.
    const double inverse_nu = 1.0 / static_cast<double>(u.size());
    const double inverse_nv = 1.0 / static_cast<double>(v.size());
    const long u_size = static_cast<long>(u.size());
    const long v_size = static_cast<long>(v.size());
    const long total = u_size + v_size;
    long i = 0;
    long j = 0;
    double previous = std::min(u[0], v[0]);
    // Neumaier-compensated sum: as accurate as numpy's pairwise sum without
    // its blocking, and cheaper than long double.
    double sum = 0.0;
    double compensation = 0.0;
    for (long k = 0; k < total; ++k) {
        const double a = i < u_size ? u[std::min(i, u_size - 1)] : infinity;
        const double b = j < v_size ? v[std::min(j, v_size - 1)] : infinity;
        const long take_u = a <= b ? 1 : 0;
        const double value = std::min(a, b);
        const double difference = std::fabs(static_cast<double>(i) * inverse_nu - static_cast<double>(j) * inverse_nv);
        const double delta = value - previous;
        const double term = power == 1 ? difference * delta : difference * difference * delta;
        const double t = sum + term;
        compensation += std::fabs(sum) >= std::fabs(term) ? (sum - t) + term : (term - t) + sum;
        sum = t;
        i += take_u;
        j += 1 - take_u;
        previous = value;
    }
    return sum + compensation;
}

std::vector<double> sorted_copy(std::span<const double> values) {
    std::vector<double> out(values.begin(), values.end());
    sort_ascending(out);
    return out;
}

}  // namespace

std::vector<double> quantile_bin_edges(std::span<const double> sorted_reference, std::size_t bin_count) {
    std::vector<double> edges;
    if (sorted_reference.empty() || bin_count < 2) return edges;
    const double n = static_cast<double>(sorted_reference.size());
    const double step = 1.0 / static_cast<double>(bin_count);  // numpy.linspace's step
    for (std::size_t i = 1; i < bin_count; ++i) {
        const double q = static_cast<double>(i) * step;
        // numpy _compute_virtual_index with alpha = beta = 1 (method 'linear').
        const double virtual_index = n * q + (1.0 + q * (1.0 - 1.0 - 1.0)) - 1.0;
        const double previous = std::floor(virtual_index);
        const double gamma = virtual_index - previous;
        const auto lo = std::clamp<long>(static_cast<long>(previous), 0, static_cast<long>(sorted_reference.size()) - 1);
        const auto hi = std::clamp<long>(lo + 1, 0, static_cast<long>(sorted_reference.size()) - 1);
        const double a = sorted_reference[lo];
        const double b = sorted_reference[hi];
        // numpy _lerp: interpolate from the nearer end.
        const double diff = b - a;
        edges.push_back(gamma >= 0.5 ? b - diff * (1.0 - gamma) : a + diff * gamma);
    }
    return edges;
}

std::vector<double> equal_width_bin_edges(double low, double high, std::size_t bin_count) {
    std::vector<double> edges;
    if (bin_count < 2) return edges;
    // numpy.linspace(low, high, bin_count + 1): start + i * (delta / div).
    const double step = (high - low) / static_cast<double>(bin_count);
    for (std::size_t i = 1; i < bin_count; ++i) edges.push_back(static_cast<double>(i) * step + low);
    return edges;
}

std::vector<double> bin_counts(std::span<const double> sorted_values, std::span<const double> interior_edges) {
    std::vector<double> counts(interior_edges.size() + 1, 0.0);
    std::size_t previous = 0;
    for (std::size_t e = 0; e < interior_edges.size(); ++e) {
        const std::size_t position = static_cast<std::size_t>(
            std::lower_bound(sorted_values.begin(), sorted_values.end(), interior_edges[e]) - sorted_values.begin());
        counts[e] = static_cast<double>(position - std::min(previous, position));
        previous = std::max(previous, position);
    }
    counts.back() = static_cast<double>(sorted_values.size() - previous);
    return counts;
}

DistanceResult psi(std::span<const double> reference_counts, std::span<const double> current_counts, double epsilon) {
    if (std::string problem = check_counts("psi", reference_counts, current_counts); !problem.empty()) {
        return failure(std::move(problem));
    }
    if (!(epsilon > 0.0 && epsilon < 1.0)) return failure("psi: epsilon must lie in (0, 1)");
    const std::vector<double> r = proportions_with_floor(reference_counts, epsilon);
    const std::vector<double> c = proportions_with_floor(current_counts, epsilon);
    double sum = 0.0;
    for (std::size_t i = 0; i < r.size(); ++i) sum += (r[i] - c[i]) * std::log(r[i] / c[i]);
    DistanceResult result;
    result.value = sum;
    return result;
}

DistanceResult psi_numeric(std::span<const double> reference, std::span<const double> current, std::size_t bin_count,
                           double epsilon) {
    if (std::string problem = check_samples("psi", reference, current); !problem.empty()) {
        return failure(std::move(problem));
    }
    if (bin_count < 1) return failure("psi: bin_count must be at least 1");
    const std::vector<double> sorted_reference = sorted_copy(reference);
    const std::vector<double> sorted_current = sorted_copy(current);
    const std::vector<double> edges = quantile_bin_edges(sorted_reference, bin_count);
    return psi(bin_counts(sorted_reference, edges), bin_counts(sorted_current, edges), epsilon);
}

DistanceResult kl_divergence(std::span<const double> reference_counts, std::span<const double> current_counts,
                             double epsilon) {
    if (std::string problem = check_counts("kl_divergence", reference_counts, current_counts); !problem.empty()) {
        return failure(std::move(problem));
    }
    if (!(epsilon > 0.0 && epsilon < 1.0)) return failure("kl_divergence: epsilon must lie in (0, 1)");
    // scipy.stats.entropy renormalises its inputs.
    const std::vector<double> r = proportions(proportions_with_floor(reference_counts, epsilon));
    const std::vector<double> c = proportions(proportions_with_floor(current_counts, epsilon));
    double sum = 0.0;
    for (std::size_t i = 0; i < r.size(); ++i) sum += relative_entropy(r[i], c[i]);
    DistanceResult result;
    result.value = sum;
    return result;
}

DistanceResult jensen_shannon_distance(std::span<const double> reference_counts, std::span<const double> current_counts,
                                       double log_base) {
    if (std::string problem = check_counts("jensen_shannon_distance", reference_counts, current_counts);
        !problem.empty()) {
        return failure(std::move(problem));
    }
    if (!(log_base > 0.0) || log_base == 1.0) return failure("jensen_shannon_distance: log_base must be > 0 and != 1");
    const std::vector<double> p = proportions(reference_counts);
    const std::vector<double> q = proportions(current_counts);
    double left = 0.0;
    double right = 0.0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const double m = (p[i] + q[i]) / 2.0;
        left += relative_entropy(p[i], m);
        right += relative_entropy(q[i], m);
    }
    double js = left + right;
    js /= std::log(log_base);
    DistanceResult result;
    // Rounding can leave a tiny negative for identical inputs; scipy would
    // return NaN from its sqrt there, the true value is 0.
    result.value = std::sqrt(std::max(js / 2.0, 0.0));
    return result;
}

DistanceResult hellinger_distance(std::span<const double> reference_counts, std::span<const double> current_counts) {
    if (std::string problem = check_counts("hellinger_distance", reference_counts, current_counts); !problem.empty()) {
        return failure(std::move(problem));
    }
    const std::vector<double> r = proportions(reference_counts);
    const std::vector<double> c = proportions(current_counts);
    double sum = 0.0;
    for (std::size_t i = 0; i < r.size(); ++i) {
        const double d = std::sqrt(r[i]) - std::sqrt(c[i]);
        sum += d * d;
    }
    DistanceResult result;
    result.value = std::sqrt(sum) / std::sqrt(2.0);
    return result;
}

DistanceResult total_variation_distance(std::span<const double> reference_counts,
                                        std::span<const double> current_counts) {
    if (std::string problem = check_counts("total_variation_distance", reference_counts, current_counts);
        !problem.empty()) {
        return failure(std::move(problem));
    }
    const std::vector<double> r = proportions(reference_counts);
    const std::vector<double> c = proportions(current_counts);
    double sum = 0.0;
    for (std::size_t i = 0; i < r.size(); ++i) sum += std::fabs(r[i] - c[i]);
    DistanceResult result;
    result.value = sum / 2.0;
    return result;
}

DistanceResult wasserstein_distance_sorted(std::span<const double> u_sorted, std::span<const double> v_sorted) {
    if (std::string problem = check_samples("wasserstein_distance", u_sorted, v_sorted); !problem.empty()) {
        return failure(std::move(problem));
    }
    DistanceResult result;
    result.value = cdf_difference_integral(u_sorted, v_sorted, 1);
    return result;
}

DistanceResult wasserstein_distance(std::span<const double> u, std::span<const double> v) {
    if (std::string problem = check_samples("wasserstein_distance", u, v); !problem.empty()) {
        return failure(std::move(problem));
    }
    return wasserstein_distance_sorted(sorted_copy(u), sorted_copy(v));
}

DistanceResult normalized_wasserstein_distance(std::span<const double> reference, std::span<const double> current) {
    DistanceResult result = wasserstein_distance(reference, current);
    if (!result.ok()) return result;
    long double sum = 0.0L;
    for (double x : reference) sum += x;
    const double mean = static_cast<double>(sum / reference.size());
    long double squares = 0.0L;
    for (double x : reference) squares += (static_cast<long double>(x) - mean) * (static_cast<long double>(x) - mean);
    const double sd = std::sqrt(static_cast<double>(squares / reference.size()));
    result.value /= std::max(sd, 0.001);
    return result;
}

DistanceResult energy_distance(std::span<const double> u, std::span<const double> v) {
    if (std::string problem = check_samples("energy_distance", u, v); !problem.empty()) {
        return failure(std::move(problem));
    }
    const std::vector<double> us = sorted_copy(u);
    const std::vector<double> vs = sorted_copy(v);
    DistanceResult result;
    result.value = std::sqrt(2.0) * std::sqrt(cdf_difference_integral(us, vs, 2));
    return result;
}

}  // namespace mw::stats
