#include "detectors/data_quality.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

namespace mw::quality {

namespace {

using nlohmann::json;

// How one JSON value reads as a feature of a declared type.
enum class ValueClass { missing, type_error, valid };

// `category` views the JSON string, a literal, or the caller's `scratch`
// (integer categories), so counting a value copies nothing.
struct ReadValue {
    ValueClass kind = ValueClass::missing;
    double number = 0;          // numeric features
    std::string_view category;  // categorical and boolean features
};

// The decimal text of an integer-valued JSON number, as the ingest parser
// stores categorical integers (3 and 3.0 both become "3").
std::optional<std::string> integer_text(const json& value) {
    if (value.is_number_integer()) return value.dump();
    if (value.is_number_float()) {
        const double number = value.get<double>();
        constexpr double exact_limit = 9007199254740992.0;  // 2^53
        if (std::trunc(number) != number || std::fabs(number) > exact_limit) return std::nullopt;
        return fmt::format("{}", static_cast<std::int64_t>(number));
    }
    return std::nullopt;
}

ReadValue read_value(const json* value, FeatureType type, std::string& scratch) {
    ReadValue read;
    if (value == nullptr || value->is_null()) return read;
    read.kind = ValueClass::type_error;
    switch (type) {
        case FeatureType::numeric:
            if (value->is_number()) {
                read.number = value->get<double>();
                if (std::isfinite(read.number)) read.kind = ValueClass::valid;
            }
            break;
        case FeatureType::boolean:
            if (value->is_boolean()) {
                read.category = value->get<bool>() ? "true" : "false";
                read.kind = ValueClass::valid;
            }
            break;
        case FeatureType::categorical:
            if (value->is_string()) {
                read.category = value->get_ref<const std::string&>();
                read.kind = ValueClass::valid;
            } else if (auto text = integer_text(*value)) {
                scratch = std::move(*text);
                read.category = scratch;
                read.kind = ValueClass::valid;
            }
            break;
    }
    return read;
}

// numpy.quantile(values, q) with the default "linear" method: the value at
// position q * (n - 1) of the sorted values, interpolated between neighbours.
double quantile_linear(const std::vector<double>& sorted, double q) {
    const double position = q * static_cast<double>(sorted.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    const double fraction = position - static_cast<double>(below);
    return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

double share(std::size_t part, std::size_t whole) {
    return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// What one window holds of one feature.
struct FeatureWindow {
    std::size_t missing = 0;
    std::size_t type_errors = 0;
    std::size_t valid = 0;
    std::vector<double> numbers;
    std::map<std::string, std::size_t, std::less<>> categories;
    json type_error_examples = json::array();
};

void count_category(std::map<std::string, std::size_t, std::less<>>& counts, std::string_view category) {
    const auto found = counts.find(category);
    if (found != counts.end())
        ++found->second;
    else
        counts.emplace(std::string(category), 1);
}

void add_value(FeatureWindow& window, FeatureType type, const json* value, std::size_t max_examples,
               std::string& scratch) {
    const ReadValue read = read_value(value, type, scratch);
    switch (read.kind) {
        case ValueClass::missing: ++window.missing; break;
        case ValueClass::type_error:
            ++window.type_errors;
            if (window.type_error_examples.size() < max_examples) window.type_error_examples.push_back(*value);
            break;
        case ValueClass::valid:
            ++window.valid;
            if (type == FeatureType::numeric)
                window.numbers.push_back(read.number);
            else
                count_category(window.categories, read.category);
            break;
    }
}

// Every declared feature in one pass over the rows. nlohmann::json objects
// keep their keys sorted, so a row's values are found by walking its keys
// beside the sorted feature names: each row is visited once, not once per
// feature (a lookup per feature and row took 7 times the CPU on 100k rows).
std::vector<FeatureWindow> scan_features(const std::vector<json>& rows, const ModelSchema& schema,
                                         std::size_t max_examples) {
    const auto& features = schema.features;
    std::vector<std::size_t> order(features.size());
    for (std::size_t f = 0; f < order.size(); ++f) order[f] = f;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return features[a].name < features[b].name; });

    std::vector<FeatureWindow> windows(features.size());
    std::vector<const json*> values(features.size());
    std::string scratch;
    for (const auto& row : rows) {
        std::fill(values.begin(), values.end(), nullptr);
        if (row.is_object()) {
            auto item = row.begin();
            std::size_t k = 0;
            while (item != row.end() && k < order.size()) {
                const int compared = item.key().compare(features[order[k]].name);
                if (compared < 0) {
                    ++item;
                } else if (compared > 0) {
                    ++k;
                } else {
                    values[order[k]] = &*item;
                    ++k;  // the key stays: a name declared twice finds it again
                }
            }
        }
        for (std::size_t f = 0; f < features.size(); ++f)
            add_value(windows[f], features[f].type, values[f], max_examples, scratch);
    }
    return windows;
}

using NameCounts = std::vector<std::pair<std::string, std::size_t>>;

// The most frequent names first (ties by name), at most `limit` of them.
NameCounts most_frequent(NameCounts counts, std::size_t limit) {
    std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (counts.size() > limit) counts.resize(limit);
    return counts;
}

// The same as a JSON list of {"value", "count"} objects, for evidence.
json top_counts(NameCounts counts, std::size_t limit) {
    json listed = json::array();
    for (auto& [name, count] : most_frequent(std::move(counts), limit))
        listed.push_back({{"value", std::move(name)}, {"count", count}});
    return listed;
}

class ReportBuilder {
public:
    explicit ReportBuilder(QualityReport& report) : report_(report) {}

    void check(const std::string& feature, const char* name, double statistic, double threshold, bool triggered,
               json evidence = json::object()) {
        report_.checks.push_back({feature, name, statistic, threshold, triggered, std::move(evidence)});
    }
    void metric(const char* name, const std::string& feature, double value) {
        report_.metrics.push_back({name, feature, value});
    }

private:
    QualityReport& report_;
};

void evaluate_numeric_range(const FeatureReference& ref, const FeatureWindow& window,
                            const DataQualityOptions& options, ReportBuilder& out) {
    if (ref.valid() == 0 || window.valid == 0) return;
    const double low = options.use_quantile_range ? ref.quantile_low : ref.min;
    const double high = options.use_quantile_range ? ref.quantile_high : ref.max;
    std::size_t below = 0;
    std::size_t above = 0;
    for (const double number : window.numbers) {
        below += number < low;
        above += number > high;
    }
    const double observed = share(below + above, window.valid);
    out.metric("out_of_range_share", ref.name, observed);
    out.check(ref.name, "out_of_range_share", observed, options.out_of_range_share,
              observed > options.out_of_range_share,
              {{"low", low},
               {"high", high},
               {"range", options.use_quantile_range ? "quantile" : "min_max"},
               {"below", below},
               {"above", above},
               {"valid", window.valid}});
}

void evaluate_categories(const FeatureReference& ref, const FeatureWindow& window, const DataQualityOptions& options,
                         ReportBuilder& out) {
    if (window.valid == 0) return;
    NameCounts unseen;
    std::size_t unseen_rows = 0;
    for (const auto& [category, count] : window.categories) {
        if (ref.categories.count(category)) continue;
        unseen.emplace_back(category, count);
        unseen_rows += count;
    }
    const double observed = share(unseen_rows, window.valid);
    out.metric("new_category_share", ref.name, observed);
    out.metric("new_categories", ref.name, static_cast<double>(unseen.size()));
    const std::size_t unseen_distinct = unseen.size();
    out.check(ref.name, "new_category_share", observed, options.new_category_share,
              observed > options.new_category_share,
              {{"categories", top_counts(std::move(unseen), options.max_reported_values)},
               {"distinct", unseen_distinct},
               {"rows", unseen_rows},
               {"valid", window.valid}});

    // A reference category is expected when it was common enough and the
    // window is large enough for its absence to mean something.
    json vanished = json::array();
    std::size_t vanished_count = 0;
    const double reference_valid = static_cast<double>(ref.valid());
    for (const auto& [category, count] : ref.categories) {
        const double reference_share = static_cast<double>(count) / reference_valid;
        if (reference_share < options.vanished_min_reference_share) continue;
        if (reference_share * static_cast<double>(window.valid) < options.vanished_min_expected_count) continue;
        if (window.categories.count(category)) continue;
        ++vanished_count;
        if (vanished.size() < options.max_reported_values)
            vanished.push_back({{"value", category}, {"reference_share", reference_share}});
    }
    out.metric("vanished_categories", ref.name, static_cast<double>(vanished_count));
    out.check(ref.name, "vanished_categories", static_cast<double>(vanished_count),
              static_cast<double>(options.max_vanished_categories), vanished_count > options.max_vanished_categories,
              {{"categories", std::move(vanished)}, {"valid", window.valid}});
}

void evaluate_feature(const FeatureSpec& spec, const FeatureReference* ref, const FeatureWindow& window,
                      std::size_t n, const DataQualityOptions& options, ReportBuilder& out) {

    const double missing_rate = share(window.missing, n);
    out.metric("missing_rate", spec.name, missing_rate);
    const double type_error_rate = share(window.type_errors, n);
    out.metric("type_error_rate", spec.name, type_error_rate);
    out.check(spec.name, "type_error_rate", type_error_rate, options.type_error_rate,
              type_error_rate > options.type_error_rate,
              {{"type_errors", window.type_errors},
               {"rows", n},
               {"expected", to_string(spec.type)},
               {"examples", window.type_error_examples}});

    // A declared feature that no row carries at all: a client stopped sending
    // it, or renamed it (then it also shows as undeclared).
    const std::size_t present = window.valid + window.type_errors;
    out.check(spec.name, "declared_feature_absent", static_cast<double>(present), 0.0, present == 0,
              {{"rows", n}});

    std::vector<double> distinct_numbers = window.numbers;
    std::sort(distinct_numbers.begin(), distinct_numbers.end());
    distinct_numbers.erase(std::unique(distinct_numbers.begin(), distinct_numbers.end()), distinct_numbers.end());
    const std::size_t distinct = spec.type == FeatureType::numeric ? distinct_numbers.size() : window.categories.size();
    out.metric("distinct_values", spec.name, static_cast<double>(distinct));

    if (ref == nullptr || ref->type != spec.type) return;

    const double reference_rate = ref->missing_rate();
    out.check(spec.name, "missing_rate", missing_rate, reference_rate + options.missing_rate_increase,
              missing_rate - reference_rate > options.missing_rate_increase,
              {{"missing", window.missing}, {"rows", n}, {"reference_missing_rate", reference_rate}});

    if (spec.type == FeatureType::numeric)
        evaluate_numeric_range(*ref, window, options, out);
    else
        evaluate_categories(*ref, window, options, out);

    if (options.check_constant && window.valid > 0) {
        json evidence{{"distinct", distinct}, {"reference_distinct", ref->distinct_values}};
        if (distinct == 1) {
            if (spec.type == FeatureType::numeric)
                evidence["value"] = distinct_numbers.front();
            else
                evidence["value"] = window.categories.begin()->first;
        }
        out.check(spec.name, "constant_feature", static_cast<double>(distinct), 1.0,
                  distinct == 1 && ref->distinct_values > 1, std::move(evidence));
    }
    // A reference in which the feature never varies cannot say what normal
    // variation is (every later value is "new", or a scale of zero), so it is
    // a finding of its own, on every window, until the reference is reset.
    if (options.check_constant && ref->valid() > 0) {
        json evidence{{"reference_distinct", ref->distinct_values}, {"reference_rows", ref->valid()}};
        if (ref->distinct_values == 1) {
            if (spec.type == FeatureType::numeric)
                evidence["value"] = ref->min;
            else if (!ref->categories.empty())
                evidence["value"] = ref->categories.begin()->first;
        }
        out.check(spec.name, "constant_reference", static_cast<double>(ref->distinct_values), 1.0,
                  ref->distinct_values == 1, std::move(evidence));
    }
}

void evaluate_schema(const ModelSchema& schema, const std::vector<json>& rows, const DataQualityOptions& options,
                     ReportBuilder& out) {
    std::map<std::string, std::size_t> undeclared;
    std::size_t rows_with_undeclared = 0;
    std::size_t not_objects = 0;
    for (const auto& row : rows) {
        if (!row.is_object()) {
            ++not_objects;
            continue;
        }
        bool any = false;
        for (const auto& item : row.items()) {
            if (schema.feature_index(item.key()) >= 0) continue;
            ++undeclared[item.key()];
            any = true;
        }
        rows_with_undeclared += any;
    }
    out.metric("undeclared_features", "", static_cast<double>(undeclared.size()));
    out.metric("undeclared_feature_rows", "", static_cast<double>(rows_with_undeclared));
    out.metric("malformed_rows", "", static_cast<double>(not_objects));
    out.check("", "malformed_rows", static_cast<double>(not_objects), 0.0, not_objects > 0, {{"rows", rows.size()}});

    const NameCounts reported =
        most_frequent(NameCounts(undeclared.begin(), undeclared.end()), options.max_reported_values);
    for (const auto& [name, count] : reported)
        out.check(name, "undeclared_feature", static_cast<double>(count),
                  static_cast<double>(options.max_undeclared_rows), count > options.max_undeclared_rows,
                  {{"rows", count}, {"window_rows", rows.size()}, {"undeclared_features", undeclared.size()}});
}

void evaluate_duplicate_ids(const std::vector<std::string>& ids, const DataQualityOptions& options,
                            ReportBuilder& out) {
    std::unordered_map<std::string_view, std::size_t> seen;
    seen.reserve(ids.size());
    for (const auto& id : ids) ++seen[id];
    NameCounts repeated;
    std::size_t duplicates = 0;
    for (const auto& [id, count] : seen) {
        if (count < 2) continue;
        duplicates += count - 1;
        repeated.emplace_back(std::string(id), count);
    }
    out.metric("duplicate_ids", "", static_cast<double>(duplicates));
    out.check("", "duplicate_ids", static_cast<double>(duplicates), static_cast<double>(options.max_duplicate_ids),
              duplicates > options.max_duplicate_ids,
              {{"ids", top_counts(std::move(repeated), options.max_reported_values)}, {"rows", ids.size()}});
}

// ---- reading a stored reference ------------------------------------------

// Reads a field of `object`, or says which field at `path` was wrong.
template <typename T>
bool read_field(const json& object, const char* key, const std::string& path, T& out, std::string& error) {
    const auto found = object.find(key);
    const std::string where = path.empty() ? key : fmt::format("{}.{}", path, key);
    if (found == object.end()) {
        error = fmt::format("{}: missing", where);
        return false;
    }
    if constexpr (std::is_same_v<T, std::size_t>) {
        if (!found->is_number_unsigned()) {
            error = fmt::format("{}: expected a non-negative integer, got {}", where, found->dump());
            return false;
        }
    } else if constexpr (std::is_same_v<T, double>) {
        if (!found->is_number()) {
            error = fmt::format("{}: expected a number, got {}", where, found->dump());
            return false;
        }
    } else {
        if (!found->is_string()) {
            error = fmt::format("{}: expected a string, got {}", where, found->dump());
            return false;
        }
    }
    out = found->get<T>();
    return true;
}

std::optional<FeatureType> parse_feature_type(std::string_view text) {
    for (const FeatureType type : {FeatureType::numeric, FeatureType::categorical, FeatureType::boolean})
        if (text == to_string(type)) return type;
    return std::nullopt;
}

bool read_feature(const json& object, const std::string& path, std::size_t rows, FeatureReference& out,
                  std::string& error) {
    if (!object.is_object()) {
        error = fmt::format("{}: expected an object", path);
        return false;
    }
    std::string type_text;
    if (!read_field(object, "name", path, out.name, error) || !read_field(object, "type", path, type_text, error) ||
        !read_field(object, "missing", path, out.missing, error) ||
        !read_field(object, "type_errors", path, out.type_errors, error) ||
        !read_field(object, "distinct_values", path, out.distinct_values, error))
        return false;
    const auto type = parse_feature_type(type_text);
    if (!type) {
        error = fmt::format("{}.type: \"{}\" is not numeric, categorical or boolean", path, type_text);
        return false;
    }
    out.type = *type;
    out.rows = rows;
    if (out.missing + out.type_errors > rows) {
        error = fmt::format("{}: missing + type_errors is more than the reference's {} rows", path, rows);
        return false;
    }
    if (out.type == FeatureType::numeric) {
        if (out.valid() == 0) return true;
        return read_field(object, "min", path, out.min, error) && read_field(object, "max", path, out.max, error) &&
               read_field(object, "quantile_low", path, out.quantile_low, error) &&
               read_field(object, "quantile_high", path, out.quantile_high, error);
    }
    const auto categories = object.find("categories");
    if (categories == object.end() || !categories->is_object()) {
        error = fmt::format("{}.categories: expected an object of counts", path);
        return false;
    }
    std::size_t total = 0;
    for (const auto& item : categories->items()) {
        if (!item.value().is_number_unsigned()) {
            error = fmt::format("{}.categories.{}: expected a non-negative integer", path, item.key());
            return false;
        }
        const auto count = item.value().get<std::size_t>();
        total += count;
        out.categories.emplace(item.key(), count);
    }
    if (total != out.valid()) {
        error = fmt::format("{}.categories: the counts add up to {}, but the feature has {} valid values", path, total,
                            out.valid());
        return false;
    }
    return true;
}

}  // namespace

double FeatureReference::missing_rate() const { return share(missing, rows); }

const FeatureReference* QualityReference::find(std::string_view name) const {
    for (const auto& feature : features)
        if (feature.name == name) return &feature;
    return nullptr;
}

QualityReference fit_quality_reference(const ModelSchema& schema, const std::vector<json>& rows,
                                       double range_quantile) {
    QualityReference reference;
    reference.rows = rows.size();
    // Outside [0, 0.5] the quantile position would leave the sorted values.
    reference.range_quantile = range_quantile >= 0 ? std::min(range_quantile, 0.5) : 0.0;
    range_quantile = reference.range_quantile;
    std::vector<FeatureWindow> windows = scan_features(rows, schema, 0);
    for (std::size_t f = 0; f < windows.size(); ++f) {
        const FeatureSpec& spec = schema.features[f];
        FeatureWindow& window = windows[f];
        FeatureReference feature;
        feature.name = spec.name;
        feature.type = spec.type;
        feature.rows = rows.size();
        feature.missing = window.missing;
        feature.type_errors = window.type_errors;
        if (spec.type == FeatureType::numeric) {
            std::vector<double>& sorted = window.numbers;
            std::sort(sorted.begin(), sorted.end());
            for (std::size_t i = 0; i < sorted.size(); ++i)
                feature.distinct_values += i == 0 || sorted[i] != sorted[i - 1];
            if (!sorted.empty()) {
                feature.min = sorted.front();
                feature.max = sorted.back();
                feature.quantile_low = quantile_linear(sorted, range_quantile);
                feature.quantile_high = quantile_linear(sorted, 1.0 - range_quantile);
            }
        } else {
            feature.distinct_values = window.categories.size();
            feature.categories = std::move(window.categories);
        }
        reference.features.push_back(std::move(feature));
    }
    return reference;
}

std::string to_json(const QualityReference& reference) {
    json features = json::array();
    for (const auto& feature : reference.features) {
        json object{{"name", feature.name},
                    {"type", to_string(feature.type)},
                    {"missing", feature.missing},
                    {"type_errors", feature.type_errors},
                    {"distinct_values", feature.distinct_values}};
        if (feature.type == FeatureType::numeric) {
            if (feature.valid() > 0) {
                object["min"] = feature.min;
                object["max"] = feature.max;
                object["quantile_low"] = feature.quantile_low;
                object["quantile_high"] = feature.quantile_high;
            }
        } else {
            json categories = json::object();
            for (const auto& [category, count] : feature.categories) categories[category] = count;
            object["categories"] = std::move(categories);
        }
        features.push_back(std::move(object));
    }
    const json document{{"version", 1},
                        {"rows", reference.rows},
                        {"range_quantile", reference.range_quantile},
                        {"features", std::move(features)}};
    return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

QualityReferenceParse parse_quality_reference(std::string_view text) {
    QualityReferenceParse result;
    const json document = json::parse(text, nullptr, false);
    if (document.is_discarded()) {
        result.error = "not valid JSON";
        return result;
    }
    if (!document.is_object()) {
        result.error = "expected a JSON object";
        return result;
    }
    std::size_t version = 0;
    QualityReference reference;
    if (!read_field(document, "version", "", version, result.error)) return result;
    if (version != 1) {
        result.error = fmt::format("version: {} is not a known version (1)", version);
        return result;
    }
    if (!read_field(document, "rows", "", reference.rows, result.error) ||
        !read_field(document, "range_quantile", "", reference.range_quantile, result.error))
        return result;
    const auto features = document.find("features");
    if (features == document.end() || !features->is_array()) {
        result.error = "features: expected an array";
        return result;
    }
    for (std::size_t i = 0; i < features->size(); ++i) {
        FeatureReference feature;
        if (!read_feature((*features)[i], fmt::format("features[{}]", i), reference.rows, feature, result.error))
            return result;
        reference.features.push_back(std::move(feature));
    }
    result.reference = std::move(reference);
    return result;
}

std::string QualityCheck::subject() const { return feature.empty() ? check : feature + ":" + check; }

const QualityCheck* QualityReport::find(std::string_view feature, std::string_view check) const {
    for (const auto& item : checks)
        if (item.feature == feature && item.check == check) return &item;
    return nullptr;
}

std::optional<double> QualityReport::metric(std::string_view name, std::string_view feature) const {
    for (const auto& item : metrics)
        if (item.name == name && item.feature == feature) return item.value;
    return std::nullopt;
}

QualityReport evaluate_quality(const QualityReference& reference, const ModelSchema& schema,
                               const std::vector<json>& rows, const std::vector<std::string>& ids,
                               const DataQualityOptions& options) {
    QualityReport report;
    report.rows = rows.size();
    if (rows.empty()) return report;
    ReportBuilder out(report);
    out.metric("rows", "", static_cast<double>(rows.size()));
    const std::vector<FeatureWindow> windows = scan_features(rows, schema, options.max_reported_values);
    for (std::size_t f = 0; f < windows.size(); ++f) {
        const FeatureSpec& spec = schema.features[f];
        evaluate_feature(spec, reference.find(spec.name), windows[f], rows.size(), options, out);
    }
    evaluate_schema(schema, rows, options, out);
    if (!ids.empty()) evaluate_duplicate_ids(ids, options, out);
    return report;
}

std::vector<Finding> to_findings(const QualityReport& report, const std::string& model, std::int64_t window_start_us,
                                 std::int64_t window_end_us) {
    std::vector<Finding> findings;
    findings.reserve(report.checks.size());
    for (const auto& check : report.checks) {
        Finding finding;
        finding.model = model;
        finding.kind = "data_quality";
        finding.subject = check.subject();
        finding.method = check.check;
        finding.statistic = check.statistic;
        finding.threshold = check.threshold;
        finding.triggered = check.triggered;
        finding.severity = check.triggered ? Severity::warning : Severity::info;
        finding.window_start_us = window_start_us;
        finding.window_end_us = window_end_us;
        finding.evidence_json = check.evidence.dump(-1, ' ', false, json::error_handler_t::replace);
        findings.push_back(std::move(finding));
    }
    return findings;
}

}  // namespace mw::quality
