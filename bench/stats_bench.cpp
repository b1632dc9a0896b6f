// The drift battery of stats/ over 100k reference x 100k current rows x 20
// features: per feature KS (ks_2samp), Cramér-von Mises
// (cramervonmises_2samp), Anderson-Darling (anderson_ksamp of the two
// samples), PSI on 10 reference-quantile bins, Wasserstein-1, Jensen-Shannon
// on 10 equal-width bins and chi-squared on the 2 x 10 table of the PSI bins.
// bench/stats_bench_scipy.py runs the same
// battery with scipy on the same data file; bench/stats_bench.sh runs both.
//
//   stats_bench DATA_FILE RESULTS_FILE [RUNS]
// creates DATA_FILE when it does not exist (deterministic: mt19937_64 seed
// 20261125), times the battery over every feature (best of RUNS runs,
// default 3, file reading excluded), and writes one line per feature with its results so the
// driver can check that both sides agree.
//
// Data file: three little-endian uint64 (reference rows, current rows,
// features), then per feature its reference column and its current column as
// float64.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "stats/anderson_ksamp.h"
#include "stats/chi_squared.h"
#include "stats/cramer_von_mises.h"
#include "stats/distances.h"
#include "stats/ks_test.h"
#include "stats/sorting.h"

namespace {

constexpr std::uint64_t reference_rows = 100000;
constexpr std::uint64_t current_rows = 100000;
constexpr std::uint64_t feature_count = 20;
constexpr std::size_t bin_count = 10;

struct Feature {
    std::vector<double> reference;
    std::vector<double> current;
};

struct BatteryResult {
    double ks_statistic = 0;
    double ks_p_value = 0;
    double cvm_statistic = 0;
    double cvm_p_value = 0;
    double anderson_statistic = 0;
    double anderson_significance = 0;
    double psi = 0;
    double wasserstein = 0;
    double jensen_shannon = 0;
    double chi2_statistic = 0;
    double chi2_p_value = 0;
};

// Features 0-9 do not drift; 10-14 shift by 0.02 per step; 15-19 widen by 5%
// per step; odd features are rounded to 2 decimals so that ties occur.
std::vector<Feature> generate() {
    std::mt19937_64 engine(20261125);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<Feature> features(feature_count);
    for (std::uint64_t f = 0; f < feature_count; ++f) {
        const double shift = f >= 10 && f < 15 ? 0.02 * static_cast<double>(f - 9) : 0.0;
        const double scale = f >= 15 ? 1.0 + 0.05 * static_cast<double>(f - 14) : 1.0;
        auto value = [&](double x) { return f % 2 ? std::round(x * 100.0) / 100.0 : x; };
        features[f].reference.resize(reference_rows);
        features[f].current.resize(current_rows);
        for (double& x : features[f].reference) x = value(normal(engine));
        for (double& x : features[f].current) x = value(normal(engine) * scale + shift);
    }
    return features;
}

bool write_data(const std::string& path, const std::vector<Feature>& features) {
    std::ofstream out(path, std::ios::binary);
    const std::uint64_t header[3] = {reference_rows, current_rows, feature_count};
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    for (const Feature& f : features) {
        out.write(reinterpret_cast<const char*>(f.reference.data()), static_cast<std::streamsize>(f.reference.size() * sizeof(double)));
        out.write(reinterpret_cast<const char*>(f.current.data()), static_cast<std::streamsize>(f.current.size() * sizeof(double)));
    }
    return static_cast<bool>(out);
}

bool read_data(const std::string& path, std::vector<Feature>& features) {
    std::ifstream in(path, std::ios::binary);
    std::uint64_t header[3] = {0, 0, 0};
    if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return false;
    features.assign(header[2], Feature{});
    for (Feature& f : features) {
        f.reference.resize(header[0]);
        f.current.resize(header[1]);
        in.read(reinterpret_cast<char*>(f.reference.data()), static_cast<std::streamsize>(header[0] * sizeof(double)));
        in.read(reinterpret_cast<char*>(f.current.data()), static_cast<std::streamsize>(header[1] * sizeof(double)));
    }
    return static_cast<bool>(in);
}

// The sorted copies and the sort's scratch, reused from feature to feature
// (as a detector evaluating feature after feature can): after the first
// feature no run allocates them again.
struct SortBuffers {
    std::vector<double> reference;
    std::vector<double> current;
    std::vector<std::uint64_t> scratch;
};

// One feature through the battery, given its reference already sorted: the
// current column is sorted once and every method works on the two sorted
// columns (the *_sorted entry points), so no test sorts a copy of its own.
BatteryResult run_battery_sorted_reference(const std::vector<double>& reference,
                                           const std::vector<double>& unsorted_current, SortBuffers& buffers) {
    using namespace mw::stats;
    std::vector<double>& current = buffers.current;
    current.assign(unsorted_current.begin(), unsorted_current.end());
    sort_ascending(current, buffers.scratch);

    BatteryResult r;
    const KsResult ks = ks_2samp_sorted(reference, current);
    r.ks_statistic = ks.statistic;
    r.ks_p_value = ks.p_value;

    const TestResult cvm = cramervonmises_2samp_sorted(reference, current);
    r.cvm_statistic = cvm.statistic;
    r.cvm_p_value = cvm.p_value;

    const std::array<std::span<const double>, 2> samples{reference, current};
    const AndersonKsampResult anderson = anderson_ksamp_sorted(samples);
    r.anderson_statistic = anderson.statistic;
    r.anderson_significance = anderson.significance_level;

    const std::vector<double> quantile_edges = quantile_bin_edges(reference, bin_count);
    const std::vector<double> reference_counts = bin_counts(reference, quantile_edges);
    const std::vector<double> current_counts = bin_counts(current, quantile_edges);
    r.psi = psi(reference_counts, current_counts).value;

    r.wasserstein = wasserstein_distance_sorted(reference, current).value;

    const double low = std::min(reference.front(), current.front());
    const double high = std::max(reference.back(), current.back());
    const std::vector<double> width_edges = equal_width_bin_edges(low, high, bin_count);
    r.jensen_shannon = jensen_shannon_distance(bin_counts(reference, width_edges), bin_counts(current, width_edges)).value;

    std::vector<double> table(reference_counts);
    table.insert(table.end(), current_counts.begin(), current_counts.end());
    const ContingencyResult chi2 = chi2_contingency(table, 2, reference_counts.size());
    r.chi2_statistic = chi2.statistic;
    r.chi2_p_value = chi2.p_value;
    return r;
}

// The whole battery from raw columns, the same work scipy does.
BatteryResult run_battery(const Feature& feature, SortBuffers& buffers) {
    std::vector<double>& reference = buffers.reference;
    reference.assign(feature.reference.begin(), feature.reference.end());
    mw::stats::sort_ascending(reference, buffers.scratch);
    return run_battery_sorted_reference(reference, feature.current, buffers);
}

struct Timing {
    double cpu_seconds = 1e300;
    double wall_seconds = 1e300;
};

// Best of `runs` runs, in CPU time of this process (user + sys: the machine
// is shared, so CPU time is steadier than wall time) and in wall time.
template <typename Battery>
Timing time_best_of(int runs, std::vector<BatteryResult>& results, Battery battery) {
    Timing best;
    for (int run = 0; run < runs; ++run) {
        const auto wall_start = std::chrono::steady_clock::now();
        const std::clock_t cpu_start = std::clock();
        for (std::size_t f = 0; f < results.size(); ++f) results[f] = battery(f);
        const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
        const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - wall_start;
        best.cpu_seconds = std::min(best.cpu_seconds, cpu);
        best.wall_seconds = std::min(best.wall_seconds, wall.count());
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc == 4 ? std::atoi(argv[3]) : 3;
    if ((argc != 3 && argc != 4) || runs < 1) {
        std::fprintf(stderr, "usage: stats_bench DATA_FILE RESULTS_FILE [RUNS]\n");
        return 2;
    }
    const std::string data_path = argv[1];
    std::vector<Feature> features;
    if (!read_data(data_path, features)) {
        features = generate();
        if (!write_data(data_path, features)) {
            std::fprintf(stderr, "stats_bench: cannot write %s\n", data_path.c_str());
            return 1;
        }
    }

    SortBuffers buffers;
    std::vector<BatteryResult> results(features.size());
    const Timing full = time_best_of(runs, results, [&](std::size_t f) { return run_battery(features[f], buffers); });
    // A detector keeps its reference profile sorted, so in the daemon only the
    // current window is sorted per run: time that path too.
    std::vector<std::vector<double>> sorted_references(features.size());
    for (std::size_t f = 0; f < features.size(); ++f) {
        sorted_references[f] = features[f].reference;
        mw::stats::sort_ascending(sorted_references[f]);
    }
    std::vector<BatteryResult> results_sorted_reference(features.size());
    const Timing reference_sorted = time_best_of(runs, results_sorted_reference, [&](std::size_t f) {
        return run_battery_sorted_reference(sorted_references[f], features[f].current, buffers);
    });

    for (std::size_t f = 0; f < features.size(); ++f) {
        const BatteryResult& a = results[f];
        const BatteryResult& b = results_sorted_reference[f];
        if (a.ks_statistic != b.ks_statistic || a.ks_p_value != b.ks_p_value || a.cvm_statistic != b.cvm_statistic ||
            a.cvm_p_value != b.cvm_p_value || a.anderson_statistic != b.anderson_statistic ||
            a.anderson_significance != b.anderson_significance || a.psi != b.psi ||
            a.wasserstein != b.wasserstein || a.jensen_shannon != b.jensen_shannon ||
            a.chi2_statistic != b.chi2_statistic || a.chi2_p_value != b.chi2_p_value) {
            std::fprintf(stderr, "stats_bench: feature %zu differs between the two paths\n", f);
            return 1;
        }
    }

    std::FILE* out = std::fopen(argv[2], "w");
    if (out == nullptr) {
        std::fprintf(stderr, "stats_bench: cannot write %s\n", argv[2]);
        return 1;
    }
    for (std::size_t f = 0; f < results.size(); ++f) {
        const BatteryResult& r = results[f];
        std::fprintf(out, "%zu %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", f,
                     r.ks_statistic, r.ks_p_value, r.cvm_statistic, r.cvm_p_value, r.anderson_statistic,
                     r.anderson_significance, r.psi, r.wasserstein, r.jensen_shannon, r.chi2_statistic,
                     r.chi2_p_value);
    }
    std::fclose(out);
    std::printf("modelwatch_cpu_seconds %.6f wall_seconds %.6f features=%zu reference_rows=%zu current_rows=%zu\n",
                full.cpu_seconds, full.wall_seconds, features.size(),
                features.empty() ? 0 : features[0].reference.size(), features.empty() ? 0 : features[0].current.size());
    std::printf("modelwatch_reference_presorted_cpu_seconds %.6f wall_seconds %.6f\n", reference_sorted.cpu_seconds,
                reference_sorted.wall_seconds);
    return 0;
}
