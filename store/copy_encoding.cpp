#include "store/copy_encoding.h"

#include <array>
#include <charconv>
#include <cmath>
#include <string_view>
#include <vector>

#include "core/time.h"

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

// Appends `text` with each byte `special` marks written by `escape(byte,
// out)` and the runs between them copied whole (one append per run: this is
// the hot path).
template <typename Escape>
void append_escaped(std::string_view text, const std::array<bool, 256>& special, std::string& out, Escape escape) {
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (!special[c]) continue;
        out.append(text.data() + run_start, i - run_start);
        run_start = i + 1;
        escape(c, out);
    }
    out.append(text.data() + run_start, text.size() - run_start);
}

// A text field, COPY-escaped.
void append_copy_text(std::string_view text, std::string& out) {
    append_escaped(text, copy_special, out, [](unsigned char c, std::string& escaped) {
        switch (c) {
            case '\\': escaped.append("\\\\"); break;
            case '\t': escaped.append("\\t"); break;
            case '\n': escaped.append("\\n"); break;
            case '\r': escaped.append("\\r"); break;
            default: escaped.append(replacement_character); break;
        }
    });
}

// A JSON string literal (with its quotes) inside a COPY field: JSON escaping
// first, then COPY escaping of its result. JSON escaping leaves no tab,
// newline or carriage return, so the COPY step only doubles each backslash
// the JSON step wrote.
void append_json_string(std::string_view text, std::string& out) {
    static constexpr char hex_digits[] = "0123456789abcdef";
    out.push_back('"');
    append_escaped(text, json_special, out, [](unsigned char c, std::string& escaped) {
        switch (c) {
            case '"': escaped.append("\\\\\""); break;
            case '\\': escaped.append("\\\\\\\\"); break;
            case '\b': escaped.append("\\\\b"); break;
            case '\f': escaped.append("\\\\f"); break;
            case '\n': escaped.append("\\\\n"); break;
            case '\r': escaped.append("\\\\r"); break;
            case '\t': escaped.append("\\\\t"); break;
            case '\0': escaped.append(replacement_character); break;
            default:
                escaped.append("\\\\u00");
                escaped.push_back(hex_digits[c >> 4]);
                escaped.push_back(hex_digits[c & 0xF]);
                break;
        }
    });
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
    append_timestamptz_us(received_us, constants.received_at_field);
    return constants;
}

}  // namespace

void append_timestamptz_us(std::int64_t ts_us, std::string& out) {
    constexpr std::int64_t first_ad_us = -62'135'596'800'000'000;  // 0001-01-01T00:00:00Z
    const std::size_t start = out.size();
    mw::append_rfc3339_us(ts_us, out);
    if (ts_us >= first_ad_us) return;
    // PostgreSQL rejects year 0000 (RFC 3339's 1 BC) and negative years, and
    // takes "0001-...Z BC": astronomical year y <= 0 is year 1 - y BC, in the
    // same proleptic Gregorian calendar, so only the year's text changes.
    const bool negative = out[start] == '-';
    const std::size_t digits_start = start + (negative ? 1 : 0);
    const std::size_t year_end = out.find('-', digits_start);
    std::int64_t year = 0;
    std::from_chars(out.data() + digits_start, out.data() + year_end, year);
    std::string bc_year = std::to_string(1 + (negative ? year : -year));
    if (bc_year.size() < 4) bc_year.insert(0, 4 - bc_year.size(), '0');
    out.replace(start, year_end - start, bc_year);
    out.append(" BC");
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
        append_timestamptz_us(record.ts_us, out);
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
        append_timestamptz_us(record.ts_us, out);
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
