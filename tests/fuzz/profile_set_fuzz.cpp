// libFuzzer harness of the stored profiles' decoder (stats::ProfileSet::
// deserialize and the sketches it nests; run by scripts/fuzz.sh). A
// profile-only model's chunks and reference profiles are read back from
// PostgreSQL, where a row may be damaged or tampered with, so every input is
// decoded under ASan and UBSan and the results are checked against
// invariants that must hold for any bytes:
//   - a refused blob says why;
//   - a decoded set counts no more than max_rows rows, and no feature more
//     values and missing than the set has rows; each numeric profile's KLL
//     sketch and reservoir count its values, its min <= mean <= max (up to
//     rounding); each categorical profile's frequent items count its values;
//     a complete segment attribute's values hold the set's rows;
//   - what the daemon reads of it answers without crashing: quantiles,
//     ranks, the CDF distances against a sketch of the writer's, bin counts,
//     frequent items, distinct estimates;
//   - it serialises to a blob that decodes to the same bytes again;
//   - merging it into a set the store writer would have made either fails
//     and leaves that set byte for byte as it was, or adds its rows; merging
//     it with itself likewise.
// The nested sketches are decoded directly from the input too, so the
// fuzzer reaches their decoders without building a whole set around them.
// A violated invariant aborts, which libFuzzer reports as a crash.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "stats/feature_profile.h"

namespace {

using mw::stats::ProfileSet;

[[noreturn]] void violated(const char* invariant) {
    std::fprintf(stderr, "profile_set_fuzz: invariant violated: %s\n", invariant);
    std::abort();
}

void require(bool condition, const char* invariant) {
    if (!condition) violated(invariant);
}

// What the store writer folds for a few rows of a model with a numeric
// feature "x", a categorical "c" and segments by "s" (store/profile_writer.cpp).
const ProfileSet& writer_set() {
    static const ProfileSet set = [] {
        ProfileSet made;
        const auto options = mw::stats::profile_only_numeric_options(7);
        made.declare_segments("s");
        for (int i = 0; i < 40; ++i) {
            const std::string value = i % 2 == 0 ? "F" : "M";
            for (ProfileSet* target : {&made, made.segment("s", value, ProfileSet::default_max_segment_values)}) {
                target->add_rows(1);
                target->numeric("x", options).update(i * 0.5);
                target->categorical("c").update(i % 3 == 0 ? "a" : "b");
            }
        }
        return made;
    }();
    return set;
}

void check_kll(const mw::stats::KllSketch& sketch) {
    if (sketch.empty()) return;
    const double qs[] = {0.0, 0.1, 0.5, 0.9, 1.0};
    for (const double q : sketch.quantiles(qs))
        require(q >= sketch.min() && q <= sketch.max(), "a quantile lies within [min, max]");
    const double rank = sketch.rank(sketch.quantile(0.5));
    require(rank >= 0.0 && rank <= 1.0, "a rank lies in [0, 1]");
    const auto& reference = writer_set().find_numeric("x")->quantiles();
    const auto distances = mw::stats::cdf_distances(reference, sketch);
    require(distances.ok(), "the CDF distances of two non-empty sketches are computed");
    require(distances.sup >= 0.0 && distances.sup <= 1.0 + 1e-12, "the KS distance lies in [0, 1]");
    const double edges[] = {1.0, 5.0, 10.0};
    double total = 0.0;
    for (const double count : sketch.bin_counts(edges)) total += count;
    const double n = static_cast<double>(sketch.n());
    require(std::abs(total - n) <= 1e-9 * n, "the bin counts sum to n");
}

void check_numeric(const mw::stats::NumericProfile& profile) {
    require(profile.quantiles().n() == profile.count(), "the KLL sketch counts the profile's values");
    require(profile.sample().n() == profile.count(), "the reservoir counts the profile's values");
    if (profile.count() > 0) {
        // The decoder's rounding slack is a millionth of this scale.
        const double slack =
            2e-6 * std::max({std::abs(profile.min()), std::abs(profile.max()), profile.max() - profile.min()});
        require(profile.mean() >= profile.min() - slack && profile.mean() <= profile.max() + slack,
                "the mean lies within [min, max]");
        require(profile.population_variance() >= 0.0, "the variance is not negative");
    }
    check_kll(profile.quantiles());
    require(profile.distinct_estimate() >= 0.0, "the distinct estimate is not negative");
}

void check_categorical(const mw::stats::CategoricalProfile& profile) {
    require(profile.items().n() == profile.count(), "the frequent items count the profile's values");
    require(profile.items().other_count() <= profile.count(), "the untracked count is within n");
    require(profile.items().max_error() <= profile.items().other_count(), "max_error within the untracked count");
    std::uint64_t tracked = 0;
    for (const auto& item : profile.items().items()) tracked += item.count;
    require(tracked <= profile.count(), "the tracked counts are within n");
    require(profile.distinct_estimate() >= 0.0, "the distinct estimate is not negative");
}

void check_set(const ProfileSet& set, bool segments_allowed) {
    require(set.rows() <= ProfileSet::max_rows, "a set counts at most max_rows rows");
    for (const auto& [name, profile] : set.numeric_profiles()) {
        require(profile.count() <= set.rows() && profile.missing_count() <= set.rows() - profile.count(),
                "a numeric feature counts no more than the set's rows");
        check_numeric(profile);
    }
    for (const auto& [name, profile] : set.categorical_profiles()) {
        require(profile.count() <= set.rows() && profile.missing_count() <= set.rows() - profile.count(),
                "a categorical feature counts no more than the set's rows");
        check_categorical(profile);
    }
    require(segments_allowed || set.segments().empty(), "a segment's set has no segments");
    for (const auto& [attribute, segments] : set.segments()) {
        std::uint64_t rows = 0;
        for (const auto& [value, part] : segments.by_value) {
            check_set(part, false);
            rows += part.rows();
        }
        require(segments.state != mw::stats::SegmentProfiles::State::complete || rows == set.rows(),
                "a complete attribute's values hold the set's rows");
        require(segments.state == mw::stats::SegmentProfiles::State::complete || segments.by_value.empty(),
                "an attribute that keeps no value holds none");
    }
}

// Merging `part` into `into`: a failure leaves `into` as it was, a success adds the rows.
void check_merge(ProfileSet into, const ProfileSet& part) {
    const std::string before = into.serialize();
    const std::uint64_t rows = into.rows();
    const std::string problem = into.merge(part);
    if (!problem.empty()) {
        require(into.serialize() == before, "a failed merge leaves the set unchanged");
        return;
    }
    require(into.rows() == rows + part.rows(), "a merge adds the rows");
    check_set(into, true);
    const auto again = ProfileSet::deserialize(into.serialize());
    require(again.ok(), "a merged set decodes");
}

template <typename Sketch>
void decode_alone(std::string_view bytes) {
    const auto decoded = Sketch::deserialize(bytes);
    if (!decoded.ok()) {
        require(!decoded.error.empty(), "a refused sketch says why");
        return;
    }
    const std::string blob = decoded.value.serialize();
    const auto again = Sketch::deserialize(blob);
    require(again.ok() && again.value.serialize() == blob, "a decoded sketch round-trips");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    decode_alone<mw::stats::KllSketch>(bytes);
    decode_alone<mw::stats::FrequentItems>(bytes);
    decode_alone<mw::stats::HyperLogLog>(bytes);
    decode_alone<mw::stats::ReservoirSample>(bytes);
    decode_alone<mw::stats::NumericProfile>(bytes);
    decode_alone<mw::stats::CategoricalProfile>(bytes);
    if (const auto numeric = mw::stats::NumericProfile::deserialize(bytes); numeric.ok()) check_numeric(numeric.value);
    if (const auto kll = mw::stats::KllSketch::deserialize(bytes); kll.ok()) check_kll(kll.value);

    const auto decoded = ProfileSet::deserialize(bytes);
    if (!decoded.ok()) {
        require(!decoded.error.empty(), "a refused set says why");
        return 0;
    }
    const ProfileSet& set = decoded.value;
    check_set(set, true);
    const std::string blob = set.serialize();
    const auto again = ProfileSet::deserialize(blob);
    require(again.ok(), "a decoded set's blob decodes");
    require(again.value.serialize() == blob, "a decoded set round-trips byte for byte");
    check_merge(writer_set(), set);
    check_merge(set, set);
    return 0;
}
