// A column of text cells held as dictionary codes: each distinct text is
// stored once and a row is a 4-byte index into the dictionary. A CSV's
// categorical column of a million rows and a handful of values takes 4 MB
// instead of 32 MB of std::string headers (plus their heap copies), and
// counting categories is a count per code, not a string comparison per row.
// Reads like a vector of texts (size, operator[], iteration give
// string_views), so code written for std::vector<std::string> mostly reads
// it unchanged; a column of all-distinct texts costs about 90 bytes a row
// instead of 32, the price of the index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mw::drift {

class TextColumn {
public:
    TextColumn() = default;
    TextColumn(std::initializer_list<std::string_view> texts);
    // From texts held one string per row (tables built in code and tests).
    TextColumn(const std::vector<std::string>& texts);  // NOLINT(google-explicit-constructor)
    TextColumn(const TextColumn& other);
    TextColumn& operator=(const TextColumn& other);
    TextColumn(TextColumn&&) noexcept = default;
    TextColumn& operator=(TextColumn&&) noexcept = default;

    std::size_t size() const { return codes_.size(); }
    bool empty() const { return codes_.empty(); }
    std::string_view operator[](std::size_t row) const { return dictionary_[codes_[row]]; }

    void push_back(std::string_view text) { codes_.push_back(code_of(text)); }
    void emplace_back(std::string_view text) { push_back(text); }
    void set(std::size_t row, std::string_view text) { codes_[row] = code_of(text); }
    // `rows` rows of `text`, replacing what the column held.
    void assign(std::size_t rows, std::string_view text);
    void reserve(std::size_t rows) { codes_.reserve(rows); }
    std::size_t capacity() const { return codes_.capacity(); }

    // The distinct texts in first-seen order (stable: appending never moves
    // one), and each row's index into them.
    std::size_t distinct() const { return dictionary_.size(); }
    std::string_view text(std::uint32_t code) const { return dictionary_[code]; }
    const std::vector<std::uint32_t>& codes() const { return codes_; }

    class const_iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = std::string_view;
        const_iterator() = default;
        const_iterator(const TextColumn* column, std::size_t row) : column_(column), row_(row) {}
        std::string_view operator*() const { return (*column_)[row_]; }
        const_iterator& operator++() {
            ++row_;
            return *this;
        }
        const_iterator operator++(int) {
            const_iterator before = *this;
            ++row_;
            return before;
        }
        bool operator==(const const_iterator& other) const { return row_ == other.row_; }

    private:
        const TextColumn* column_ = nullptr;
        std::size_t row_ = 0;
    };
    const_iterator begin() const { return {this, 0}; }
    const_iterator end() const { return {this, size()}; }

    friend bool operator==(const TextColumn& column, const std::vector<std::string>& texts);
    friend bool operator==(const TextColumn& a, const TextColumn& b);

private:
    std::uint32_t code_of(std::string_view text);
    void rebuild_index();

    std::deque<std::string> dictionary_;  // a deque: views into it stay valid as it grows
    std::unordered_map<std::string_view, std::uint32_t> index_;  // views into dictionary_
    std::vector<std::uint32_t> codes_;
};

}  // namespace mw::drift
