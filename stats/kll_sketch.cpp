#include "stats/kll_sketch.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace mw::stats {
namespace {

constexpr std::string_view kll_magic = "MWKL";
constexpr std::uint8_t kll_version = 1;
constexpr std::size_t min_level_width = 8;  // DataSketches' m (kll_constants::DEFAULT_M)
// Beyond 60 levels the weights 2^h would overflow n; DataSketches stops at the same depth.
constexpr std::size_t max_levels = 61;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// round(k * (2/3)^depth) in exact integer arithmetic, as DataSketches'
// kll_helper::int_cap_aux_aux: (2k * 2^depth / 3^depth + 1) / 2, valid for depth <= 30.
std::uint64_t capacity_at_depth_small(std::uint64_t k, std::size_t depth) {
    std::uint64_t power_of_three = 1;
    for (std::size_t i = 0; i < depth; ++i) power_of_three *= 3;
    const std::uint64_t scaled = ((2 * k) << depth) / power_of_three;
    return (scaled + 1) >> 1;
}

// kll_helper::int_cap_aux: deeper levels are computed in two halves so that
// 3^depth fits in 64 bits.
std::uint64_t capacity_at_depth(std::uint64_t k, std::size_t depth) {
    if (depth <= 30) return capacity_at_depth_small(k, depth);
    const std::size_t half = depth / 2;
    return capacity_at_depth_small(capacity_at_depth_small(k, half), depth - half);
}

}  // namespace

KllSketch::KllSketch(std::uint16_t k, std::uint64_t seed) : k_(k), levels_(1), random_{seed} {
    if (k < min_k) throw std::invalid_argument("KllSketch: k must be at least 8, got " + std::to_string(k));
    recompute_capacities();
}

void KllSketch::recompute_capacities() {
    const std::size_t level_count = levels_.size();
    level_capacities_.resize(level_count);
    capacity_ = 0;
    for (std::size_t h = 0; h < level_count; ++h) {
        const std::uint64_t width = capacity_at_depth(k_, level_count - 1 - h);
        level_capacities_[h] = std::max<std::size_t>(min_level_width, static_cast<std::size_t>(width));
        capacity_ += level_capacities_[h];
    }
}

double KllSketch::min() const { return n_ == 0 ? nan : min_; }
double KllSketch::max() const { return n_ == 0 ? nan : max_; }

void KllSketch::update(double value) {
    if (std::isnan(value)) return;
    if (n_ == 0) {
        min_ = value;
        max_ = value;
    } else {
        min_ = std::min(min_, value);
        max_ = std::max(max_, value);
    }
    ++n_;
    levels_[0].push_back(value);
    ++retained_;
    if (retained_ > capacity_) compact_one_level();
}

void KllSketch::update_many(std::span<const double> values) {
    for (double value : values) update(value);
}

void KllSketch::compact_one_level() {
    // Some level is at or over its capacity whenever the total is over the
    // sum of capacities; the lowest such level is compacted (DataSketches'
    // kll_sketch::find_level_to_compact).
    std::size_t h = 0;
    while (h < levels_.size() && levels_[h].size() < level_capacities_[h]) ++h;
    if (h == levels_.size()) return;
    if (h + 1 == levels_.size()) {
        levels_.emplace_back();
        recompute_capacities();
    }
    std::vector<double>& level = levels_[h];
    if (h == 0) std::sort(level.begin(), level.end());
    // An odd item stays behind so that an even number is halved.
    const std::size_t kept = level.size() % 2;
    const std::size_t offset = random_.next() >> 63;
    std::vector<double> promoted;
    promoted.reserve((level.size() - kept) / 2);
    for (std::size_t i = kept + offset; i < level.size(); i += 2) promoted.push_back(level[i]);
    std::vector<double>& above = levels_[h + 1];
    std::vector<double> merged(above.size() + promoted.size());
    std::merge(above.begin(), above.end(), promoted.begin(), promoted.end(), merged.begin());
    above.swap(merged);
    level.resize(kept);
    retained_ -= promoted.size();
}

void KllSketch::merge(const KllSketch& other) {
    if (other.n_ == 0) return;
    if (other.k_ < k_) {
        // Down to the smaller k: its capacities are smaller, so the loop at
        // the end compacts until the result fits them.
        k_ = other.k_;
        recompute_capacities();
    }
    if (n_ == 0) {
        min_ = other.min_;
        max_ = other.max_;
    } else {
        min_ = std::min(min_, other.min_);
        max_ = std::max(max_, other.max_);
    }
    n_ += other.n_;
    if (levels_.size() < other.levels_.size()) {
        levels_.resize(other.levels_.size());
        recompute_capacities();
    }
    levels_[0].insert(levels_[0].end(), other.levels_[0].begin(), other.levels_[0].end());
    for (std::size_t h = 1; h < other.levels_.size(); ++h) {
        const std::vector<double>& theirs = other.levels_[h];
        if (theirs.empty()) continue;
        std::vector<double> merged(levels_[h].size() + theirs.size());
        std::merge(levels_[h].begin(), levels_[h].end(), theirs.begin(), theirs.end(), merged.begin());
        levels_[h].swap(merged);
    }
    retained_ += other.retained_;
    while (retained_ > capacity_) compact_one_level();
}

std::vector<KllSketch::WeightedItem> KllSketch::sorted_view() const {
    std::vector<WeightedItem> view;
    view.reserve(retained_);
    for (std::size_t h = 0; h < levels_.size(); ++h) {
        for (double value : levels_[h]) view.push_back({value, std::uint64_t{1} << h});
    }
    std::sort(view.begin(), view.end(),
              [](const WeightedItem& a, const WeightedItem& b) { return a.value < b.value; });
    std::uint64_t total = 0;
    for (WeightedItem& item : view) {
        total += item.cumulative_weight;
        item.cumulative_weight = total;
    }
    return view;
}

double KllSketch::rank_in(const std::vector<WeightedItem>& view, std::uint64_t n, double value) {
    const auto after = std::upper_bound(view.begin(), view.end(), value,
                                        [](double v, const WeightedItem& item) { return v < item.value; });
    if (after == view.begin()) return 0.0;
    return static_cast<double>(std::prev(after)->cumulative_weight) / static_cast<double>(n);
}

double KllSketch::rank(double value) const {
    if (n_ == 0 || std::isnan(value)) return nan;
    if (value < min_) return 0.0;
    if (value >= max_) return 1.0;
    return rank_in(sorted_view(), n_, value);
}

double KllSketch::quantile_in(const std::vector<WeightedItem>& view, double q) const {
    if (n_ == 0 || !(q >= 0.0 && q <= 1.0)) return nan;
    if (q == 0.0) return min_;
    if (q == 1.0) return max_;
    // DataSketches' quantiles_sorted_view::get_quantile, inclusive search:
    // the first item whose cumulative weight reaches ceil(q * n). q * n is
    // shrunk by a relative 1e-12 first so that a product which should be an
    // integer but rounded just above it (q = 77 / 150, n = 150) is not pushed
    // to the next item.
    const double scaled = q * static_cast<double>(n_);
    const auto target = static_cast<std::uint64_t>(std::ceil(scaled - scaled * 1e-12));
    const auto found = std::lower_bound(view.begin(), view.end(), target,
                                        [](const WeightedItem& item, std::uint64_t t) { return item.cumulative_weight < t; });
    return found == view.end() ? max_ : found->value;
}

double KllSketch::quantile(double q) const {
    if (n_ == 0 || !(q >= 0.0 && q <= 1.0)) return nan;
    return quantile_in(sorted_view(), q);
}

std::vector<double> KllSketch::quantiles(std::span<const double> qs) const {
    std::vector<double> result;
    result.reserve(qs.size());
    const std::vector<WeightedItem> view = n_ == 0 ? std::vector<WeightedItem>{} : sorted_view();
    for (double q : qs) result.push_back(quantile_in(view, q));
    return result;
}

CdfResult KllSketch::cdf(std::span<const double> split_points) const {
    CdfResult result;
    for (std::size_t i = 0; i < split_points.size(); ++i) {
        if (std::isnan(split_points[i])) {
            result.error = "kll cdf: split point " + std::to_string(i) + " is NaN";
            return result;
        }
        if (i > 0 && !(split_points[i - 1] < split_points[i])) {
            result.error = "kll cdf: split points are not strictly increasing at index " + std::to_string(i);
            return result;
        }
    }
    if (n_ == 0) {
        result.error = "kll cdf: the sketch is empty";
        return result;
    }
    const std::vector<WeightedItem> view = sorted_view();
    result.values.reserve(split_points.size() + 1);
    for (double split : split_points) {
        result.values.push_back(split < min_ ? 0.0 : split >= max_ ? 1.0 : rank_in(view, n_, split));
    }
    result.values.push_back(1.0);
    return result;
}

double KllSketch::normalized_rank_error(std::uint16_t k) {
    // datasketches-java KllSketch.getNormalizedRankError(k, pmf = false).
    return 2.296 / std::pow(static_cast<double>(k), 0.9723);
}

double KllSketch::normalized_pmf_error(std::uint16_t k) {
    // datasketches-java KllSketch.getNormalizedRankError(k, pmf = true).
    return 2.446 / std::pow(static_cast<double>(k), 0.9433);
}

std::vector<KllSketch::WeightedValue> KllSketch::weighted_items() const {
    std::vector<WeightedValue> items;
    items.reserve(retained_);
    for (std::size_t h = 0; h < levels_.size(); ++h) {
        for (double value : levels_[h]) items.push_back({value, std::uint64_t{1} << h});
    }
    std::sort(items.begin(), items.end(),
              [](const WeightedValue& a, const WeightedValue& b) { return a.value < b.value; });
    return items;
}

std::vector<double> KllSketch::bin_counts(std::span<const double> interior_edges) const {
    std::vector<double> counts(interior_edges.size() + 1, 0.0);
    std::size_t bin = 0;
    for (const WeightedValue& item : weighted_items()) {
        // Bin i holds [e_{i-1}, e_i): move past every edge <= the value.
        while (bin < interior_edges.size() && interior_edges[bin] <= item.value) ++bin;
        counts[bin] += static_cast<double>(item.weight);
    }
    return counts;
}

CdfDistances cdf_distances(const KllSketch& a, const KllSketch& b) {
    CdfDistances result;
    if (a.empty() || b.empty()) {
        result.error = a.empty() ? "cdf distances: the first sketch is empty" : "cdf distances: the second sketch is empty";
        return result;
    }
    const auto x = a.weighted_items();
    const auto y = b.weighted_items();
    const double n_a = static_cast<double>(a.n());
    const double n_b = static_cast<double>(b.n());
    std::uint64_t below_a = 0;  // weight of a's items <= the last value walked
    std::uint64_t below_b = 0;
    std::size_t i = 0;
    std::size_t j = 0;
    double previous = std::min(x.front().value, y.front().value);
    while (i < x.size() || j < y.size()) {
        const double value = std::min(i < x.size() ? x[i].value : std::numeric_limits<double>::infinity(),
                                      j < y.size() ? y[j].value : std::numeric_limits<double>::infinity());
        // Both CDFs are constant on [previous, value).
        const double gap_difference = static_cast<double>(below_a) / n_a - static_cast<double>(below_b) / n_b;
        result.integral_absolute += std::abs(gap_difference) * (value - previous);
        result.integral_squared += gap_difference * gap_difference * (value - previous);
        // Right-continuous: every item equal to the value counts at it.
        while (i < x.size() && x[i].value == value) below_a += x[i++].weight;
        while (j < y.size() && y[j].value == value) below_b += y[j++].weight;
        const double difference = static_cast<double>(below_a) / n_a - static_cast<double>(below_b) / n_b;
        result.sup = std::max(result.sup, std::abs(difference));
        previous = value;
    }
    result.span = std::max(a.max(), b.max()) - std::min(a.min(), b.min());
    return result;
}

std::string KllSketch::serialize() const {
    ByteWriter out;
    out.put_header(kll_magic, kll_version);
    out.put_u16(k_);
    out.put_u64(n_);
    out.put_f64(min());
    out.put_f64(max());
    out.put_u64(random_.state);
    out.put_u8(static_cast<std::uint8_t>(levels_.size()));
    for (const std::vector<double>& level : levels_) {
        out.put_u32(static_cast<std::uint32_t>(level.size()));
        for (double value : level) out.put_f64(value);
    }
    return out.take();
}

Decoded<KllSketch> KllSketch::deserialize(std::string_view bytes) {
    constexpr std::string_view what = "kll sketch";
    Decoded<KllSketch> result;
    ByteReader in(bytes);
    if (std::string problem = in.check_header(what, kll_magic, kll_version); !problem.empty()) {
        result.error = std::move(problem);
        return result;
    }
    std::uint16_t k = 0;
    std::uint64_t n = 0;
    double min_value = 0.0;
    double max_value = 0.0;
    std::uint64_t random_state = 0;
    std::uint8_t level_count = 0;
    if (!in.get_u16(k) || !in.get_u64(n) || !in.get_f64(min_value) || !in.get_f64(max_value) ||
        !in.get_u64(random_state) || !in.get_u8(level_count)) {
        result.error = decode_error(what, "truncated fixed fields", in.offset());
        return result;
    }
    if (k < min_k) {
        result.error = decode_error(what, "k = " + std::to_string(k) + " is below 8", 5);
        return result;
    }
    if (level_count == 0 || level_count > max_levels) {
        result.error = decode_error(what, "level count " + std::to_string(level_count) + " outside [1, 61]",
                                    in.offset() - 1);
        return result;
    }
    if (n > 0 && !(min_value <= max_value)) {
        result.error = decode_error(what, "min is not <= max", 15);
        return result;
    }
    KllSketch sketch(k, random_state);
    sketch.levels_.assign(level_count, {});
    __extension__ using Wide = unsigned __int128;
    Wide total_weight = 0;
    for (std::size_t h = 0; h < level_count; ++h) {
        std::uint32_t size = 0;
        if (!in.get_u32(size)) {
            result.error = decode_error(what, "truncated size of level " + std::to_string(h), in.offset());
            return result;
        }
        if (in.remaining() / 8 < size) {
            result.error = decode_error(what, "level " + std::to_string(h) + " claims " + std::to_string(size) +
                                                  " items, more than the blob holds", in.offset());
            return result;
        }
        std::vector<double>& level = sketch.levels_[h];
        level.reserve(size);
        for (std::uint32_t i = 0; i < size; ++i) {
            const std::size_t at = in.offset();
            double value = 0.0;
            in.get_f64(value);
            if (!(value >= min_value && value <= max_value)) {
                result.error = decode_error(what, "item outside [min, max] or NaN in level " + std::to_string(h), at);
                return result;
            }
            if (h > 0 && !level.empty() && value < level.back()) {
                result.error = decode_error(what, "level " + std::to_string(h) + " is not sorted", at);
                return result;
            }
            level.push_back(value);
        }
        total_weight += static_cast<Wide>(size) << h;
        sketch.retained_ += size;
    }
    if (in.remaining() != 0) {
        result.error = decode_error(what, "trailing bytes", in.offset());
        return result;
    }
    if (total_weight != n) {
        result.error = decode_error(what, "the items' total weight does not equal n = " + std::to_string(n), 7);
        return result;
    }
    sketch.recompute_capacities();
    if (sketch.retained_ > sketch.capacity_) {
        result.error = decode_error(what, "more items retained than the levels can hold", in.offset());
        return result;
    }
    sketch.n_ = n;
    sketch.min_ = n == 0 ? 0.0 : min_value;
    sketch.max_ = n == 0 ? 0.0 : max_value;
    result.value = std::move(sketch);
    return result;
}

}  // namespace mw::stats
