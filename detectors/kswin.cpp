#include "detectors/kswin.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>

#include "stats/ks_test.h"
#include "detectors/detector_state.h"

namespace mw::concept_drift {

namespace {

// River's defaults (river.drift.KSWIN, River 0.21), but for the seed: River's
// default is None (a seed from the operating system), which would make two
// runs over the same stream disagree; modelwatch always seeds.
// stat_size stops at 10000 because scipy's method='auto' switches from the
// exact distribution to the asymptotic one above it, and only the exact one
// is implemented here.
const config::SettingRow kswin_options[] = {
    {.key = "alpha", .kind = config::ValueKind::number, .default_text = "0.005", .min_number = 0, .max_number = 1, .help = "p-value at or below which (with D > 0.1) a drift is reported"},
    {.key = "window_size", .kind = config::ValueKind::integer, .default_text = "100", .min = 2, .max = 100'000'000, .help = "values kept in the sliding window"},
    {.key = "stat_size", .kind = config::ValueKind::integer, .default_text = "30", .min = 1, .max = 10'000, .help = "size of the newest sample and of the random sample of older values"},
    {.key = "seed", .kind = config::ValueKind::integer, .default_text = "42", .min = 0, .max = 1'000'000'000'000'000'000, .help = "seed of the random sample (Python's random.Random(seed))"},
};

constexpr std::size_t mt_n = 624;
constexpr std::size_t mt_m = 397;

}  // namespace

std::span<const config::SettingRow> kswin_option_table() { return kswin_options; }

std::string kswin_check_options(const config::Settings& options) {
    const std::int64_t window_size = options.integer("window_size");
    const std::int64_t stat_size = options.integer("stat_size");
    // River samples stat_size indices out of the window_size - stat_size older
    // values without replacement (random.sample raises otherwise).
    if (window_size < 2 * stat_size)
        return fmt::format(
            "window_size must be at least 2 * stat_size (stat_size older values are drawn from the "
            "window_size - stat_size oldest), got window_size={} stat_size={}",
            window_size, stat_size);
    return "";
}

// Modules/_randommodule.c: random_seed() turns a non-negative integer into
// 32-bit words, least significant first, and calls init_by_array (Matsumoto &
// Nishimura's mt19937ar.c).
PythonRandom::PythonRandom(std::uint64_t seed) {
    std::uint32_t key[2] = {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
    const std::size_t key_length = key[1] != 0 ? 2 : 1;

    state_[0] = 19650218u;
    for (std::size_t i = 1; i < mt_n; ++i)
        state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);

    std::size_t i = 1;
    std::size_t j = 0;
    for (std::size_t k = std::max(mt_n, key_length); k > 0; --k) {
        state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1664525u)) + key[j] +
                    static_cast<std::uint32_t>(j);
        ++i;
        ++j;
        if (i >= mt_n) {
            state_[0] = state_[mt_n - 1];
            i = 1;
        }
        if (j >= key_length) j = 0;
    }
    for (std::size_t k = mt_n - 1; k > 0; --k) {
        state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1566083941u)) -
                    static_cast<std::uint32_t>(i);
        ++i;
        if (i >= mt_n) {
            state_[0] = state_[mt_n - 1];
            i = 1;
        }
    }
    state_[0] = 0x80000000u;
    index_ = mt_n;
}

// mt19937ar.c genrand_int32.
std::uint32_t PythonRandom::next_uint32() {
    constexpr std::uint32_t upper_mask = 0x80000000u;
    constexpr std::uint32_t lower_mask = 0x7fffffffu;
    constexpr std::uint32_t matrix_a = 0x9908b0dfu;
    if (index_ >= mt_n) {
        for (std::size_t k = 0; k < mt_n; ++k) {
            const std::uint32_t y = (state_[k] & upper_mask) | (state_[(k + 1) % mt_n] & lower_mask);
            state_[k] = state_[(k + mt_m) % mt_n] ^ (y >> 1) ^ ((y & 1u) != 0 ? matrix_a : 0u);
        }
        index_ = 0;
    }
    std::uint32_t y = state_[index_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

std::uint32_t PythonRandom::getrandbits(int k) { return next_uint32() >> (32 - k); }

std::uint32_t PythonRandom::randbelow(std::uint32_t n) {
    const int k = static_cast<int>(std::bit_width(n));
    std::uint32_t r = getrandbits(k);
    while (r >= n) r = getrandbits(k);
    return r;
}

// Lib/random.py Random.sample: for a small population it draws from a pool
// (partial Fisher-Yates from the end), otherwise it rejects repeats with a
// set; which one depends on the same size rule as CPython's.
std::vector<std::uint32_t> PythonRandom::sample_range(std::uint32_t n, std::uint32_t k) {
    if (k > n) throw std::invalid_argument("PythonRandom::sample_range: sample larger than population");
    std::vector<std::uint32_t> result(k);
    double setsize = 21;
    if (k > 5) setsize += std::pow(4.0, std::ceil(std::log(k * 3.0) / std::log(4.0)));
    if (static_cast<double>(n) <= setsize) {
        std::vector<std::uint32_t> pool(n);
        for (std::uint32_t i = 0; i < n; ++i) pool[i] = i;
        for (std::uint32_t i = 0; i < k; ++i) {
            const std::uint32_t j = randbelow(n - i);
            result[i] = pool[j];
            pool[j] = pool[n - i - 1];
        }
    } else {
        std::unordered_set<std::uint32_t> selected;
        selected.reserve(k);
        for (std::uint32_t i = 0; i < k; ++i) {
            std::uint32_t j = randbelow(n);
            while (selected.count(j) != 0) j = randbelow(n);
            selected.insert(j);
            result[i] = j;
        }
    }
    return result;
}

namespace {

// KSWIN compares two sorted samples of stat_size values each. The test is
// scipy.stats.ks_2samp's exact two-sided one (stats/ks_test.h); since n is
// fixed, its p-value depends only on h = n * D, so the detector tabulates it
// once and each update only counts h. Where the exact sum rounds to slightly
// above 1 (a few h / n <= 0.2), scipy switches to the asymptotic value, within
// 4e-5 of 1 there; the table holds 1, which changes no decision (a drift
// needs p <= alpha and D > 0.1).
std::int64_t ks_count_gap_sorted(std::span<const double> a, std::span<const double> b) {
    // Walk the pooled values in order; once every copy of a value is consumed
    // from both samples, the count difference is the ECDF gap (times n) there.
    const std::size_t n = a.size();
    std::size_t i = 0;
    std::size_t j = 0;
    std::int64_t h = 0;
    while (i < n || j < n) {
        const double value = j >= n || (i < n && a[i] <= b[j]) ? a[i] : b[j];
        while (i < n && a[i] == value) ++i;
        while (j < n && b[j] == value) ++j;
        h = std::max(h, std::abs(static_cast<std::int64_t>(i) - static_cast<std::int64_t>(j)));
    }
    return h;
}

}  // namespace

Kswin::Kswin(config::Settings options)
    : options_(std::move(options)),
      alpha_(options_.number("alpha")),
      window_size_(static_cast<std::size_t>(options_.integer("window_size"))),
      stat_size_(static_cast<std::size_t>(options_.integer("stat_size"))),
      seed_(static_cast<std::uint64_t>(options_.integer("seed"))),
      rng_(seed_) {
    const auto n = static_cast<std::int64_t>(stat_size_);
    for (std::int64_t h = 0; h <= n; ++h)
        p_value_by_gap_.push_back(std::clamp(stats::ks_2samp_exact_sf(n, n, h), 0.0, 1.0));
    reset();
}

// As River's _reset: an empty window and a generator seeded afresh, so every
// restart after a drift draws the same index sequence again.
void Kswin::reset() {
    window_.clear();
    rng_ = PythonRandom(seed_);
    p_value_ = 0.0;
    drift_ = false;
}

DriftState Kswin::update(double x) {
    // River also replaces the window by its newest stat_size values when it
    // reports a drift, but then resets on the next value before using it, so
    // only the reset is done here.
    if (drift_) reset();

    window_.push_back(x);
    if (window_.size() > window_size_) window_.pop_front();
    if (window_.size() < window_size_) {
        drift_ = false;
        return DriftState::none;
    }

    const auto older = static_cast<std::uint32_t>(window_size_ - stat_size_);
    const auto draws = rng_.sample_range(older, static_cast<std::uint32_t>(stat_size_));
    reference_.clear();
    for (const std::uint32_t index : draws) reference_.push_back(window_[index]);
    recent_.assign(window_.begin() + static_cast<std::ptrdiff_t>(older), window_.end());

    // stats::ks_2samp on the two sorted samples, with the p-value looked up by h.
    std::sort(reference_.begin(), reference_.end());
    std::sort(recent_.begin(), recent_.end());
    const std::int64_t h = ks_count_gap_sorted(reference_, recent_);
    const double statistic = static_cast<double>(h) / static_cast<double>(stat_size_);
    p_value_ = p_value_by_gap_[static_cast<std::size_t>(h)];
    drift_ = p_value_ <= alpha_ && statistic > 0.1;
    return drift_ ? DriftState::drift : DriftState::none;
}

}  // namespace mw::concept_drift

namespace mw::concept_drift {

nlohmann::json PythonRandom::save_state() const {
    return {{"state", state_}, {"index", index_}};
}

void PythonRandom::restore_state(const nlohmann::json& state) {
    const auto words = state.at("state").get<std::vector<std::uint32_t>>();
    const auto index = state.at("index").get<std::size_t>();
    if (words.size() != state_.size() || index > state_.size())
        throw std::invalid_argument("a Mersenne Twister state of the wrong size");
    std::copy(words.begin(), words.end(), state_.begin());
    index_ = index;
}

nlohmann::json Kswin::save_state() const {
    const std::vector<double> window(window_.begin(), window_.end());
    return {{"window", detector_state::from_doubles(window)}, {"rng", rng_.save_state()},
            {"p_value", detector_state::from_double(p_value_)}, {"drift", drift_}};
}

void Kswin::restore_state(const nlohmann::json& state) {
    const auto window = detector_state::to_doubles(state.at("window"));
    if (window.size() > window_size_) throw std::invalid_argument("a KSWIN window longer than window_size");
    rng_.restore_state(state.at("rng"));
    window_.assign(window.begin(), window.end());
    p_value_ = detector_state::to_double(state.at("p_value"));
    drift_ = state.at("drift").get<bool>();
}

}  // namespace mw::concept_drift
