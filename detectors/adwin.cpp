#include "detectors/adwin.h"

#include <cmath>
#include <cstdint>

#include "detectors/detector_state.h"

namespace mw::concept_drift {

namespace {

// River's defaults (river.drift.ADWIN; MOA's clock and min window are the same, 32 and 5).
const config::SettingRow adwin_options[] = {
    {.key = "delta", .kind = config::ValueKind::number, .default_text = "0.002", .min_number = 0, .max_number = 1, .min_exclusive = true, .max_exclusive = true, .help = "significance of the test that two sub-windows have the same mean"},
    {.key = "clock", .kind = config::ValueKind::integer, .default_text = "32", .min = 1, .max = 1'000'000'000, .help = "check for a change every this many values"},
    {.key = "max_buckets", .kind = config::ValueKind::integer, .default_text = "5", .min = 1, .max = 1'000'000, .help = "buckets of each size kept before two are merged"},
    {.key = "min_window_length", .kind = config::ValueKind::integer, .default_text = "5", .min = 1, .max = 1'000'000'000, .help = "smallest sub-window a cut may leave on either side"},
    {.key = "grace_period", .kind = config::ValueKind::integer, .default_text = "10", .min = 0, .max = 1'000'000'000'000, .help = "no change is looked for until the window holds more values than this"},
};

// Bucket size of a row: 2^row, the double River's pow(2, row) gives exactly
// (a power of two below 2^64), by a shift instead of pow(): pow was 28 % of
// the instructions of a bench/concept_bench run.
double bucket_size(std::size_t row) { return static_cast<double>(std::uint64_t{1} << row); }

}  // namespace

std::span<const config::SettingRow> adwin_option_table() { return adwin_options; }

void Adwin::BucketRow::push(double total, double variance) {
    totals[count] = total;
    variances[count] = variance;
    ++count;
}

void Adwin::BucketRow::drop_oldest(std::size_t n) {
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

Adwin::Adwin(config::Settings options, AdwinCutLoop cut_loop)
    : options_(std::move(options)),
      cut_loop_(cut_loop),
      delta_(options_.number("delta")),
      clock_(options_.integer("clock")),
      max_buckets_(static_cast<std::size_t>(options_.integer("max_buckets"))),
      min_window_length_(static_cast<double>(options_.integer("min_window_length"))),
      grace_period_(static_cast<double>(options_.integer("grace_period"))) {
    reset();
}

void Adwin::reset() {
    rows_.clear();
    rows_.emplace_back(max_buckets_ + 1);
    total_ = 0.0;
    variance_ = 0.0;
    width_ = 0.0;
    tick_ = 0;
    drift_ = false;
}

DriftState Adwin::update(double x) {
    // river.drift.ADWIN.update: a detector that reported a drift starts over
    // (a whole new AdaptiveWindowing helper) on the next value.
    if (drift_) reset();
    insert(x);
    drift_ = detect_change();
    return drift_ ? DriftState::drift : DriftState::none;
}

// AdaptiveWindowing._insert_element: the running sum of squared deviations is
// updated with Welford's step, written in the same operation order as River
// so that rounding, and therefore every later comparison, is the same.
void Adwin::insert(double value) {
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

// AdaptiveWindowing._compress_buckets: a row holding max_buckets + 1 buckets
// merges its two oldest into one bucket of the next row (Chan, Golub &
// LeVeque's pairwise variance combination), cascading while rows overflow.
void Adwin::compress_buckets() {
    for (std::size_t row = 0; row < rows_.size(); ++row) {
        BucketRow& bucket = rows_[row];
        if (bucket.count != max_buckets_ + 1) break;
        if (row + 1 == rows_.size()) rows_.emplace_back(max_buckets_ + 1);
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
        if (next.count <= max_buckets_) break;
    }
}

// AdaptiveWindowing._delete_element: drops the oldest bucket (the first of
// the last row) and returns its size.
double Adwin::delete_oldest_bucket() {
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

// AdaptiveWindowing._detect_change. Every `clock` values (once the window is
// longer than grace_period) each cut between buckets, oldest first, splits
// the window into W0 (older) and W1 (newer); a significant cut drops the
// oldest bucket and the scan starts again.
//
// every_bucket (MOA, current River): every bucket of every row is added to W0
// and the boundary after it tried, except the boundary after the newest
// bucket of all (W1 would be empty), where the scan ends.
// river_0_21: within a row the newest bucket is never added or tried (River
// 0.21 iterates `range(bucket.current_idx - 1)`), so its "newest bucket" exit
// is never reached.
// Both test the cut with the variance of the whole window, as MOA and River
// do (they compute sub-window variances and then do not use them, so they
// are not computed here). The bound's ln term and the window's variance
// change only when a bucket is dropped, after which the scan restarts, so
// they are computed once per scan, not per candidate cut (identical values).
bool Adwin::detect_change() {
    bool change_detected = false;
    ++tick_;
    if (tick_ % clock_ != 0 || !(width_ > grace_period_)) return false;

    const std::size_t skipped_per_row = cut_loop_ == AdwinCutLoop::river_0_21 ? 1 : 0;
    bool reduce_width = true;
    while (reduce_width) {
        reduce_width = false;
        const double delta_prime = std::log(2.0 * std::log(width_) / delta_);
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
                if (n1 >= min_window_length_ && n0 >= min_window_length_ &&
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

// AdaptiveWindowing._evaluate_cut, the ADWIN2 bound of Bifet & Gavalda (2007,
// section 3) as MOA's blnCutexpression and River write it:
// eps = sqrt(2 / m * var_W * delta') + 2 / (3 m) * delta', delta' = ln(2 ln(n) / delta),
// with 1/m = 1/(n0 - min_len + 1) + 1/(n1 - min_len + 1) and var_W the
// variance of the whole window. The second term alone bounds eps from below
// (the square root is >= 0 and rounding is monotone), so a difference of
// means under it is rejected without the square root: same answers, fewer
// instructions.
bool Adwin::cut_is_significant(double n0, double n1, double delta_mean, double delta_prime,
                               double variance_in_window) const {
    const double m_recip = (1.0 / (n0 - min_window_length_ + 1.0)) + (1.0 / (n1 - min_window_length_ + 1.0));
    const double linear_term = 2.0 / 3.0 * delta_prime * m_recip;
    const double magnitude = std::fabs(delta_mean);
    if (!(magnitude > linear_term)) return false;
    const double epsilon = std::sqrt(2.0 * m_recip * variance_in_window * delta_prime) + linear_term;
    return magnitude > epsilon;
}

}  // namespace mw::concept_drift

namespace mw::concept_drift {

nlohmann::json Adwin::save_state() const {
    auto rows = nlohmann::json::array();
    for (const auto& row : rows_) {
        const std::span<const double> totals(row.totals.data(), row.count);
        const std::span<const double> variances(row.variances.data(), row.count);
        rows.push_back({{"totals", detector_state::from_doubles(totals)},
                        {"variances", detector_state::from_doubles(variances)}});
    }
    return {{"rows", std::move(rows)}, {"total", detector_state::from_double(total_)}, {"variance", detector_state::from_double(variance_)},
            {"width", detector_state::from_double(width_)}, {"tick", tick_}, {"drift", drift_}};
}

void Adwin::restore_state(const nlohmann::json& state) {
    std::deque<BucketRow> rows;
    for (const auto& saved : state.at("rows")) {
        const auto totals = detector_state::to_doubles(saved.at("totals"));
        const auto variances = detector_state::to_doubles(saved.at("variances"));
        // A row holds at most max_buckets + 1 buckets, and only while it is compressed.
        if (totals.size() != variances.size() || totals.size() > max_buckets_)
            throw std::invalid_argument("an ADWIN bucket row of another size than its options allow");
        BucketRow row(max_buckets_ + 1);
        for (std::size_t i = 0; i < totals.size(); ++i) row.push(totals[i], variances[i]);
        rows.push_back(std::move(row));
    }
    if (rows.empty()) throw std::invalid_argument("an ADWIN state without bucket rows");
    rows_ = std::move(rows);
    total_ = detector_state::to_double(state.at("total"));
    variance_ = detector_state::to_double(state.at("variance"));
    width_ = detector_state::to_double(state.at("width"));
    tick_ = state.at("tick").get<std::int64_t>();
    drift_ = state.at("drift").get<bool>();
}

}  // namespace mw::concept_drift
