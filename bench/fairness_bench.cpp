// Fairness audit over N synthetic joined records (default 10M) with two
// sensitive attributes and their intersection: CPU time (user + sys of this
// process, CLOCK_PROCESS_CPUTIME_ID), wall time and peak memory of
// modelwatch's group metrics (compute_groupings_metrics, which run_audit
// calls for the daemon's scheduled audits and `modelwatch audit`) and of the
// full audit (disparities plus 1000 bootstrap replicates), on data written
// to DIR so that
// bench/fairness_bench_numpy.py computes the same group metrics on the same
// rows. Run both with bench/fairness_bench.sh.
//   fairness_bench DIR [ROWS]
// Prints one summary line, and DIR/modelwatch_counts.txt (per group of the
// intersection: label tp fp tn fn calibration_error) for the comparison.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include <fmt/format.h>

#include "fairness/audit.h"
#include "fairness/group_metrics.h"

using namespace mw::fairness;

namespace {

double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

template <typename T>
void write_raw(const std::string& path, const std::vector<T>& values) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
}

// The codes as 32-bit integers, as the numpy side has always read them,
// converted a block at a time so the conversion adds nothing to the peak.
void write_codes_u32(const std::string& path, const std::vector<AttributeCode>& codes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::vector<std::uint32_t> block;
    for (std::size_t start = 0; start < codes.size(); start += 65536) {
        const std::size_t end = std::min(codes.size(), start + 65536);
        block.assign(codes.begin() + static_cast<std::ptrdiff_t>(start), codes.begin() + static_cast<std::ptrdiff_t>(end));
        out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(block.size() * 4));
    }
}

// Rows with a built-in disparity: the selection and error rates depend on the group.
AuditData synthesize(std::size_t rows) {
    AuditData data;
    data.attributes.push_back(AttributeColumn{"sex", {"female", "male"}, {}});
    data.attributes.push_back(
        AttributeColumn{"region", {"north", "south", "east", "west", "centre", "islands", "abroad", "unknown"}, {}});
    data.attributes[0].codes.resize(rows);
    data.attributes[1].codes.resize(rows);
    data.y_true.resize(rows);
    data.y_pred.resize(rows);
    data.score.resize(rows);
    std::mt19937_64 rng(2024);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const double region_share[] = {0.3, 0.2, 0.15, 0.12, 0.1, 0.07, 0.05, 0.01};
    for (std::size_t r = 0; r < rows; ++r) {
        const AttributeCode sex = u(rng) < 0.45 ? 0 : 1;
        double x = u(rng);
        AttributeCode region = 0;
        while (region < 7 && x >= region_share[region]) x -= region_share[region++];
        const double base = 0.25 + 0.05 * sex + 0.02 * region;
        const bool truth = u(rng) < base;
        const double score = std::clamp((truth ? 0.62 : 0.35) + 0.04 * sex - 0.01 * region + 0.18 * (u(rng) - 0.5) * 2, 0.0, 1.0);
        data.attributes[0].codes[r] = sex;
        data.attributes[1].codes[r] = region;
        data.y_true[r] = truth ? 1 : 0;
        data.y_pred[r] = score >= 0.5 ? 1 : 0;
        data.score[r] = score;
    }
    return data;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: fairness_bench DIR [ROWS]\n");
        return 2;
    }
    const std::string dir = argv[1];
    const std::size_t rows = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10'000'000;
    const AuditData data = synthesize(rows);
    write_codes_u32(dir + "/sex.u32", data.attributes[0].codes);
    write_codes_u32(dir + "/region.u32", data.attributes[1].codes);
    write_raw(dir + "/y_true.u8", data.y_true);
    write_raw(dir + "/y_pred.u8", data.y_pred);
    write_raw(dir + "/score.f64", data.score);
    const double rss_data = peak_rss_mib();

    using clock = std::chrono::steady_clock;
    // Group metrics alone: the same work as the numpy side, done by the
    // function run_audit calls.
    const auto t0 = clock::now();
    const double c0 = cpu_seconds();
    GroupMetricsOptions metrics;
    GroupingsMetrics groupings = compute_groupings_metrics(data, {{0}, {1}, {0, 1}}, metrics);
    const double metrics_cpu = cpu_seconds() - c0;
    const double metrics_seconds = std::chrono::duration<double>(clock::now() - t0).count();
    const std::vector<GroupMetrics> intersection = std::move(groupings.groupings[2]);

    // The full audit: groupings, metrics, disparities, 1000 bootstrap replicates, verdicts.
    const auto t1 = clock::now();
    const double c1 = cpu_seconds();
    AuditOptions options;
    options.sensitive_attributes = {"sex", "region"};
    const AuditRun run = run_audit(data, options);
    const double audit_cpu = cpu_seconds() - c1;
    const double audit_seconds = std::chrono::duration<double>(clock::now() - t1).count();
    if (!run.ok()) {
        std::fprintf(stderr, "audit failed: %s\n", run.error.c_str());
        return 1;
    }

    std::ofstream counts(dir + "/modelwatch_counts.txt");
    for (const auto& g : intersection)
        counts << fmt::format("{}|{} {} {} {} {} {:.17g}\n", g.values[0], g.values[1], g.counts.tp, g.counts.fp,
                              g.counts.tn, g.counts.fn, g.calibration_error);
    std::printf("modelwatch: rows=%zu groupings=3 group_metrics_cpu_s=%.3f (wall %.3f) full_audit_cpu_s=%.3f "
                "(wall %.3f) peak_rss_mib=%.0f (data alone %.0f)\n",
                rows, metrics_cpu, metrics_seconds, audit_cpu, audit_seconds, peak_rss_mib(), rss_data);
    return 0;
}
