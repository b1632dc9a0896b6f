#include "stats/feature_profile.h"

#include <array>
#include <limits>

namespace mw::stats {
namespace {

constexpr std::string_view numeric_magic = "MWNP";
constexpr std::string_view categorical_magic = "MWCP";
constexpr std::string_view set_magic = "MWPS";
// Version 2 added the segments (version 1 blobs read as sets without).
constexpr std::uint8_t set_version = 2;
// A set holds at most this many features of each kind: a hostile blob cannot
// make the decoder loop for long (a model declares far fewer).
constexpr std::uint32_t max_set_features = 100'000;
constexpr std::uint8_t profile_version = 1;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double infinity = std::numeric_limits<double>::infinity();
// update_many() works in blocks this long: small enough to stay in L1, long
// enough for the block's mean and M2 loops to vectorise.
constexpr std::size_t block_length = 256;

// Chan, Golub & LeVeque (1979): the count, mean and M2 of the union of two
// parts from those of the parts.
void combine_moments(std::uint64_t& count, double& mean, double& m2, std::uint64_t other_count, double other_mean,
                     double other_m2) {
    if (other_count == 0) return;
    const std::uint64_t total = count + other_count;
    const double delta = other_mean - mean;
    const double ours = static_cast<double>(count);
    const double theirs = static_cast<double>(other_count);
    mean += delta * theirs / static_cast<double>(total);
    m2 += other_m2 + delta * delta * ours * theirs / static_cast<double>(total);
    count = total;
}

// The numeric and the categorical features of two sets merge alike, map by
// map: why `theirs` does not merge into `ours` ("" when it does), a name
// that `ours_other` (our map of the other kind) holds refused.
template <typename Profiles, typename OtherProfiles>
std::string features_merge_problem(const Profiles& ours, const Profiles& theirs, const OtherProfiles& ours_other,
                                   std::string_view kind, std::string_view other_kind) {
    for (const auto& [name, profile] : theirs) {
        if (ours_other.contains(name))
            return "profile set merge: feature \"" + name + "\" is " + std::string(other_kind) + " on one side and " +
                   std::string(kind) + " on the other";
        if (const auto found = ours.find(name); found != ours.end())
            if (std::string problem = found->second.merge_problem(profile); !problem.empty())
                return "profile set merge, feature \"" + name + "\": " + problem;
    }
    return {};
}

// Merges `theirs` into `ours` (checked by features_merge_problem first): a
// feature only on their side is copied.
template <typename Profiles>
std::string merge_features(Profiles& ours, const Profiles& theirs) {
    for (const auto& [name, profile] : theirs) {
        const auto found = ours.find(name);
        if (found == ours.end())
            ours.emplace(name, profile);
        else if (std::string problem = found->second.merge(profile); !problem.empty())
            return "profile set merge, feature \"" + name + "\": " + problem;
    }
    return {};
}

// Whether `count` finite values in [min, max] can have this mean and M2
// (sum of squared deviations): min and max are finite (update() counts only
// finite values), the mean lies in [min, max], and the population variance
// M2 / count is at most (max - mean) * (mean - min) (Bhatia & Davis, "A
// Better Bound on the Variance", American Mathematical Monthly 107(4),
// 2000; it holds for any distribution on [min, max], so the merge of two
// possible profiles, a mixture of two such distributions, is possible too).
// The slack (a millionth, relative) covers rounding, which grows with the
// count: a block's mean of equal values may differ from the value in its
// last bits (update_many sums before dividing), giving such a profile a
// tiny M2 with max == min; a lie it lets through is at most that small.
bool moments_possible(std::uint64_t count, double min, double max, double mean, double m2) {
    if (!std::isfinite(min) || !std::isfinite(max)) return false;
    constexpr double relative_slack = 1e-6;
    const double scale = std::max({std::abs(min), std::abs(max), max - min});
    const double slack = relative_slack * scale;
    if (!(mean >= min - slack && mean <= max + slack)) return false;
    const double inside = std::clamp(mean, min, max);
    const double n = static_cast<double>(count);
    return m2 <= n * ((max - inside) * (inside - min) * (1 + relative_slack) + slack * slack);
}

}  // namespace

NumericProfile::NumericProfile(const NumericProfileOptions& options)
    : min_(infinity),
      max_(-infinity),
      quantiles_(options.kll_k, options.seed),
      // A different stream for the reservoir than for the KLL compactions.
      sample_(options.reservoir_capacity, mix64(options.seed ^ 0x5265736572766f69ULL)),
      distinct_(options.hll_precision) {}

void NumericProfile::add_block(std::span<const double> finite_values) {
    if (finite_values.empty()) return;
    double sum = 0.0;
    double block_min = finite_values[0];
    double block_max = finite_values[0];
    for (double value : finite_values) {
        sum += value;
        block_min = std::min(block_min, value);
        block_max = std::max(block_max, value);
    }
    const double block_mean = sum / static_cast<double>(finite_values.size());
    double block_m2 = 0.0;
    for (double value : finite_values) block_m2 += (value - block_mean) * (value - block_mean);
    combine_moments(count_, mean_, m2_, finite_values.size(), block_mean, block_m2);
    min_ = std::min(min_, block_min);
    max_ = std::max(max_, block_max);
    for (double value : finite_values) {
        quantiles_.update(value);
        sample_.update(value);
        distinct_.update_hash(hash_double(value));
    }
}

void NumericProfile::update_many(std::span<const double> values) {
    std::array<double, block_length> finite;
    std::size_t filled = 0;
    for (double value : values) {
        if (!std::isfinite(value)) {
            ++missing_count_;
            continue;
        }
        finite[filled++] = value;
        if (filled == block_length) {
            add_block(std::span<const double>(finite.data(), filled));
            filled = 0;
        }
    }
    add_block(std::span<const double>(finite.data(), filled));
}

std::string NumericProfile::merge_problem(const NumericProfile& other) const {
    if (other.quantiles_.k() != quantiles_.k() || other.sample_.capacity() != sample_.capacity() ||
        other.distinct_.precision() != distinct_.precision()) {
        return "numeric profile merge: the profiles have different options (kll k, reservoir capacity or hll "
               "precision)";
    }
    return {};
}

std::string NumericProfile::merge(const NumericProfile& other) {
    if (std::string problem = merge_problem(other); !problem.empty()) return problem;
    if (std::string problem = sample_.merge(other.sample_); !problem.empty()) return problem;
    if (std::string problem = distinct_.merge(other.distinct_); !problem.empty()) return problem;
    quantiles_.merge(other.quantiles_);
    combine_moments(count_, mean_, m2_, other.count_, other.mean_, other.m2_);
    missing_count_ += other.missing_count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    return {};
}

double NumericProfile::min() const { return count_ == 0 ? nan : min_; }
double NumericProfile::max() const { return count_ == 0 ? nan : max_; }
double NumericProfile::mean() const { return count_ == 0 ? nan : mean_; }

double NumericProfile::population_variance() const {
    return count_ == 0 ? nan : m2_ / static_cast<double>(count_);
}

double NumericProfile::sample_variance() const {
    return count_ < 2 ? nan : m2_ / static_cast<double>(count_ - 1);
}

std::string NumericProfile::serialize() const {
    ByteWriter out;
    out.put_header(numeric_magic, profile_version);
    out.put_u64(count_);
    out.put_u64(missing_count_);
    out.put_f64(min_);
    out.put_f64(max_);
    out.put_f64(mean_);
    out.put_f64(m2_);
    out.put_blob(quantiles_.serialize());
    out.put_blob(sample_.serialize());
    out.put_blob(distinct_.serialize());
    return out.take();
}

Decoded<NumericProfile> NumericProfile::deserialize(std::string_view bytes) {
    constexpr std::string_view what = "numeric profile";
    Decoded<NumericProfile> result;
    ByteReader in(bytes);
    if (std::string problem = in.check_header(what, numeric_magic, profile_version); !problem.empty()) {
        result.error = std::move(problem);
        return result;
    }
    NumericProfile profile;
    std::string_view kll_blob;
    std::string_view sample_blob;
    std::string_view hll_blob;
    if (!in.get_u64(profile.count_) || !in.get_u64(profile.missing_count_) || !in.get_f64(profile.min_) ||
        !in.get_f64(profile.max_) || !in.get_f64(profile.mean_) || !in.get_f64(profile.m2_)) {
        result.error = decode_error(what, "truncated fixed fields", in.offset());
        return result;
    }
    const std::size_t sketches_at = in.offset();
    if (!in.get_blob(kll_blob) || !in.get_blob(sample_blob) || !in.get_blob(hll_blob)) {
        result.error = decode_error(what, "truncated sketch blobs", in.offset());
        return result;
    }
    if (in.remaining() != 0) {
        result.error = decode_error(what, "trailing bytes", in.offset());
        return result;
    }
    auto kll = KllSketch::deserialize(kll_blob);
    auto sample = ReservoirSample::deserialize(sample_blob);
    auto hll = HyperLogLog::deserialize(hll_blob);
    for (const std::string* problem : {&kll.error, &sample.error, &hll.error}) {
        if (!problem->empty()) {
            result.error = std::string(what) + ": " + *problem + " (in the blob starting at byte " +
                           std::to_string(sketches_at) + ")";
            return result;
        }
    }
    const bool moments_valid = profile.count_ == 0
                                   ? profile.mean_ == 0.0 && profile.m2_ == 0.0
                                   : std::isfinite(profile.mean_) && std::isfinite(profile.m2_) && profile.m2_ >= 0.0 &&
                                         profile.min_ == kll.value.min() && profile.max_ == kll.value.max();
    if (kll.value.n() != profile.count_ || sample.value.n() != profile.count_ || !moments_valid) {
        result.error = decode_error(what, "count, min, max, mean or M2 disagree with the sketches", 5);
        return result;
    }
    if (profile.count_ > 0 && !moments_possible(profile.count_, profile.min_, profile.max_, profile.mean_,
                                                profile.m2_)) {
        result.error = decode_error(what, "min, max, mean or M2 that no finite values have", 21);
        return result;
    }
    if (profile.count_ == 0) {
        profile.min_ = infinity;
        profile.max_ = -infinity;
    }
    profile.quantiles_ = std::move(kll.value);
    profile.sample_ = std::move(sample.value);
    profile.distinct_ = std::move(hll.value);
    result.value = std::move(profile);
    return result;
}

CategoricalProfile::CategoricalProfile(const CategoricalProfileOptions& options)
    : items_(options.frequent_items_capacity), distinct_(options.hll_precision) {}

std::string CategoricalProfile::merge_problem(const CategoricalProfile& other) const {
    if (other.distinct_.precision() != distinct_.precision())
        return "categorical profile merge: hyperloglog precision " + std::to_string(other.distinct_.precision()) +
               " differs from " + std::to_string(distinct_.precision());
    return {};
}

std::string CategoricalProfile::merge(const CategoricalProfile& other) {
    if (std::string problem = merge_problem(other); !problem.empty()) return problem;
    if (std::string problem = distinct_.merge(other.distinct_); !problem.empty()) {
        return "categorical profile merge: " + problem;
    }
    items_.merge(other.items_);
    count_ += other.count_;
    missing_count_ += other.missing_count_;
    return {};
}

std::string CategoricalProfile::serialize() const {
    ByteWriter out;
    out.put_header(categorical_magic, profile_version);
    out.put_u64(count_);
    out.put_u64(missing_count_);
    out.put_blob(items_.serialize());
    out.put_blob(distinct_.serialize());
    return out.take();
}

Decoded<CategoricalProfile> CategoricalProfile::deserialize(std::string_view bytes) {
    constexpr std::string_view what = "categorical profile";
    Decoded<CategoricalProfile> result;
    ByteReader in(bytes);
    if (std::string problem = in.check_header(what, categorical_magic, profile_version); !problem.empty()) {
        result.error = std::move(problem);
        return result;
    }
    CategoricalProfile profile;
    std::string_view items_blob;
    std::string_view hll_blob;
    if (!in.get_u64(profile.count_) || !in.get_u64(profile.missing_count_)) {
        result.error = decode_error(what, "truncated fixed fields", in.offset());
        return result;
    }
    const std::size_t sketches_at = in.offset();
    if (!in.get_blob(items_blob) || !in.get_blob(hll_blob)) {
        result.error = decode_error(what, "truncated sketch blobs", in.offset());
        return result;
    }
    if (in.remaining() != 0) {
        result.error = decode_error(what, "trailing bytes", in.offset());
        return result;
    }
    auto items = FrequentItems::deserialize(items_blob);
    auto hll = HyperLogLog::deserialize(hll_blob);
    for (const std::string* problem : {&items.error, &hll.error}) {
        if (!problem->empty()) {
            result.error = std::string(what) + ": " + *problem + " (in the blob starting at byte " +
                           std::to_string(sketches_at) + ")";
            return result;
        }
    }
    if (items.value.n() != profile.count_) {
        result.error = decode_error(what, "count disagrees with the frequent items", 5);
        return result;
    }
    profile.items_ = std::move(items.value);
    profile.distinct_ = std::move(hll.value);
    result.value = std::move(profile);
    return result;
}

NumericProfile& ProfileSet::numeric(const std::string& name, const NumericProfileOptions& options) {
    auto found = numeric_.find(name);
    if (found == numeric_.end()) found = numeric_.emplace(name, NumericProfile(options)).first;
    return found->second;
}

CategoricalProfile& ProfileSet::categorical(const std::string& name, const CategoricalProfileOptions& options) {
    auto found = categorical_.find(name);
    if (found == categorical_.end()) found = categorical_.emplace(name, CategoricalProfile(options)).first;
    return found->second;
}

const NumericProfile* ProfileSet::find_numeric(const std::string& name) const {
    const auto found = numeric_.find(name);
    return found == numeric_.end() ? nullptr : &found->second;
}

const CategoricalProfile* ProfileSet::find_categorical(const std::string& name) const {
    const auto found = categorical_.find(name);
    return found == categorical_.end() ? nullptr : &found->second;
}

const SegmentProfiles* ProfileSet::find_segments(const std::string& attribute) const {
    const auto found = segments_.find(attribute);
    return found == segments_.end() ? nullptr : &found->second;
}

SegmentProfiles& ProfileSet::declare_segments(const std::string& attribute) {
    auto found = segments_.find(attribute);
    if (found == segments_.end()) {
        found = segments_.emplace(attribute, SegmentProfiles{}).first;
        // Rows added before the declaration are in no segment.
        if (rows_ > 0) found->second.state = SegmentProfiles::State::partial;
    }
    return found->second;
}

ProfileSet* ProfileSet::segment(const std::string& attribute, const std::string& value, std::size_t max_values) {
    SegmentProfiles& segments = declare_segments(attribute);
    if (segments.state != SegmentProfiles::State::complete) return nullptr;
    const auto found = segments.by_value.find(value);
    if (found != segments.by_value.end()) return &found->second;
    if (segments.by_value.size() >= max_values) {
        segments.state = SegmentProfiles::State::overflowed;
        segments.by_value.clear();
        return nullptr;
    }
    return &segments.by_value.emplace(value, ProfileSet{}).first->second;
}

namespace {

void drop_segment_values(SegmentProfiles& segments, SegmentProfiles::State state) {
    // Overflowed wins over partial: it is the one the configuration can fix.
    if (segments.state != SegmentProfiles::State::overflowed) segments.state = state;
    segments.by_value.clear();
}

}  // namespace

std::string ProfileSet::merge_problem(const ProfileSet& other, std::size_t max_segment_values) const {
    if (rows_ > max_rows || other.rows_ > max_rows - rows_)
        return "profile set merge: " + std::to_string(rows_) + " and " + std::to_string(other.rows_) +
               " rows together are more than a profile counts (2^53)";
    if (std::string problem = features_merge_problem(numeric_, other.numeric_, categorical_, "numeric", "categorical");
        !problem.empty())
        return problem;
    if (std::string problem =
            features_merge_problem(categorical_, other.categorical_, numeric_, "categorical", "numeric");
        !problem.empty())
        return problem;
    // The values merge() merges value by value: those of an attribute
    // complete on both sides whose values together stay within the cap.
    for (const auto& [attribute, theirs] : other.segments_) {
        const auto found = segments_.find(attribute);
        if (found == segments_.end()) continue;
        const SegmentProfiles& ours = found->second;
        if (ours.state != SegmentProfiles::State::complete || theirs.state != SegmentProfiles::State::complete)
            continue;
        std::size_t values = ours.by_value.size();
        for (const auto& [value, part] : theirs.by_value) values += ours.by_value.contains(value) ? 0 : 1;
        if (values > max_segment_values) continue;
        for (const auto& [value, part] : theirs.by_value) {
            const auto same = ours.by_value.find(value);
            if (same == ours.by_value.end()) continue;
            if (std::string problem = same->second.merge_problem(part, max_segment_values); !problem.empty())
                return "profile set merge, segment " + attribute + "=\"" + value + "\": " + problem;
        }
    }
    return {};
}

std::string ProfileSet::merge(const ProfileSet& other, std::size_t max_segment_values) {
    // Checked first, so that a set that does not fit leaves this one as it
    // was; the checks below then never fail.
    if (std::string problem = merge_problem(other, max_segment_values); !problem.empty()) return problem;
    if (std::string problem = merge_features(numeric_, other.numeric_); !problem.empty()) return problem;
    if (std::string problem = merge_features(categorical_, other.categorical_); !problem.empty()) return problem;
    // An attribute only on our side: `other`'s rows are in none of its segments.
    for (auto& [attribute, ours] : segments_)
        if (other.rows_ > 0 && !other.segments_.contains(attribute))
            drop_segment_values(ours, SegmentProfiles::State::partial);
    for (const auto& [attribute, theirs] : other.segments_) {
        auto found = segments_.find(attribute);
        if (found == segments_.end()) {
            found = segments_.emplace(attribute, theirs).first;
            if (rows_ > 0) drop_segment_values(found->second, SegmentProfiles::State::partial);
            continue;
        }
        SegmentProfiles& ours = found->second;
        if (ours.state != SegmentProfiles::State::complete) continue;
        if (theirs.state != SegmentProfiles::State::complete) {
            drop_segment_values(ours, theirs.state);
            continue;
        }
        std::size_t values = ours.by_value.size();
        for (const auto& [value, part] : theirs.by_value) values += ours.by_value.contains(value) ? 0 : 1;
        if (values > max_segment_values) {
            drop_segment_values(ours, SegmentProfiles::State::overflowed);
            continue;
        }
        for (const auto& [value, part] : theirs.by_value) {
            const auto same = ours.by_value.find(value);
            if (same == ours.by_value.end()) {
                ours.by_value.emplace(value, part);
                continue;
            }
            if (std::string problem = same->second.merge(part, max_segment_values); !problem.empty())
                return "profile set merge, segment " + attribute + "=\"" + value + "\": " + problem;
        }
    }
    rows_ += other.rows_;
    return {};
}

std::string ProfileSet::serialize() const {
    ByteWriter out;
    out.put_header(set_magic, set_version);
    out.put_u64(rows_);
    out.put_u32(static_cast<std::uint32_t>(numeric_.size()));
    for (const auto& [name, profile] : numeric_) {
        out.put_blob(name);
        out.put_blob(profile.serialize());
    }
    out.put_u32(static_cast<std::uint32_t>(categorical_.size()));
    for (const auto& [name, profile] : categorical_) {
        out.put_blob(name);
        out.put_blob(profile.serialize());
    }
    // Version 2: the segments.
    out.put_u32(static_cast<std::uint32_t>(segments_.size()));
    for (const auto& [attribute, segments] : segments_) {
        out.put_blob(attribute);
        out.put_u8(static_cast<std::uint8_t>(segments.state));
        out.put_u32(static_cast<std::uint32_t>(segments.by_value.size()));
        for (const auto& [value, part] : segments.by_value) {
            out.put_blob(value);
            out.put_blob(part.serialize());
        }
    }
    return out.take();
}

Decoded<ProfileSet> ProfileSet::deserialize(std::string_view bytes) { return decode(bytes, true); }

Decoded<ProfileSet> ProfileSet::decode(std::string_view bytes, bool segments_allowed) {
    constexpr std::string_view what = "profile set";
    Decoded<ProfileSet> result;
    ByteReader in(bytes);
    bool with_segments = true;
    if (std::string problem = in.check_header(what, set_magic, set_version); !problem.empty()) {
        // Version 1 (before segments) reads as a set without segments.
        ByteReader first(bytes);
        if (!first.check_header(what, set_magic, 1).empty()) {
            result.error = std::move(problem);
            return result;
        }
        in = first;
        with_segments = false;
    }
    ProfileSet set;
    if (!in.get_u64(set.rows_)) {
        result.error = decode_error(what, "truncated row count", in.offset());
        return result;
    }
    if (set.rows_ > max_rows) {
        result.error = decode_error(what, std::to_string(set.rows_) + " rows, more than a profile counts (2^53)", 5);
        return result;
    }
    // Reads one kind's (name, profile) pairs into `into`; "" or the error.
    const auto read_kind = [&](auto& into, auto decode) -> std::string {
        std::uint32_t count = 0;
        if (!in.get_u32(count)) return decode_error(what, "truncated feature count", in.offset());
        if (count > max_set_features) return decode_error(what, "more features than a model can have", in.offset());
        for (std::uint32_t i = 0; i < count; ++i) {
            std::string_view name;
            std::string_view blob;
            const std::size_t at = in.offset();
            if (!in.get_blob(name) || !in.get_blob(blob)) return decode_error(what, "truncated feature", at);
            if (name.empty() || into.contains(std::string(name)))
                return decode_error(what, "empty or repeated feature name", at);
            auto profile = decode(blob);
            if (!profile.error.empty())
                return std::string(what) + ", feature \"" + std::string(name) + "\": " + profile.error;
            // Each row gives a feature one value or one missing, or nothing
            // when the feature was declared after it (a merge of older parts).
            const std::uint64_t values = profile.value.count();
            const std::uint64_t missing = profile.value.missing_count();
            if (values > set.rows_ || missing > set.rows_ - values)
                return decode_error(what,
                                    "feature \"" + std::string(name) + "\" counts " + std::to_string(values) +
                                        " values and " + std::to_string(missing) + " missing in " +
                                        std::to_string(set.rows_) + " rows",
                                    at);
            into.emplace(std::string(name), std::move(profile.value));
        }
        return {};
    };
    // The segments of version 2: each attribute's state and values, each
    // value's set a set without segments whose rows add up to the whole's
    // when the attribute is complete (every row has one value).
    const auto read_segments = [&]() -> std::string {
        std::uint32_t attributes = 0;
        if (!in.get_u32(attributes)) return decode_error(what, "truncated segment attribute count", in.offset());
        if (attributes > (segments_allowed ? max_segment_attributes : 0))
            return decode_error(what,
                                segments_allowed ? "more segment attributes than a model can have"
                                                 : "a segment's profile set has segments of its own",
                                in.offset());
        for (std::uint32_t a = 0; a < attributes; ++a) {
            std::string_view attribute;
            std::uint8_t state = 0;
            std::uint32_t values = 0;
            const std::size_t at = in.offset();
            if (!in.get_blob(attribute) || !in.get_u8(state) || !in.get_u32(values))
                return decode_error(what, "truncated segment attribute", at);
            if (attribute.empty() || set.segments_.contains(std::string(attribute)))
                return decode_error(what, "empty or repeated segment attribute", at);
            if (state > static_cast<std::uint8_t>(SegmentProfiles::State::partial))
                return decode_error(what, "unknown segment state " + std::to_string(state), at);
            SegmentProfiles segments;
            segments.state = static_cast<SegmentProfiles::State>(state);
            if (values > max_decoded_segment_values ||
                (segments.state != SegmentProfiles::State::complete && values != 0))
                return decode_error(what, "segment values beyond the cap or of an attribute that keeps none", at);
            std::uint64_t rows = 0;
            for (std::uint32_t v = 0; v < values; ++v) {
                std::string_view value;
                std::string_view blob;
                const std::size_t value_at = in.offset();
                if (!in.get_blob(value) || !in.get_blob(blob)) return decode_error(what, "truncated segment", value_at);
                if (segments.by_value.contains(std::string(value)))
                    return decode_error(what, "repeated segment value", value_at);
                // One level only: a segment's set is decoded without segments.
                auto part = decode(blob, false);
                if (!part.error.empty())
                    return std::string(what) + ", segment " + std::string(attribute) + "=\"" + std::string(value) +
                           "\": " + part.error;
                rows += part.value.rows_;
                segments.by_value.emplace(std::string(value), std::move(part.value));
            }
            if (segments.state == SegmentProfiles::State::complete && rows != set.rows_)
                return decode_error(what,
                                    "the segments of " + std::string(attribute) + " hold " + std::to_string(rows) +
                                        " rows, the set " + std::to_string(set.rows_),
                                    at);
            set.segments_.emplace(std::string(attribute), std::move(segments));
        }
        return {};
    };
    std::string problem = read_kind(set.numeric_, [](std::string_view blob) { return NumericProfile::deserialize(blob); });
    if (problem.empty())
        problem = read_kind(set.categorical_,
                            [](std::string_view blob) { return CategoricalProfile::deserialize(blob); });
    if (problem.empty() && with_segments) problem = read_segments();
    if (problem.empty() && in.remaining() != 0) problem = decode_error(what, "trailing bytes", in.offset());
    for (const auto& [name, profile] : set.numeric_)
        if (problem.empty() && set.categorical_.contains(name))
            problem = decode_error(what, "feature \"" + name + "\" is both numeric and categorical", 5);
    if (!problem.empty()) {
        result.error = std::move(problem);
        return result;
    }
    result.value = std::move(set);
    return result;
}

}  // namespace mw::stats
