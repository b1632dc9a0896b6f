#include "detectors/adwin.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "detectors/detector_state.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Powers of two per row. A row's bucket size is 2^row, the double River's
// pow(2, row) gives exactly. River divides by bucket sizes (and by the sum of
// two equal ones); x / 2^k and x * 2^-k are the correctly rounded values of
// the same real number (2^-k, k <= 64, is a normal double), so multiplying by
// the exact reciprocal gives River's bits, subnormal results, infinities and
// NaNs included, without a division.
struct AdwinRowPowers {
    double size[Adwin::max_rows];
    double inverse_size[Adwin::max_rows];
    double size_squared[Adwin::max_rows];          // n1 * n2 of two merged buckets: 2^(2 row), exact
    double inverse_merged_size[Adwin::max_rows];   // 1 / (n1 + n2) = 2^-(row + 1)
};

constexpr AdwinRowPowers make_adwin_row_powers() {
    AdwinRowPowers powers{};
    for (std::size_t row = 0; row < Adwin::max_rows; ++row) {
        const double size = static_cast<double>(std::uint64_t{1} << row);
        powers.size[row] = size;
        powers.inverse_size[row] = 1.0 / size;
        powers.size_squared[row] = size * size;
        powers.inverse_merged_size[row] = 1.0 / (size + size);
    }
    return powers;
}

constexpr AdwinRowPowers adwin_row_powers = make_adwin_row_powers();

// What a scan for a cut needs besides the candidates, computed once per scan
// (the width changes only when a bucket is dropped, after which the scan
// starts again): River's expressions for its test, and the filter's terms.
struct AdwinScan {
    double min_window_length;
    double delta_prime;          // ln(2 ln(n) / delta)
    double variance_in_window;   // variance / width
    double linear_factor;        // 2 / 3 * delta_prime, as River groups 2 / 3 * delta_prime * m_recip
    // The filter (adwin_cut_may_be_significant), usable when filter_usable.
    double width;                // W, a whole number <= 2^52
    double total;                // T, the window's running total
    double bound_width;          // 2 var_W delta' (1 - 2^-40) W
    double slack;                // G W (K + 64) 2^-50
    bool filter_usable;
};

// AdaptiveWindowing._detect_change's test of one cut, W0 = n0 values with
// total u0 (older), W1 = n1 values with total u1 (newer), and _evaluate_cut:
// the ADWIN2 bound of Bifet & Gavalda (2007, section 3) as MOA's
// blnCutexpression and River write it:
// eps = sqrt(2 / m * var_W * delta') + 2 / (3 m) * delta', delta' = ln(2 ln(n) / delta),
// with 1/m = 1/(n0 - min_len + 1) + 1/(n1 - min_len + 1) and var_W the
// variance of the whole window. The second term alone bounds eps from below
// (the square root is >= 0 and rounding is monotone), so a difference of
// means under it is rejected without the square root: same answers, fewer
// instructions.
bool adwin_cut_is_significant(const AdwinScan& scan, double n0, double n1, double u0, double u1) {
    const double delta_mean = (u0 / n0) - (u1 / n1);
    if (!(n1 >= scan.min_window_length && n0 >= scan.min_window_length)) return false;
    const double m_recip =
        (1.0 / (n0 - scan.min_window_length + 1.0)) + (1.0 / (n1 - scan.min_window_length + 1.0));
    const double linear_term = scan.linear_factor * m_recip;
    const double magnitude = std::fabs(delta_mean);
    if (!(magnitude > linear_term)) return false;
    const double epsilon = std::sqrt(2.0 * m_recip * scan.variance_in_window * scan.delta_prime) + linear_term;
    return magnitude > epsilon;
}

// An exact filter: false only when the cut cannot be significant, from W0's
// running sums alone (u1 and n1 are not needed, so a scan can reuse the sums
// of rows that did not change) and without River's four divisions and
// square root.
//
// Why it never rejects a significant cut. Let e = 2^-53; u0, u1, n0, n1 are
// River's running values as real numbers, W the width, T the window's total,
// A = sum of |total| over the window's buckets, G = |T| + 2 A, K the number
// of candidates (the longest chain of running sums). In the scans that use
// the filter W is a whole number <= 2^52 and every n0 is a whole number
// <= 2^52, so n0 and n1 = W - n0 are exact (River's n1 -= size too), and
// 1 <= a = n0 - min_len + 1 <= n0, 1 <= b <= n1 for a cut River tests.
// 1. River's cut is significant only if |dm| > eps, and
//      |dm| = |fl(fl(u0 / n0) - fl(u1 / n1))| <= (|u0/n0 - u1/n1| + e (|u0|/n0 + |u1|/n1)) (1 + e),
//      eps >= fl(sqrt(fl(fl(2 m_recip var_W) delta'))) >= sqrt(2 var_W delta' (1/n0 + 1/n1)) (1 - e)^3
//    (the linear term is >= 0; m_recip >= (1/a + 1/b)(1 - e)^2 >= (1/n0 + 1/n1)(1 - e)^2). Times n0 n1:
//      (|Q| + e S)^2 (1 + e)^2 > 2 var_W delta' W n0 n1 (1 - e)^6,  Q = u0 n1 - u1 n0, S = |u0| n1 + |u1| n0.
// 2. u0 is a sum from 0 and u1 a difference from T over the same buckets, so
//    with P their exact sum, |u0 - P| <= K e' A and |u1 - (T - P)| <= K e' (|T| + A)
//    (e' = e / (1 - K e)); u1 = T - u0 + d with |d| <= K e' G, and
//    Q = u0 W - T n0 - d n0, S <= (|u0| + |u1|) W <= G W (1 + K e'). So
//      |Q| + e S <= |u0 W - T n0| + G W (K e' + 2 e).
// 3. The computed cross = fl(fl(u0 W) - fl(T n0)) is within 2.01 e G W of
//    u0 W - T n0, so |Q| + e S <= |cross| + G W (2 K + 8) e, and the slack
//    G W (K + 64) 2^-50 = 8 (K + 64) e G W covers that with room for its own
//    rounding. With x = fl(|cross| + slack), lhs = fl(x^2) and
//    rhs = fl(fl(bound_factor W) fl(n0 n1)), bound_factor carrying 1 - 2^-40,
//    a significant cut gives lhs >= (|Q| + e S)^2 (1 - e)^3
//    > 2 var_W delta' W n0 n1 (1 - e)^9 / (1 + e)^2 > rhs, since 2^-40 is far
//    above the 16 e the roundings add up to. So lhs < rhs means the cut is
//    not significant.
// Ranges: the scan uses the filter only when var_W > 0, delta' > 0,
// bound_factor is in [2^-600, 2^600] and G <= 2^1000 (so River's sums stay
// finite), so rhs is a normal number in [2^-600, 2^756] for n0, n1 >= 1. A
// significant cut has |dm| > eps >= 2^-326 and x > 2^-301, where the
// absolute error of subnormal intermediate results (2^-1074 each) is
// negligible against the margin. An overflow or a NaN on the left (an
// infinite or NaN total makes G so) makes lhs < rhs false: the cut is then
// tested exactly. For n0 or n1 under 1 rhs is <= 0 and the filter cannot
// reject; such cuts are never significant in River either.
inline bool adwin_cut_may_be_significant(const AdwinScan& scan, double n0, double u0) {
    const double cross = u0 * scan.width - scan.total * n0;
    const double x = std::fabs(cross) + scan.slack;
    return !(x * x < scan.bound_width * (n0 * (scan.width - n0)));
}

// The filter over cuts [first, end), two at a time with SSE2 (x86-64's
// baseline; GCC 12 does not vectorise the scalar loop): the same IEEE
// operations in the same order on each lane, so the same answers.
bool adwin_some_cut_may_be_significant(const AdwinScan& scan, const double* u0s, const double* n0s, std::size_t first,
                                       std::size_t end) {
    std::size_t i = first;
#if defined(__SSE2__)
    const __m128d width = _mm_set1_pd(scan.width);
    const __m128d total = _mm_set1_pd(scan.total);
    const __m128d slack = _mm_set1_pd(scan.slack);
    const __m128d bound_width = _mm_set1_pd(scan.bound_width);
    const __m128d magnitude_bits = _mm_castsi128_pd(_mm_set1_epi64x(0x7fff'ffff'ffff'ffff));
    __m128d may_cut = _mm_setzero_pd();
    for (; i + 2 <= end; i += 2) {
        const __m128d u0 = _mm_loadu_pd(u0s + i);
        const __m128d n0 = _mm_loadu_pd(n0s + i);
        const __m128d cross = _mm_sub_pd(_mm_mul_pd(u0, width), _mm_mul_pd(total, n0));
        const __m128d x = _mm_add_pd(_mm_and_pd(cross, magnitude_bits), slack);
        const __m128d rhs = _mm_mul_pd(bound_width, _mm_mul_pd(n0, _mm_sub_pd(width, n0)));
        may_cut = _mm_or_pd(may_cut, _mm_cmpnlt_pd(_mm_mul_pd(x, x), rhs));
    }
    if (_mm_movemask_pd(may_cut) != 0) return true;
#endif
    for (; i < end; ++i)
        if (adwin_cut_may_be_significant(scan, n0s[i], u0s[i])) return true;
    return false;
}

// AdaptiveWindowing._insert_element's running width, total and sum of
// squared deviations for `count` values in order, Welford's step written in
// River's operation order so that rounding, and therefore every later
// comparison, is the same:
//   width += 1; if width > 1: deviation = value - total / (width - 1),
//   variance += (width - 1) * deviation * deviation / width; total += value.
// In three passes, so that the two divisions per value are off the chains of
// running sums (one loop kept the total waiting for the divisions, about 40
// cycles per value): the widths and totals (sequential), the increments
// (independent of each other: two at a time with SSE2, the same IEEE
// operations on each lane, an increment where width <= 1 or is NaN masked to
// River's 0.0), and the variance (sequential).
void adwin_insert_values(const double* values, std::size_t count, double& width, double& total, double& variance) {
    double widths[Adwin::max_pending];
    double totals_before[Adwin::max_pending];
    double increments[Adwin::max_pending];
    double running_width = width;
    double running_total = total;
    for (std::size_t i = 0; i < count; ++i) {
        running_width += 1.0;
        widths[i] = running_width;
        totals_before[i] = running_total;
        running_total += values[i];
    }
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128d one = _mm_set1_pd(1.0);
    for (; i + 2 <= count; i += 2) {
        const __m128d w = _mm_loadu_pd(widths + i);
        const __m128d w_minus_one = _mm_sub_pd(w, one);
        const __m128d quotient = _mm_div_pd(_mm_loadu_pd(totals_before + i), w_minus_one);
        const __m128d deviation = _mm_sub_pd(_mm_loadu_pd(values + i), quotient);
        const __m128d increment = _mm_div_pd(_mm_mul_pd(_mm_mul_pd(w_minus_one, deviation), deviation), w);
        _mm_storeu_pd(increments + i, _mm_and_pd(_mm_cmpgt_pd(w, one), increment));
    }
#endif
    for (; i < count; ++i) {
        double increment = 0.0;
        if (widths[i] > 1.0) {
            const double deviation = values[i] - totals_before[i] / (widths[i] - 1.0);
            increment = (widths[i] - 1.0) * deviation * deviation / widths[i];
        }
        increments[i] = increment;
    }
    double running_variance = variance;
    for (std::size_t k = 0; k < count; ++k) running_variance += increments[k];
    width = running_width;
    total = running_total;
    variance = running_variance;
}

// AdaptiveWindowing._compress_buckets for `pairs` merges of a row: the pairs
// (totals[2j], totals[2j + 1]) into one bucket of the next row each (Chan,
// Golub & LeVeque's pairwise variance combination), River's
// n1 * n2 * (mu1 - mu2) * (mu1 - mu2) / (n1 + n2) with n1 = n2 = 2^row and its
// divisions by powers of two made multiplications (same bits, see
// AdwinRowPowers). Two merges at a time with SSE2, the same operations in
// the same order on each lane.
void adwin_merge_pairs(std::size_t row, const double* __restrict totals, const double* __restrict variances,
                       std::size_t pairs, double* __restrict merged_totals, double* __restrict merged_variances) {
    const double inverse_size = adwin_row_powers.inverse_size[row];
    const double size_squared = adwin_row_powers.size_squared[row];
    const double inverse_merged_size = adwin_row_powers.inverse_merged_size[row];
    std::size_t j = 0;
#if defined(__SSE2__)
    const __m128d inverse_size2 = _mm_set1_pd(inverse_size);
    const __m128d size_squared2 = _mm_set1_pd(size_squared);
    const __m128d inverse_merged_size2 = _mm_set1_pd(inverse_merged_size);
    for (; j + 2 <= pairs; j += 2) {
        const __m128d totals_a = _mm_loadu_pd(totals + 2 * j);      // the pair j
        const __m128d totals_b = _mm_loadu_pd(totals + 2 * j + 2);  // the pair j + 1
        const __m128d variances_a = _mm_loadu_pd(variances + 2 * j);
        const __m128d variances_b = _mm_loadu_pd(variances + 2 * j + 2);
        const __m128d first_total = _mm_unpacklo_pd(totals_a, totals_b);
        const __m128d second_total = _mm_unpackhi_pd(totals_a, totals_b);
        const __m128d first_variance = _mm_unpacklo_pd(variances_a, variances_b);
        const __m128d second_variance = _mm_unpackhi_pd(variances_a, variances_b);
        const __m128d mu1 = _mm_mul_pd(first_total, inverse_size2);
        const __m128d mu2 = _mm_mul_pd(second_total, inverse_size2);
        const __m128d difference = _mm_sub_pd(mu1, mu2);
        const __m128d temp =
            _mm_mul_pd(_mm_mul_pd(_mm_mul_pd(size_squared2, difference), difference), inverse_merged_size2);
        _mm_storeu_pd(merged_totals + j, _mm_add_pd(first_total, second_total));
        _mm_storeu_pd(merged_variances + j, _mm_add_pd(_mm_add_pd(first_variance, second_variance), temp));
    }
#endif
    for (; j < pairs; ++j) {
        const double mu1 = totals[2 * j] * inverse_size;
        const double mu2 = totals[2 * j + 1] * inverse_size;
        const double temp = size_squared * (mu1 - mu2) * (mu1 - mu2) * inverse_merged_size;
        merged_totals[j] = totals[2 * j] + totals[2 * j + 1];
        merged_variances[j] = variances[2 * j] + variances[2 * j + 1] + temp;
    }
}

}  // namespace

std::span<const config::SettingRow> adwin_option_table() { return adwin_options; }

Adwin::Adwin(config::Settings options, AdwinCutLoop cut_loop)
    : options_(std::move(options)),
      cut_loop_(cut_loop),
      delta_(options_.number("delta")),
      clock_(options_.integer("clock")),
      max_buckets_(static_cast<std::size_t>(options_.integer("max_buckets"))),
      min_window_length_(static_cast<double>(options_.integer("min_window_length"))),
      grace_period_(static_cast<double>(options_.integer("grace_period"))),
      row_capacity_(max_buckets_ + 1 + 2 * max_pending) {
    // A row receives at most max_pending buckets per insertion (the first row
    // the pending values, the next ones at most half of what the row below
    // received) on at most max_buckets live ones: 70 buckets with the
    // defaults, 20 KiB for a window of 2^20 values.
    reset();
}

void Adwin::add_row() {
    // Unreachable from update() (2^63 values); a saved state is refused with
    // more than max_rows - 1 rows.
    if (row_count_ == max_rows) throw std::length_error("an ADWIN window of more than 2^64 values");
    const std::size_t slice = row_count_ * row_capacity_;
    if (totals_.size() < slice + row_capacity_) {
        totals_.resize(slice + row_capacity_);
        variances_.resize(slice + row_capacity_);
    }
    rows_[row_count_] = RowSpan{slice, slice, slice + row_capacity_};
    ++row_count_;
    // A row holds at most max_buckets buckets when the window is scanned.
    const std::size_t cut_capacity = row_count_ * max_buckets_;
    if (cut_u0_.size() < cut_capacity) {
        cut_u0_.resize(cut_capacity);
        cut_n0_.resize(cut_capacity);
    }
    rows_to_rebuild_ = max_rows;  // a new oldest row: every running sum changes
}

void Adwin::push_bucket(std::size_t row, double total, double variance) {
    RowSpan& span = rows_[row];
    if (span.end == span.limit) move_row_to_start(row);
    totals_[span.end] = total;
    variances_[span.end] = variance;
    ++span.end;
}

void Adwin::move_row_to_start(std::size_t row) {
    RowSpan& span = rows_[row];
    const std::size_t slice = span.limit - row_capacity_;
    const auto first = static_cast<std::ptrdiff_t>(span.first);
    const auto end = static_cast<std::ptrdiff_t>(span.end);
    std::copy(totals_.begin() + first, totals_.begin() + end, totals_.begin() + static_cast<std::ptrdiff_t>(slice));
    std::copy(variances_.begin() + first, variances_.begin() + end,
              variances_.begin() + static_cast<std::ptrdiff_t>(slice));
    span.end = slice + span.count();
    span.first = slice;
}

void Adwin::set_ticks_to_check() {
    // The next tick t > tick_ with t % clock_ == 0 (tick_ may be negative in a restored state).
    const std::int64_t phase = ((tick_ % clock_) + clock_) % clock_;
    ticks_to_check_ = clock_ - phase;
}

// Room for max_pending values after the first row's live buckets; the next
// insertion is due at the next look at the window or when that room is full.
void Adwin::make_room_for_pending() {
    RowSpan& first_row = rows_[0];
    if (first_row.limit - first_row.end < max_pending) move_row_to_start(0);
    pending_end_ = first_row.end;
    updates_to_flush_ = std::min<std::int64_t>(ticks_to_check_, static_cast<std::int64_t>(max_pending));
}

void Adwin::reset() {
    row_count_ = 0;
    add_row();
    total_ = 0.0;
    variance_ = 0.0;
    width_ = 0.0;
    tick_ = 0;
    set_ticks_to_check();
    make_room_for_pending();
    drift_ = false;
    cut_count_ = 0;
    rows_to_rebuild_ = max_rows;
}

// AdaptiveWindowing._insert_element for each pending value, in order
// (adwin_insert_values), then _compress_buckets.
//
// The buckets are River's although compressed once for all the pending
// values instead of after each: River merges the two oldest buckets of a row
// whenever it holds max_buckets + 1, so a row takes the buckets pushed into
// it as a queue and merges its consecutive pairs from the front. A row that
// held c <= max_buckets buckets and receives k more has merged
// ceil((c + k - max_buckets) / 2) pairs when it is done (none if
// c + k <= max_buckets), and sends the merged buckets, in order, to the next
// row. A merged bucket depends only on its pair, not on when it is merged,
// and nothing else reads or drops buckets between two looks at the window,
// so the rows after the last pending value are River's, bucket for bucket.
void Adwin::insert_pending() {
    RowSpan& first_row = rows_[0];
    const std::size_t pending = pending_end_ - first_row.end;
    if (pending == 0) return;
    adwin_insert_values(totals_.data() + first_row.end, pending, width_, total_, variance_);
    std::fill(variances_.begin() + static_cast<std::ptrdiff_t>(first_row.end),
              variances_.begin() + static_cast<std::ptrdiff_t>(pending_end_), 0.0);
    first_row.end = pending_end_;
    tick_ += static_cast<std::int64_t>(pending);
    ticks_to_check_ -= static_cast<std::int64_t>(pending);

    std::size_t row = 0;
    for (; rows_[row].count() > max_buckets_; ++row) {
        const std::size_t pairs = (rows_[row].count() - max_buckets_ + 1) / 2;
        if (row + 1 == row_count_) add_row();
        RowSpan& span = rows_[row];
        RowSpan& next = rows_[row + 1];
        if (next.limit - next.end < pairs) move_row_to_start(row + 1);
        adwin_merge_pairs(row, totals_.data() + span.first, variances_.data() + span.first, pairs,
                          totals_.data() + next.end, variances_.data() + next.end);
        span.first += 2 * pairs;
        next.end += pairs;
    }
    rows_to_rebuild_ = std::max(rows_to_rebuild_, row + 1);
}

Adwin Adwin::with_pending_inserted() const {
    Adwin copy(*this);
    copy.insert_pending();
    copy.make_room_for_pending();
    return copy;
}

double Adwin::width() const { return pending_end_ == rows_[0].end ? width_ : with_pending_inserted().width_; }

double Adwin::mean() const {
    if (pending_end_ != rows_[0].end) return with_pending_inserted().mean();
    return width_ > 0 ? total_ / width_ : 0.0;
}

// river.drift.ADWIN.update. A value waits in the first row until the next
// look at the window (every `clock` values), when the waiting values are
// inserted in order and the window scanned, as River would at that value;
// between looks River's verdict is always "no drift".
DriftState Adwin::update(double x) {
    // A detector that reported a drift starts over (a whole new
    // AdaptiveWindowing helper) on the next value.
    if (drift_) [[unlikely]] return restart_with(x);
    totals_[pending_end_] = x;
    ++pending_end_;
    if (--updates_to_flush_ > 0) [[likely]] return DriftState::none;
    return insert_pending_and_look();
}

DriftState Adwin::restart_with(double x) {
    reset();
    return Adwin::update(x);
}

DriftState Adwin::insert_pending_and_look() {
    insert_pending();
    if (ticks_to_check_ > 0) {  // the room was full, no look due yet
        make_room_for_pending();
        return DriftState::none;
    }
    ticks_to_check_ = clock_;
    drift_ = detect_change();
    make_room_for_pending();
    return drift_ ? DriftState::drift : DriftState::none;
}

// AdaptiveWindowing._delete_element: drops the oldest bucket (the first of
// the last row) and returns its size.
//
// One departure from River, where River reads a bucket that does not exist:
// with max_buckets = 1 a merge can empty a row below the last, so dropping
// the last row's only bucket can leave an empty row last. River (and this
// code before) then read that row's zero-filled slot 0 as a bucket of 2^row
// values with total 0 on the next drop, made the width negative and the row's
// count -1 (here: out of bounds). The empty rows on top are skipped instead,
// so the oldest bucket that exists is dropped. With max_buckets >= 2 a merge
// leaves at least one bucket in its row and this never happens.
double Adwin::delete_oldest_bucket() {
    while (row_count_ > 1 && rows_[row_count_ - 1].count() == 0) --row_count_;
    const std::size_t row = row_count_ - 1;
    RowSpan& span = rows_[row];
    const double n = adwin_row_powers.size[row];
    const double u = totals_[span.first];
    const double mu = u * adwin_row_powers.inverse_size[row];
    const double v = variances_[span.first];
    width_ -= n;
    total_ -= u;
    const double mu_window = total_ / width_;
    const double incremental_variance = v + n * width_ * (mu - mu_window) * (mu - mu_window) / (n + width_);
    variance_ -= incremental_variance;
    ++span.first;
    // A cut leaves buckets on its newer side, so the first row never empties here.
    if (span.count() == 0) --row_count_;
    rows_to_rebuild_ = max_rows;  // the oldest bucket is gone: every running sum changes
    return n;
}

// AdaptiveWindowing._detect_change. Every `clock` values (once the window is
// longer than grace_period) each cut between buckets, oldest first, splits
// the window into W0 (older) and W1 (newer); a significant cut drops the
// oldest bucket and the scan starts again. What River does after a
// significant cut does not depend on which cut it was (n0 is discarded with
// the scan), so a scan only has to answer whether any cut is significant.
// River also checks width > 0 before dropping: a cut with n0, n1 >= 1 implies
// it.
bool Adwin::detect_change() {
    if (!(width_ > grace_period_)) return false;
    bool change_detected = false;
    while (some_cut_is_significant()) {
        change_detected = true;
        delete_oldest_bucket();
    }
    return change_detected;
}

// The candidate cuts of a scan with River's running sums of W0 (its total u0
// and length n0), summed again only from the highest row changed since the
// last scan; and each row's sum of |total| for the filter's slack.
// every_bucket (MOA, current River): every bucket of every row is added to W0
// and the boundary after it tried, except the boundary after the newest
// bucket of all (W1 would be empty), where the scan ends.
// river_0_21: within a row the newest bucket is never added or tried (River
// 0.21 iterates `range(bucket.current_idx - 1)`).
// So both try all but the newest bucket of the first row; they differ on the
// other rows.
void Adwin::rebuild_cuts() {
    if (rows_to_rebuild_ == 0) return;
    const std::size_t from = std::min(rows_to_rebuild_, row_count_) - 1;
    std::size_t cut = 0;
    double u0 = 0.0;
    double n0 = 0.0;
    if (from + 1 < row_count_) {
        cut = row_first_cut_[from];
        u0 = u0_before_row_[from];
        n0 = n0_before_row_[from];
    }
    const std::size_t untried_above_first_row = cut_loop_ == AdwinCutLoop::river_0_21 ? 1 : 0;
    const double* const totals = totals_.data();
    for (std::size_t row = from + 1; row-- > 0;) {
        row_first_cut_[row] = cut;
        u0_before_row_[row] = u0;
        n0_before_row_[row] = n0;
        const RowSpan& span = rows_[row];
        const std::size_t count = span.count();
        const std::size_t untried = row == 0 ? 1 : untried_above_first_row;
        const std::size_t tried = count > untried ? count - untried : 0;
        const double size = adwin_row_powers.size[row];
        double magnitude = 0.0;
        for (std::size_t k = 0; k < count; ++k) magnitude += std::fabs(totals[span.first + k]);
        row_magnitude_[row] = magnitude;
        for (std::size_t k = 0; k < tried; ++k) {
            u0 += totals[span.first + k];
            n0 += size;
            cut_u0_[cut] = u0;
            cut_n0_[cut] = n0;
            ++cut;
        }
    }
    cut_count_ = cut;
    rows_to_rebuild_ = 0;
}

// Whether some candidate cut is significant. When the window allows it, the
// filter over the candidates' cached sums settles the scan (the usual case:
// no cut is close); otherwise, or when the filter cannot rule some cut out,
// River's scan: its running sums in its order and its test on each cut (the
// filter skipping those it rules out). Both test the cut with the variance of
// the whole window, as MOA and River do (they compute sub-window variances
// and then do not use them, so they are not computed here).
bool Adwin::some_cut_is_significant() {
    rebuild_cuts();
    AdwinScan scan{};
    scan.min_window_length = min_window_length_;
    scan.delta_prime = std::log(2.0 * std::log(width_) / delta_);
    scan.variance_in_window = variance_ / width_;
    scan.linear_factor = 2.0 / 3.0 * scan.delta_prime;

    double magnitude = 0.0;
    for (std::size_t row = 0; row < row_count_; ++row) magnitude += row_magnitude_[row];
    const double bound_factor = 2.0 * scan.variance_in_window * scan.delta_prime * (1.0 - 0x1p-40);
    const double g = std::fabs(total_) + 2.0 * magnitude;
    const double last_n0 = cut_count_ > 0 ? cut_n0_[cut_count_ - 1] : 0.0;
    scan.filter_usable = scan.delta_prime > 0.0 && scan.variance_in_window > 0.0 && width_ <= 0x1p52 &&
                         width_ == std::floor(width_) && last_n0 <= 0x1p52 && bound_factor >= 0x1p-600 &&
                         bound_factor <= 0x1p600 && g <= 0x1p1000;
    if (scan.filter_usable) {
        scan.width = width_;
        scan.total = total_;
        scan.bound_width = bound_factor * width_;
        scan.slack = g * width_ * (static_cast<double>(cut_count_ + 64) * 0x1p-50);
        // n0 grows and n1 = W - n0 shrinks along the scan, so the cuts that
        // leave both sides min_window_length values are a range.
        std::size_t first = 0;
        while (first < cut_count_ && cut_n0_[first] < min_window_length_) ++first;
        std::size_t end = cut_count_;
        while (end > first && width_ - cut_n0_[end - 1] < min_window_length_) --end;
        if (!adwin_some_cut_may_be_significant(scan, cut_u0_.data(), cut_n0_.data(), first, end)) return false;
    }

    double n0 = 0.0;
    double n1 = width_;
    double u0 = 0.0;
    double u1 = total_;
    const std::size_t untried_above_first_row = cut_loop_ == AdwinCutLoop::river_0_21 ? 1 : 0;
    for (std::size_t row = row_count_; row-- > 0;) {
        const RowSpan& span = rows_[row];
        const std::size_t count = span.count();
        const std::size_t untried = row == 0 ? 1 : untried_above_first_row;
        if (count <= untried) continue;
        const double size = adwin_row_powers.size[row];
        const double* const totals = totals_.data() + span.first;
        for (std::size_t k = 0; k < count - untried; ++k) {
            n0 += size;
            n1 -= size;
            u0 += totals[k];
            u1 -= totals[k];
            if (scan.filter_usable && !adwin_cut_may_be_significant(scan, n0, u0)) continue;
            if (adwin_cut_is_significant(scan, n0, n1, u0, u1)) return true;
        }
    }
    return false;
}

}  // namespace mw::concept_drift

namespace mw::concept_drift {

nlohmann::json Adwin::save_state() const {
    if (pending_end_ != rows_[0].end) return with_pending_inserted().save_state();
    auto rows = nlohmann::json::array();
    for (std::size_t row = 0; row < row_count_; ++row) {
        auto totals = nlohmann::json::array();
        auto variances = nlohmann::json::array();
        for (std::size_t i = rows_[row].first; i < rows_[row].end; ++i) {
            totals.push_back(detector_state::from_double(totals_[i]));
            variances.push_back(detector_state::from_double(variances_[i]));
        }
        rows.push_back({{"totals", std::move(totals)}, {"variances", std::move(variances)}});
    }
    return {{"rows", std::move(rows)}, {"total", detector_state::from_double(total_)}, {"variance", detector_state::from_double(variance_)},
            {"width", detector_state::from_double(width_)}, {"tick", tick_}, {"drift", drift_}};
}

void Adwin::restore_state(const nlohmann::json& state) {
    struct SavedRow {
        std::vector<double> totals;
        std::vector<double> variances;
    };
    std::vector<SavedRow> rows;
    for (const auto& saved : state.at("rows")) {
        auto totals = detector_state::to_doubles(saved.at("totals"));
        auto variances = detector_state::to_doubles(saved.at("variances"));
        // A row holds at most max_buckets + 1 buckets, and only while it is compressed.
        if (totals.size() != variances.size() || totals.size() > max_buckets_)
            throw std::invalid_argument("an ADWIN bucket row of another size than its options allow");
        rows.push_back({std::move(totals), std::move(variances)});
        if (rows.size() > max_rows - 1)
            throw std::invalid_argument("an ADWIN state with more than 63 bucket rows (a window of 2^63 values)");
    }
    if (rows.empty()) throw std::invalid_argument("an ADWIN state without bucket rows");
    const double total = detector_state::to_double(state.at("total"));
    const double variance = detector_state::to_double(state.at("variance"));
    const double width = detector_state::to_double(state.at("width"));
    const auto tick = state.at("tick").get<std::int64_t>();
    const bool drift = state.at("drift").get<bool>();

    row_count_ = 0;
    for (const auto& saved : rows) {
        add_row();
        for (std::size_t i = 0; i < saved.totals.size(); ++i) push_bucket(row_count_ - 1, saved.totals[i], saved.variances[i]);
    }
    total_ = total;
    variance_ = variance;
    width_ = width;
    tick_ = tick;
    set_ticks_to_check();
    make_room_for_pending();
    drift_ = drift;
    rows_to_rebuild_ = max_rows;
}

}  // namespace mw::concept_drift
