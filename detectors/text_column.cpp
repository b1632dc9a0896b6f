#include "detectors/text_column.h"

#include <limits>
#include <stdexcept>

namespace mw::drift {

namespace {
constexpr std::size_t text_column_linear_search_limit = 8;
}  // namespace

TextColumn::TextColumn(std::initializer_list<std::string_view> texts) {
    for (const std::string_view text : texts) push_back(text);
}

TextColumn::TextColumn(const std::vector<std::string>& texts) {
    codes_.reserve(texts.size());
    for (const std::string& text : texts) push_back(text);
}

// The index holds views into the other column's dictionary: rebuilt over ours.
TextColumn::TextColumn(const TextColumn& other) : dictionary_(other.dictionary_), codes_(other.codes_) {
    rebuild_index();
}

TextColumn& TextColumn::operator=(const TextColumn& other) {
    if (this != &other) {
        dictionary_ = other.dictionary_;
        codes_ = other.codes_;
        rebuild_index();
    }
    return *this;
}

void TextColumn::rebuild_index() {
    index_.clear();
    for (std::size_t code = 0; code < dictionary_.size(); ++code)
        index_.emplace(dictionary_[code], static_cast<std::uint32_t>(code));
}

std::uint32_t TextColumn::code_of(std::string_view text) {
    // A categorical column has a handful of values: comparing the text with
    // each (mostly a length check) is cheaper than hashing it.
    if (dictionary_.size() <= text_column_linear_search_limit) {
        for (std::size_t code = 0; code < dictionary_.size(); ++code)
            if (dictionary_[code] == text) return static_cast<std::uint32_t>(code);
    } else if (const auto it = index_.find(text); it != index_.end()) {
        return it->second;
    }
    if (dictionary_.size() == std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("text column with more than 2^32 - 1 distinct values");
    const auto code = static_cast<std::uint32_t>(dictionary_.size());
    dictionary_.emplace_back(text);
    index_.emplace(dictionary_.back(), code);
    return code;
}

void TextColumn::assign(std::size_t rows, std::string_view text) {
    codes_.clear();
    if (rows == 0) return;
    codes_.assign(rows, code_of(text));
}

bool operator==(const TextColumn& column, const std::vector<std::string>& texts) {
    if (column.size() != texts.size()) return false;
    for (std::size_t row = 0; row < texts.size(); ++row)
        if (column[row] != texts[row]) return false;
    return true;
}

bool operator==(const TextColumn& a, const TextColumn& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t row = 0; row < a.size(); ++row)
        if (a[row] != b[row]) return false;
    return true;
}

}  // namespace mw::drift
