#include "store/copy_encoding.h"

#include <array>
#include <charconv>
#include <cmath>
#include <string_view>
#include <vector>

namespace mw::store {
namespace {

constexpr std::string_view copy_null = "\\N";
// U+FFFD REPLACEMENT CHARACTER, written instead of a NUL byte (see the header).
constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

// Bytes that COPY text format escapes (backslash, tab, newline, carriage
// return) plus NUL, which PostgreSQL text cannot hold.
constexpr std::array<bool, 256> make_copy_special() {
    std::array<bool, 256> special{};
    for (unsigned char c : {'\\', '\t', '\n', '\r', '\0'}) special[c] = true;
    return special;
}
constexpr auto copy_special = make_copy_special();

// Bytes that a JSON string (RFC 8259 section 7) must escape: quotation mark,
// reverse solidus and the control characters U+0000-U+001F.
constexpr std::array<bool, 256> make_json_special() {
    std::array<bool, 256> special{};
    for (int c = 0; c < 0x20; ++c) special[c] = true;
    special['"'] = true;
    special['\\'] = true;
    return special;
}
constexpr auto json_special = make_json_special();

// A text field, COPY-escaped.
void append_copy_text(std::string_view text, std::string& out) {
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (!copy_special[c]) continue;
        out.append(text.data() + run_start, i - run_start);
        run_start = i + 1;
        switch (c) {
            case '\\': out.append("\\\\"); break;
            case '\t': out.append("\\t"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            default: out.append(replacement_character); break;
        }
    }
    out.append(text.data() + run_start, text.size() - run_start);
}

// A JSON string literal (with its quotes) inside a COPY field: JSON escaping
// first, then COPY escaping of its result. JSON escaping leaves no tab,
// newline or carriage return, so the COPY step only doubles each backslash
// the JSON step wrote.
void append_json_string(std::string_view text, std::string& out) {
    static constexpr char hex_digits[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (!json_special[c]) continue;
        out.append(text.data() + run_start, i - run_start);
        run_start = i + 1;
        switch (c) {
            case '"': out.append("\\\\\""); break;
            case '\\': out.append("\\\\\\\\"); break;
            case '\b': out.append("\\\\b"); break;
            case '\f': out.append("\\\\f"); break;
            case '\n': out.append("\\\\n"); break;
            case '\r': out.append("\\\\r"); break;
            case '\t': out.append("\\\\t"); break;
            case '\0': out.append(replacement_character); break;
            default:
                out.append("\\\\u00");
                out.push_back(hex_digits[c >> 4]);
                out.push_back(hex_digits[c & 0xF]);
                break;
        }
    }
    out.append(text.data() + run_start, text.size() - run_start);
    out.push_back('"');
}

// Shortest round-trip text of a finite double; both JSON numbers and
// PostgreSQL double precision input accept std::to_chars' output.
void append_finite_double(double value, std::string& out) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
}

// A double precision COPY field: the spellings float8in accepts for the
// non-finite values.
void append_sql_double(double value, std::string& out) {
    if (std::isnan(value))
        out.append("NaN");
    else if (std::isinf(value))
        out.append(value > 0 ? "Infinity" : "-Infinity");
    else
        append_finite_double(value, out);
}

void append_json_value(const Value& value, std::string& out) {
    switch (value.index()) {
        case 0: out.append("null"); break;
        case 1: {
            const double number = std::get<double>(value);
            if (std::isfinite(number))
                append_finite_double(number, out);
            else
                out.append("null");
            break;
        }
        case 2: out.append(std::get<bool>(value) ? "true" : "false"); break;
        default: append_json_string(std::get<std::string>(value), out); break;
    }
}

void append_optional_text(const std::optional<std::string>& text, std::string& out) {
    if (text)
        append_copy_text(*text, out);
    else
        out.append(copy_null);
}

void append_optional_double(const std::optional<double>& value, std::string& out) {
    if (value)
        append_sql_double(*value, out);
    else
        out.append(copy_null);
}

void append_digits(unsigned value, int width, char* at) {
    for (int i = width - 1; i >= 0; --i) {
        at[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

struct CivilDate {
    std::int64_t year;
    unsigned month;  // 1-12
    unsigned day;    // 1-31
};

// Proleptic Gregorian date of a day count since 1970-01-01: Howard Hinnant,
// "chrono-Compatible Low-Level Date Algorithms", civil_from_days
// (https://howardhinnant.github.io/date_algorithms.html#civil_from_days).
// Valid for every int64 microsecond timestamp, unlike std::chrono::year.
CivilDate civil_from_days(std::int64_t days) {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto day_of_era = static_cast<unsigned>(days - era * 146097);
    const unsigned year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const unsigned shifted_month = (5 * day_of_year + 2) / 153;
    const unsigned day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    const unsigned month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
    return {static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// The per-batch prefix of every row (the escaped model and a tab) and the
// received_at field, computed once per batch.
struct BatchConstants {
    std::string model_field;
    std::string received_at_field;
};

BatchConstants batch_constants(std::string_view model, std::int64_t received_us) {
    BatchConstants constants;
    append_copy_text(model, constants.model_field);
    constants.model_field.push_back('\t');
    append_rfc3339_us(received_us, constants.received_at_field);
    return constants;
}

}  // namespace

void append_rfc3339_us(std::int64_t ts_us, std::string& out) {
    constexpr std::int64_t us_per_day = 86'400'000'000;
    // Floor division, written so that it cannot overflow at INT64_MIN.
    std::int64_t days = ts_us / us_per_day;
    std::int64_t us_of_day = ts_us % us_per_day;
    if (us_of_day < 0) {
        us_of_day += us_per_day;
        days -= 1;
    }
    const auto date = civil_from_days(days);
    const auto second_of_day = static_cast<unsigned>(us_of_day / 1'000'000);

    // PostgreSQL rejects year 0000 (RFC 3339's 1 BC) and takes "0001 ... BC".
    const bool before_christ = date.year <= 0;
    char year[24];
    const auto year_end =
        std::to_chars(year, year + sizeof year, before_christ ? 1 - date.year : date.year).ptr;
    for (auto digits = year_end - year; digits < 4; ++digits) out.push_back('0');
    out.append(year, year_end);

    char text[] = "-00-00T00:00:00.000000Z";
    append_digits(date.month, 2, text + 1);
    append_digits(date.day, 2, text + 4);
    append_digits(second_of_day / 3600, 2, text + 7);
    append_digits(second_of_day / 60 % 60, 2, text + 10);
    append_digits(second_of_day % 60, 2, text + 13);
    append_digits(static_cast<unsigned>(us_of_day % 1'000'000), 6, text + 16);
    out.append(text, sizeof text - 1);
    if (before_christ) out.append(" BC");
}

void append_prediction_rows(const PredictionBatch& batch, const ModelSchema& schema, std::int64_t received_us,
                            std::string& out) {
    const auto constants = batch_constants(batch.model, received_us);

    // The declared features' keys as they appear in every row: `"name":`
    // (the leading comma is added per row).
    std::string keys;
    std::vector<std::size_t> key_ends;
    key_ends.reserve(schema.features.size());
    for (const auto& feature : schema.features) {
        append_json_string(feature.name, keys);
        keys.push_back(':');
        key_ends.push_back(keys.size());
    }

    for (const auto& record : batch.records) {
        out.append(constants.model_field);
        append_copy_text(record.id, out);
        out.push_back('\t');
        append_rfc3339_us(record.ts_us, out);
        out.push_back('\t');
        if (record.model_version.empty())
            out.append(copy_null);
        else
            append_copy_text(record.model_version, out);
        out.push_back('\t');

        out.push_back('{');
        std::size_t key_start = 0;
        for (std::size_t i = 0; i < key_ends.size(); ++i) {
            if (i > 0) out.push_back(',');
            out.append(keys, key_start, key_ends[i] - key_start);
            key_start = key_ends[i];
            if (i < record.features.size())
                append_json_value(record.features[i], out);
            else
                out.append("null");
        }
        bool first = key_ends.empty();
        for (const auto& [name, value] : record.undeclared_features) {
            if (!first) out.push_back(',');
            first = false;
            append_json_string(name, out);
            out.push_back(':');
            append_json_value(value, out);
        }
        out.append("}\t");

        append_optional_text(record.label, out);
        out.push_back('\t');
        append_optional_double(record.value, out);
        out.push_back('\t');
        append_optional_double(record.score, out);
        out.push_back('\t');

        out.push_back('{');
        first = true;
        for (const auto& [name, value] : record.attributes) {
            if (!first) out.push_back(',');
            first = false;
            append_json_string(name, out);
            out.push_back(':');
            append_json_string(value, out);
        }
        out.append("}\t");

        out.append(constants.received_at_field);
        out.push_back('\n');
    }
}

void append_outcome_rows(const OutcomeBatch& batch, std::int64_t received_us, std::string& out) {
    const auto constants = batch_constants(batch.model, received_us);
    for (const auto& record : batch.records) {
        out.append(constants.model_field);
        append_copy_text(record.id, out);
        out.push_back('\t');
        append_rfc3339_us(record.ts_us, out);
        out.push_back('\t');
        append_optional_text(record.label, out);
        out.push_back('\t');
        append_optional_double(record.value, out);
        out.push_back('\t');
        out.append(constants.received_at_field);
        out.push_back('\n');
    }
}

}  // namespace mw::store
