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

// Room past a full row (max_buckets + 1) before its live buckets are moved
// back to the start of its slice: with the default 5 buckets, a move of at
// most 5 buckets about every 40 pushes instead of River's shift of the whole
// row on every merge.
constexpr std::size_t adwin_row_slack = 32;

// What a scan for a cut needs besides the candidates; computed once per scan
// (the width changes only when a bucket is dropped, after which the scan
// starts again), with River's expressions.
struct AdwinScan {
    double min_window_length;
    double delta_prime;          // ln(2 ln(n) / delta)
    double variance_in_window;   // variance / width
    double linear_factor;        // 2 / 3 * delta_prime, as River groups 2 / 3 * delta_prime * m_recip
    double bound_factor;         // 2 var_W delta' (1 - 2^-40), for the filter
    bool filter_usable;
};

// Candidate cuts, in scan order, evaluated a chunk at a time: the prefix sums
// are sequential (each is River's running sum, so it must be added in River's
// order); what is done with them is not, and from arrays it vectorises.
constexpr std::size_t adwin_cut_chunk_capacity = 256;

struct AdwinCutChunk {
    double n0[adwin_cut_chunk_capacity];
    double n1[adwin_cut_chunk_capacity];
    double u0[adwin_cut_chunk_capacity];
    double u1[adwin_cut_chunk_capacity];
    std::size_t size = 0;
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

// An exact filter: false only when the cut cannot be significant, with
// River's four divisions and square root replaced by multiplications.
//
// Why it never rejects a significant cut. Let e = 2^-53, a = n0 - min_len + 1
// and b = n1 - min_len + 1 (River's denominators: exact, since n0, n1 <=
// 2^52 are whole or, for a restored width, keep their fraction; 1 <= a <= n0
// and 1 <= b <= n1 once n0, n1 >= min_len >= 1), A = u0 / n0, B = u1 / n1 as
// real numbers. River's cut is significant only if |dm| > eps, with
//   |dm| = |fl(fl(A) - fl(B))| <= (|A - B| + e (|A| + |B|)) (1 + e), and
//   eps >= fl(sqrt(fl(fl(2 m_recip var_W) delta'))) >= sqrt(2 var_W delta' (1/a + 1/b)) (1 - e)^3
//       >= sqrt(2 var_W delta' (n0 + n1) / (n0 n1)) (1 - e)^3
// (var_W > 0 and delta' > 0, so the linear term is >= 0; m_recip is at
// least (1/a + 1/b)(1 - e)^2, and 1/a + 1/b >= 1/n0 + 1/n1). Squaring and
// multiplying by (n0 n1)^2 > 0:
//   (|u0 n1 - u1 n0| + e S)^2 (1 + e)^2 > 2 var_W delta' (n0 + n1) n0 n1 (1 - e)^6,
// S = |u0| n1 + |u1| n0. Below, x = |fl(u0 n1 - u1 n0)| + 2^-48 S_fl covers
// |u0 n1 - u1 n0| + e S within a factor 1 + 4e (the products' and the
// difference's rounding is at most 2.01 e S + e |x|), each side is computed
// with at most five roundings, and bound_factor carries a margin of 2^-40,
// far above the (1 + e)^30 or so that all of these add up to: lhs < rhs
// proves the inequality false, so the cut is not significant. It holds while
// nothing overflows or underflows: an overflow or a NaN on the left makes
// lhs < rhs false (the cut is then checked exactly); the right side stays in
// [2^-599, 2^760] because bound_factor is kept in [2^-600, 2^600] and n0, n1
// are at most 2^52 (the width is); a left side whose x is under 2^-400 is at
// most 2^-798 even with the absolute error of subnormal products, under any
// right side. A cut with n0 or n1 under min_len is never significant, as in
// River.
bool adwin_cut_may_be_significant(double min_len, double bound_factor, double n0, double n1, double u0, double u1) {
    const double cross = u0 * n1 - u1 * n0;
    const double spread = std::fabs(u0) * n1 + std::fabs(u1) * n0;
    const double x = std::fabs(cross) + 0x1p-48 * spread;
    const double lhs = x * x;
    const double rhs = bound_factor * (n0 + n1) * (n0 * n1);
    return n0 >= min_len && n1 >= min_len && !(lhs < rhs);
}

// adwin_cut_may_be_significant two cuts at a time with SSE2 (x86-64's
// baseline; GCC 12 does not vectorise the scalar loop): the same IEEE
// operations in the same order on each lane, so the same answers.
bool adwin_chunk_may_hold_a_cut(const AdwinScan& scan, const AdwinCutChunk& chunk) {
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128d min_len = _mm_set1_pd(scan.min_window_length);
    const __m128d slack = _mm_set1_pd(0x1p-48);
    const __m128d bound_factor = _mm_set1_pd(scan.bound_factor);
    const __m128d magnitude_bits = _mm_castsi128_pd(_mm_set1_epi64x(0x7fff'ffff'ffff'ffff));
    __m128d may_cut = _mm_setzero_pd();
    for (; i + 2 <= chunk.size; i += 2) {
        const __m128d n0 = _mm_loadu_pd(chunk.n0 + i);
        const __m128d n1 = _mm_loadu_pd(chunk.n1 + i);
        const __m128d u0 = _mm_loadu_pd(chunk.u0 + i);
        const __m128d u1 = _mm_loadu_pd(chunk.u1 + i);
        const __m128d cross = _mm_sub_pd(_mm_mul_pd(u0, n1), _mm_mul_pd(u1, n0));
        const __m128d spread = _mm_add_pd(_mm_mul_pd(_mm_and_pd(u0, magnitude_bits), n1),
                                          _mm_mul_pd(_mm_and_pd(u1, magnitude_bits), n0));
        const __m128d x = _mm_add_pd(_mm_and_pd(cross, magnitude_bits), _mm_mul_pd(slack, spread));
        const __m128d lhs = _mm_mul_pd(x, x);
        const __m128d rhs = _mm_mul_pd(_mm_mul_pd(bound_factor, _mm_add_pd(n0, n1)), _mm_mul_pd(n0, n1));
        const __m128d long_enough = _mm_and_pd(_mm_cmpge_pd(n0, min_len), _mm_cmpge_pd(n1, min_len));
        may_cut = _mm_or_pd(may_cut, _mm_and_pd(long_enough, _mm_cmpnlt_pd(lhs, rhs)));
    }
    if (_mm_movemask_pd(may_cut) != 0) return true;
#endif
    for (; i < chunk.size; ++i)
        if (adwin_cut_may_be_significant(scan.min_window_length, scan.bound_factor, chunk.n0[i], chunk.n1[i],
                                         chunk.u0[i], chunk.u1[i]))
            return true;
    return false;
}

bool adwin_chunk_has_a_cut(const AdwinScan& scan, const AdwinCutChunk& chunk) {
    if (scan.filter_usable && !adwin_chunk_may_hold_a_cut(scan, chunk)) return false;
    for (std::size_t i = 0; i < chunk.size; ++i)
        if (adwin_cut_is_significant(scan, chunk.n0[i], chunk.n1[i], chunk.u0[i], chunk.u1[i])) return true;
    return false;
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
      row_capacity_(2 * (max_buckets_ + 1) + adwin_row_slack) {
    reset();
}

void Adwin::add_row() {
    // Unreachable from update() (2^63 values); a saved state is refused with
    // more than max_rows - 1 rows.
    if (row_count_ == max_rows) throw std::length_error("an ADWIN window of more than 2^64 values");
    const std::size_t slice = row_count_ * row_capacity_;
    if (buckets_.size() < slice + row_capacity_) buckets_.resize(slice + row_capacity_);
    rows_[row_count_] = RowSpan{slice, slice, slice + row_capacity_};
    ++row_count_;
}

void Adwin::move_row_to_start(std::size_t row) {
    RowSpan& span = rows_[row];
    const std::size_t slice = span.limit - row_capacity_;
    std::copy(buckets_.begin() + static_cast<std::ptrdiff_t>(span.first),
              buckets_.begin() + static_cast<std::ptrdiff_t>(span.end), buckets_.begin() + static_cast<std::ptrdiff_t>(slice));
    span.end = slice + span.count();
    span.first = slice;
}

void Adwin::set_ticks_to_check() {
    // The next tick t > tick_ with t % clock_ == 0 (tick_ may be negative in a restored state).
    const std::int64_t phase = ((tick_ % clock_) + clock_) % clock_;
    ticks_to_check_ = clock_ - phase;
}

void Adwin::reset() {
    row_count_ = 0;
    add_row();
    total_ = 0.0;
    variance_ = 0.0;
    width_ = 0.0;
    tick_ = 0;
    set_ticks_to_check();
    drift_ = false;
}

// AdaptiveWindowing._compress_buckets: a row holding max_buckets + 1 buckets
// merges its two oldest into one bucket of the next row (Chan, Golub &
// LeVeque's pairwise variance combination), cascading while rows overflow.
// River's n1 * n2 * (mu1 - mu2) * (mu1 - mu2) / (n1 + n2) with n1 = n2 = 2^row,
// its divisions by powers of two made multiplications (same bits, see
// AdwinRowPowers). The first row's merge (every other value) is inlined into
// insert(); the cascade above it is compress_buckets().
inline void Adwin::merge_oldest_pair(std::size_t row) {
    if (row + 1 == row_count_) add_row();
    RowSpan& span = rows_[row];
    const Bucket first = buckets_[span.first];
    const Bucket second = buckets_[span.first + 1];
    span.first += 2;
    const double mu1 = first.total * adwin_row_powers.inverse_size[row];
    const double mu2 = second.total * adwin_row_powers.inverse_size[row];
    const double total12 = first.total + second.total;
    const double temp =
        adwin_row_powers.size_squared[row] * (mu1 - mu2) * (mu1 - mu2) * adwin_row_powers.inverse_merged_size[row];
    const double v12 = first.variance + second.variance + temp;
    push_bucket(row + 1, total12, v12);
}

void Adwin::compress_buckets(std::size_t from_row) {
    const std::size_t full = max_buckets_ + 1;
    for (std::size_t row = from_row; row < row_count_ && rows_[row].count() == full; ++row) merge_oldest_pair(row);
}

// AdaptiveWindowing._insert_element: the running sum of squared deviations is
// updated with Welford's step, written in the same operation order as River
// so that rounding, and therefore every later comparison, is the same.
inline void Adwin::insert(double value) {
    push_bucket(0, value, 0.0);
    width_ += 1.0;
    double incremental_variance = 0.0;
    if (width_ > 1.0) {
        const double deviation = value - total_ / (width_ - 1.0);
        incremental_variance = (width_ - 1.0) * deviation * deviation / width_;
    }
    variance_ += incremental_variance;
    total_ += value;
    if (rows_[0].count() == max_buckets_ + 1) {
        merge_oldest_pair(0);
        if (rows_[1].count() == max_buckets_ + 1) compress_buckets(1);
    }
}

DriftState Adwin::update(double x) {
    // river.drift.ADWIN.update: a detector that reported a drift starts over
    // (a whole new AdaptiveWindowing helper) on the next value.
    if (drift_) reset();
    insert(x);
    drift_ = detect_change();
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
    const double u = buckets_[span.first].total;
    const double mu = u * adwin_row_powers.inverse_size[row];
    const double v = buckets_[span.first].variance;
    width_ -= n;
    total_ -= u;
    const double mu_window = total_ / width_;
    const double incremental_variance = v + n * width_ * (mu - mu_window) * (mu - mu_window) / (n + width_);
    variance_ -= incremental_variance;
    ++span.first;
    // A cut leaves buckets on its newer side, so the first row never empties here.
    if (span.count() == 0) --row_count_;
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
    ++tick_;
    if (--ticks_to_check_ > 0) return false;
    ticks_to_check_ = clock_;
    if (!(width_ > grace_period_)) return false;
    bool change_detected = false;
    while (some_cut_is_significant()) {
        change_detected = true;
        delete_oldest_bucket();
    }
    return change_detected;
}

// The candidate cuts of one scan, in River's order with River's running sums.
// every_bucket (MOA, current River): every bucket of every row is added to W0
// and the boundary after it tried, except the boundary after the newest
// bucket of all (W1 would be empty), where the scan ends.
// river_0_21: within a row the newest bucket is never added or tried (River
// 0.21 iterates `range(bucket.current_idx - 1)`).
// So both try all but the newest bucket of the first row; they differ on the
// other rows. Both test the cut with the variance of the whole window, as
// MOA and River do (they compute sub-window variances and then do not use
// them, so they are not computed here).
bool Adwin::some_cut_is_significant() const {
    AdwinScan scan{};
    scan.min_window_length = min_window_length_;
    scan.delta_prime = std::log(2.0 * std::log(width_) / delta_);
    scan.variance_in_window = variance_ / width_;
    scan.linear_factor = 2.0 / 3.0 * scan.delta_prime;
    scan.bound_factor = 2.0 * scan.variance_in_window * scan.delta_prime * (1.0 - 0x1p-40);
    scan.filter_usable = scan.delta_prime > 0.0 && scan.variance_in_window > 0.0 && width_ <= 0x1p52 &&
                         scan.bound_factor >= 0x1p-600 && scan.bound_factor <= 0x1p600;

    AdwinCutChunk chunk;
    double n0 = 0.0;
    double n1 = width_;
    double u0 = 0.0;
    double u1 = total_;
    // Adds `take` buckets of one row to the running sums, each a candidate.
    const auto append = [&](const Bucket* buckets, std::size_t take, double size) {
        double* chunk_n0 = chunk.n0 + chunk.size;
        double* chunk_n1 = chunk.n1 + chunk.size;
        double* chunk_u0 = chunk.u0 + chunk.size;
        double* chunk_u1 = chunk.u1 + chunk.size;
        for (std::size_t k = 0; k < take; ++k) {
            n0 += size;
            n1 -= size;
            u0 += buckets[k].total;
            u1 -= buckets[k].total;
            chunk_n0[k] = n0;
            chunk_n1[k] = n1;
            chunk_u0[k] = u0;
            chunk_u1[k] = u1;
        }
        chunk.size += take;
    };
    const std::size_t untried_above_first_row = cut_loop_ == AdwinCutLoop::river_0_21 ? 1 : 0;
    for (std::size_t row = row_count_; row-- > 0;) {
        const std::size_t count = rows_[row].end - rows_[row].first;
        const std::size_t untried = row == 0 ? 1 : untried_above_first_row;
        if (count <= untried) continue;
        const double size = adwin_row_powers.size[row];
        const Bucket* buckets = buckets_.data() + rows_[row].first;
        const std::size_t candidates = count - untried;
        if (candidates <= adwin_cut_chunk_capacity - chunk.size) {  // the usual case: the row fits
            append(buckets, candidates, size);
            continue;
        }
        for (std::size_t k = 0; k < candidates;) {
            const std::size_t take = std::min(candidates - k, adwin_cut_chunk_capacity - chunk.size);
            append(buckets + k, take, size);
            k += take;
            if (chunk.size == adwin_cut_chunk_capacity) {
                if (adwin_chunk_has_a_cut(scan, chunk)) return true;
                chunk.size = 0;
            }
        }
    }
    return adwin_chunk_has_a_cut(scan, chunk);
}

}  // namespace mw::concept_drift

namespace mw::concept_drift {

nlohmann::json Adwin::save_state() const {
    auto rows = nlohmann::json::array();
    for (std::size_t row = 0; row < row_count_; ++row) {
        auto totals = nlohmann::json::array();
        auto variances = nlohmann::json::array();
        for (std::size_t i = rows_[row].first; i < rows_[row].end; ++i) {
            totals.push_back(detector_state::from_double(buckets_[i].total));
            variances.push_back(detector_state::from_double(buckets_[i].variance));
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
    drift_ = drift;
}

}  // namespace mw::concept_drift
