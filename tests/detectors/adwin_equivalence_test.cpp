// detectors/adwin.cpp (rows as slices with a start index, powers of two as
// multiplications, the values between two looks at the window inserted
// together, the candidate cuts' running sums kept for the rows that did not
// change and an exact division-free filter before River's test) against the
// implementation it replaced, kept here verbatim but for the class around it
// (LegacyAdwin, main at f267395: River's arrays shifted and zero-filled on
// every merge, four divisions per candidate cut). On many seeded streams,
// both cut loops and a spread of options, every update's verdict and the
// saved state (JSON text, so every bit of every double; taken between two
// looks too, with values waiting to be inserted) must be the same; a state
// the old code saved must restore and continue identically.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/adwin.h"
#include "detectors/detector_state.h"

namespace {

namespace cd = mw::concept_drift;

struct LegacyAdwinOptions {
    double delta = 0.002;
    std::int64_t clock = 32;
    std::size_t max_buckets = 5;
    double min_window_length = 5;
    double grace_period = 10;
    bool river_0_21 = false;
};

class LegacyAdwin {
public:
    explicit LegacyAdwin(LegacyAdwinOptions options) : o_(options) { reset(); }

    void reset() {
        rows_.clear();
        rows_.emplace_back(o_.max_buckets + 1);
        total_ = 0.0;
        variance_ = 0.0;
        width_ = 0.0;
        tick_ = 0;
        drift_ = false;
    }

    bool update(double x) {
        if (drift_) reset();
        insert(x);
        drift_ = detect_change();
        return drift_;
    }

    nlohmann::json save_state() const {
        namespace ds = mw::detector_state;
        auto rows = nlohmann::json::array();
        for (const auto& row : rows_) {
            const std::span<const double> totals(row.totals.data(), row.count);
            const std::span<const double> variances(row.variances.data(), row.count);
            rows.push_back({{"totals", ds::from_doubles(totals)}, {"variances", ds::from_doubles(variances)}});
        }
        return {{"rows", std::move(rows)}, {"total", ds::from_double(total_)}, {"variance", ds::from_double(variance_)},
                {"width", ds::from_double(width_)}, {"tick", tick_}, {"drift", drift_}};
    }

private:
    struct BucketRow {
        std::vector<double> totals;
        std::vector<double> variances;
        std::size_t count = 0;

        explicit BucketRow(std::size_t capacity) : totals(capacity, 0.0), variances(capacity, 0.0) {}
        void push(double total, double variance) {
            totals[count] = total;
            variances[count] = variance;
            ++count;
        }
        void drop_oldest(std::size_t n) {
            for (std::size_t i = n; i < totals.size(); ++i) {
                totals[i - n] = totals[i];
                variances[i - n] = variances[i];
            }
            for (std::size_t i = totals.size() - n; i < totals.size(); ++i) {
                totals[i] = 0.0;
                variances[i] = 0.0;
            }
            count -= n;
        }
    };

    static double bucket_size(std::size_t row) { return static_cast<double>(std::uint64_t{1} << row); }

    void insert(double value) {
        rows_.front().push(value, 0.0);
        width_ += 1.0;
        double incremental_variance = 0.0;
        if (width_ > 1.0) {
            const double deviation = value - total_ / (width_ - 1.0);
            incremental_variance = (width_ - 1.0) * deviation * deviation / width_;
        }
        variance_ += incremental_variance;
        total_ += value;
        compress_buckets();
    }

    void compress_buckets() {
        for (std::size_t row = 0; row < rows_.size(); ++row) {
            BucketRow& bucket = rows_[row];
            if (bucket.count != o_.max_buckets + 1) break;
            if (row + 1 == rows_.size()) rows_.emplace_back(o_.max_buckets + 1);
            BucketRow& next = rows_[row + 1];
            const double n1 = bucket_size(row);
            const double n2 = bucket_size(row);
            const double mu1 = bucket.totals[0] / n1;
            const double mu2 = bucket.totals[1] / n2;
            const double total12 = bucket.totals[0] + bucket.totals[1];
            const double temp = n1 * n2 * (mu1 - mu2) * (mu1 - mu2) / (n1 + n2);
            const double v12 = bucket.variances[0] + bucket.variances[1] + temp;
            next.push(total12, v12);
            bucket.drop_oldest(2);
            if (next.count <= o_.max_buckets) break;
        }
    }

    double delete_oldest_bucket() {
        BucketRow& bucket = rows_.back();
        const double n = bucket_size(rows_.size() - 1);
        const double u = bucket.totals[0];
        const double mu = u / n;
        const double v = bucket.variances[0];
        width_ -= n;
        total_ -= u;
        const double mu_window = total_ / width_;
        const double incremental_variance = v + n * width_ * (mu - mu_window) * (mu - mu_window) / (n + width_);
        variance_ -= incremental_variance;
        bucket.drop_oldest(1);
        if (bucket.count == 0) rows_.pop_back();
        return n;
    }

    bool detect_change() {
        bool change_detected = false;
        ++tick_;
        if (tick_ % o_.clock != 0 || !(width_ > o_.grace_period)) return false;

        const std::size_t skipped_per_row = o_.river_0_21 ? 1 : 0;
        bool reduce_width = true;
        while (reduce_width) {
            reduce_width = false;
            const double delta_prime = std::log(2.0 * std::log(width_) / o_.delta);
            const double variance_in_window = variance_ / width_;
            bool exit_flag = false;
            double n0 = 0.0;
            double n1 = width_;
            double u0 = 0.0;
            double u1 = total_;
            for (std::size_t idx = rows_.size(); idx-- > 0 && !exit_flag;) {
                const BucketRow& bucket = rows_[idx];
                const double size = bucket_size(idx);
                for (std::size_t k = 0; k + skipped_per_row < bucket.count; ++k) {
                    n0 += size;
                    n1 -= size;
                    u0 += bucket.totals[k];
                    u1 -= bucket.totals[k];
                    if (idx == 0 && k + 1 == bucket.count) {
                        exit_flag = true;
                        break;
                    }
                    const double delta_mean = (u0 / n0) - (u1 / n1);
                    if (n1 >= o_.min_window_length && n0 >= o_.min_window_length &&
                        cut_is_significant(n0, n1, delta_mean, delta_prime, variance_in_window)) {
                        reduce_width = true;
                        change_detected = true;
                        if (width_ > 0) {
                            n0 -= delete_oldest_bucket();
                            exit_flag = true;
                            break;
                        }
                    }
                }
            }
        }
        return change_detected;
    }

    bool cut_is_significant(double n0, double n1, double delta_mean, double delta_prime,
                            double variance_in_window) const {
        const double m_recip =
            (1.0 / (n0 - o_.min_window_length + 1.0)) + (1.0 / (n1 - o_.min_window_length + 1.0));
        const double linear_term = 2.0 / 3.0 * delta_prime * m_recip;
        const double magnitude = std::fabs(delta_mean);
        if (!(magnitude > linear_term)) return false;
        const double epsilon = std::sqrt(2.0 * m_recip * variance_in_window * delta_prime) + linear_term;
        return magnitude > epsilon;
    }

    LegacyAdwinOptions o_;
    std::deque<BucketRow> rows_;
    double total_ = 0.0;
    double variance_ = 0.0;
    double width_ = 0.0;
    std::int64_t tick_ = 0;
    bool drift_ = false;
};

cd::Adwin make_new_adwin(const LegacyAdwinOptions& o) {
    const std::vector<std::string> assignments = {
        "delta=" + nlohmann::json(o.delta).dump(), "clock=" + std::to_string(o.clock),
        "max_buckets=" + std::to_string(o.max_buckets),
        "min_window_length=" + std::to_string(static_cast<std::int64_t>(o.min_window_length)),
        "grace_period=" + std::to_string(static_cast<std::int64_t>(o.grace_period))};
    auto parsed = mw::config::parse_settings(cd::adwin_option_table(), assignments);
    REQUIRE(parsed.ok());
    REQUIRE(parsed.settings.number("delta") == o.delta);
    return cd::Adwin(parsed.settings, o.river_0_21 ? cd::AdwinCutLoop::river_0_21 : cd::AdwinCutLoop::every_bucket);
}

enum class EquivalenceStream {
    normal_shifts,
    bernoulli_shifts,
    variance_changes,
    constant_then_step,
    huge_magnitudes,    // the window's variance overflows: the filter stands aside
    large_magnitudes,   // within the filter's range
    small_magnitudes,
    tiny_magnitudes,    // subnormal values: the variance underflows to 0
    offset_small_noise,
    heavy_tails,
    with_non_finite,
    slow_ramps,         // means that move a little per value: cuts become significant one look at a time
    count
};

// Segments of random length, each with its own level, spread or rate.
std::vector<double> equivalence_stream(EquivalenceStream kind, std::size_t n, std::mt19937_64& rng) {
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::cauchy_distribution<double> cauchy(0.0, 1.0);
    std::vector<double> values;
    values.reserve(n);
    double level = 0.0;
    double spread = 1.0;
    double rate = 0.2;
    double slope = 0.0;
    std::size_t segment_start = 0;
    std::size_t next_change = 0;
    while (values.size() < n) {
        if (values.size() == next_change) {
            next_change += 50 + static_cast<std::size_t>(uniform(rng) * 3000.0);
            level = std::floor(uniform(rng) * 5.0) * 0.5;
            spread = std::exp2(std::floor(uniform(rng) * 6.0) - 3.0);
            rate = 0.05 + 0.5 * uniform(rng);
            if (kind == EquivalenceStream::slow_ramps) slope = (uniform(rng) - 0.5) * 2e-3;  // the other kinds' draws unchanged
            segment_start = values.size();
        }
        const double z = normal(rng);
        switch (kind) {
            case EquivalenceStream::normal_shifts: values.push_back(level + z); break;
            case EquivalenceStream::bernoulli_shifts: values.push_back(uniform(rng) < rate ? 1.0 : 0.0); break;
            case EquivalenceStream::variance_changes: values.push_back(spread * z); break;
            case EquivalenceStream::constant_then_step: values.push_back(level); break;
            case EquivalenceStream::huge_magnitudes: values.push_back(1e300 * (level + z)); break;
            case EquivalenceStream::large_magnitudes: values.push_back(1e80 * (level + z)); break;
            case EquivalenceStream::small_magnitudes: values.push_back(1e-80 * (level + z)); break;
            case EquivalenceStream::tiny_magnitudes: values.push_back(1e-310 * (level + z)); break;
            case EquivalenceStream::offset_small_noise: values.push_back(1e6 + level * 1e-3 + 1e-3 * z); break;
            case EquivalenceStream::heavy_tails: values.push_back(level + cauchy(rng)); break;
            case EquivalenceStream::with_non_finite: {
                const double u = uniform(rng);
                values.push_back(u < 0.0005 ? std::numeric_limits<double>::infinity()
                                 : u < 0.001 ? std::numeric_limits<double>::quiet_NaN()
                                             : level + z);
                break;
            }
            case EquivalenceStream::slow_ramps:
                values.push_back(level + slope * static_cast<double>(values.size() - segment_start) + 0.3 * z);
                break;
            case EquivalenceStream::count: break;
        }
    }
    return values;
}

// Runs both on `values`, comparing every verdict and, every `state_every`
// values and at the end, the saved states. Returns the drifts seen.
std::size_t expect_same_run(LegacyAdwin& legacy, cd::Adwin& fresh, const std::vector<double>& values,
                            std::size_t state_every) {
    std::size_t drifts = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const bool legacy_drift = legacy.update(values[i]);
        const bool drift = fresh.update(values[i]) == cd::DriftState::drift;
        if (legacy_drift != drift) {
            FAIL_CHECK("verdicts differ at index " << i);
            return drifts;
        }
        drifts += drift ? 1 : 0;
        if (i % state_every == 0 || i + 1 == values.size() || drift) {
            const auto legacy_state = legacy.save_state().dump();
            const auto state = fresh.save_state().dump();
            if (legacy_state != state) {
                FAIL_CHECK("states differ after index " << i << "\nlegacy: " << legacy_state << "\nnew:    " << state);
                return drifts;
            }
        }
    }
    return drifts;
}

}  // namespace

TEST_CASE("adwin gives the verdicts and states of the implementation it replaced on random streams", "[concept][adwin]") {
    std::mt19937_64 rng(20261207);
    std::uniform_int_distribution<int> pick(0, 1 << 20);
    const double deltas[] = {0.002, 0.05, 0.3, 1e-6};
    const std::int64_t clocks[] = {1, 2, 7, 32, 100};
    const std::size_t max_buckets[] = {2, 3, 5, 9, 40};
    const double min_lengths[] = {1, 2, 5, 30};
    const double graces[] = {0, 10, 100};
    std::size_t drifts = 0;
    std::size_t runs = 0;
    for (int kind = 0; kind < static_cast<int>(EquivalenceStream::count); ++kind) {
        for (int repeat = 0; repeat < 16; ++repeat) {
            LegacyAdwinOptions o;
            if (repeat > 0) {  // the defaults first
                o.delta = deltas[pick(rng) % 4];
                o.clock = clocks[pick(rng) % 5];
                o.max_buckets = max_buckets[pick(rng) % 5];
                o.min_window_length = min_lengths[pick(rng) % 4];
                o.grace_period = graces[pick(rng) % 3];
            }
            o.river_0_21 = repeat % 2 == 1;
            const auto values = equivalence_stream(static_cast<EquivalenceStream>(kind), 12'000, rng);
            INFO("stream kind " << kind << " repeat " << repeat << ": delta=" << o.delta << " clock=" << o.clock
                                << " max_buckets=" << o.max_buckets << " min_window_length=" << o.min_window_length
                                << " grace_period=" << o.grace_period << " river_0_21=" << o.river_0_21);
            LegacyAdwin legacy(o);
            auto fresh = make_new_adwin(o);
            drifts += expect_same_run(legacy, fresh, values, 997);
            ++runs;
        }
    }
    CHECK(runs == 12 * 16);
    // The streams change often enough that both sides of the filter are exercised.
    CHECK(drifts > 500);
}

TEST_CASE("adwin agrees with the implementation it replaced on a long stationary window and its drift", "[concept][adwin]") {
    // 300k values with no change then a shift: 16 rows of buckets, the
    // bench's shape, where nearly every candidate is settled by the filter.
    for (const bool river_0_21 : {false, true}) {
        std::mt19937_64 rng(7 + (river_0_21 ? 1 : 0));
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        std::vector<double> values(400'000);
        for (std::size_t i = 0; i < values.size(); ++i) values[i] = uniform(rng) + (i >= 300'000 ? 0.05 : 0.0);
        LegacyAdwinOptions o;
        o.river_0_21 = river_0_21;
        LegacyAdwin legacy(o);
        auto fresh = make_new_adwin(o);
        INFO("river_0_21=" << river_0_21);
        CHECK(expect_same_run(legacy, fresh, values, 49'999) >= 1);
    }
}

TEST_CASE("adwin restores a state saved by the implementation it replaced and continues identically", "[concept][adwin]") {
    std::mt19937_64 rng(99);
    for (const std::size_t buckets : {std::size_t{2}, std::size_t{5}, std::size_t{17}}) {
        LegacyAdwinOptions o;
        o.max_buckets = buckets;
        o.clock = 3;
        const auto values = equivalence_stream(EquivalenceStream::normal_shifts, 20'000, rng);
        LegacyAdwin legacy(o);
        auto fresh = make_new_adwin(o);
        const std::vector<double> first(values.begin(), values.begin() + 8'123);
        const std::vector<double> rest(values.begin() + 8'123, values.end());
        expect_same_run(legacy, fresh, first, 1'000);
        // A new detector, given the old code's state through text as a successor daemon would.
        auto successor = make_new_adwin(o);
        successor.restore_state(nlohmann::json::parse(legacy.save_state().dump()));
        CHECK(successor.save_state().dump() == legacy.save_state().dump());
        INFO("max_buckets=" << buckets);
        CHECK(expect_same_run(legacy, successor, rest, 500) > 0);
    }
}

// With max_buckets = 1 a merge empties its row, and the old code (like
// River) could then take an empty row on top for the oldest bucket and
// count its row -1 (out of bounds here), so it is not run. The window must
// stay the sum of its buckets.
TEST_CASE("adwin with one bucket per row keeps its width equal to its buckets through drifts", "[concept][adwin]") {
    std::mt19937_64 rng(4242);
    std::size_t drifts = 0;
    for (const std::int64_t clock : {1, 32}) {
        for (const double min_length : {1.0, 5.0}) {
            LegacyAdwinOptions o;
            o.max_buckets = 1;
            o.clock = clock;
            o.min_window_length = min_length;
            auto adwin = make_new_adwin(o);
            const auto values = equivalence_stream(EquivalenceStream::normal_shifts, 30'000, rng);
            for (std::size_t i = 0; i < values.size(); ++i) {
                drifts += adwin.update(values[i]) == cd::DriftState::drift ? 1 : 0;
                if (i % 101 != 0) continue;
                const auto state = adwin.save_state();
                double size = 1.0;
                double buckets = 0.0;
                for (const auto& row : state.at("rows")) {
                    buckets += size * static_cast<double>(row.at("totals").size());
                    size *= 2.0;
                }
                INFO("clock=" << clock << " min_window_length=" << min_length << " index " << i);
                REQUIRE(adwin.width() == buckets);
            }
        }
    }
    CHECK(drifts > 10);
}

TEST_CASE("adwin refuses a state with more rows than bucket sizes can have", "[concept][adwin]") {
    auto adwin = make_new_adwin(LegacyAdwinOptions{});
    auto state = adwin.save_state();
    auto rows = nlohmann::json::array();
    for (std::size_t i = 0; i < cd::Adwin::max_rows; ++i) rows.push_back({{"totals", {1.0}}, {"variances", {0.0}}});
    state["rows"] = rows;
    CHECK_THROWS_WITH(adwin.restore_state(state), Catch::Contains("more than 63 bucket rows"));
    rows.erase(rows.size() - 1);
    state["rows"] = rows;
    CHECK_NOTHROW(adwin.restore_state(state));
}
