// Representation and label balance per group, reference window against current.
#include <catch2/catch.hpp>

#include <cmath>

#include "fairness/data_bias.h"

using namespace mw::fairness;

namespace {

AuditData window(const std::vector<std::pair<const char*, int>>& rows) {
    AuditData data;
    data.attributes.push_back(AttributeColumn{"sex", {}, {}});
    AttributeEncoder encoder(data.attributes[0]);
    for (const auto& [group, label] : rows) {
        encoder.append(group);
        data.y_true.push_back(static_cast<std::uint8_t>(label));
        data.y_pred.push_back(0);
    }
    return data;
}

}  // namespace

TEST_CASE("a shift in who is seen and how they are labelled") {
    // Reference: F 2 rows (1 positive), M 2 rows (0 positive).
    // Current:   F 1 row (1 positive), M 2 rows (2 positive), X 1 row (0 positive).
    const AuditData reference = window({{"F", 1}, {"F", 0}, {"M", 0}, {"M", 0}});
    const AuditData current = window({{"M", 1}, {"F", 1}, {"X", 0}, {"M", 1}});
    const RepresentationShift shift = compare_representation(reference, current, {"sex"});
    REQUIRE(shift.error.empty());
    REQUIRE(shift.rows.size() == 3);
    const RepresentationRow& f = shift.rows[0];
    CHECK(f.label == "F");
    CHECK(f.reference_share == Approx(0.5));
    CHECK(f.current_share == Approx(0.25));
    CHECK(f.share_difference == Approx(-0.25));
    CHECK(f.reference_base_rate == Approx(0.5));
    CHECK(f.current_base_rate == Approx(1.0));
    CHECK(f.base_rate_difference == Approx(0.5));
    const RepresentationRow& m = shift.rows[1];
    CHECK(m.base_rate_difference == Approx(1.0));  // 0 of 2 -> 2 of 2
    const RepresentationRow& x = shift.rows[2];
    CHECK(x.reference_count == 0);  // a group new in the current window is shown, not dropped
    CHECK(x.current_share == Approx(0.25));
    CHECK(std::isnan(x.reference_base_rate));
    CHECK(compare_representation(reference, current, {"race"}).error == "attribute 'race' is not in the reference window");
}
