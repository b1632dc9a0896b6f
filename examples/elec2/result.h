// The outcome of reading or computing something from input that may be bad:
// either a value or a message naming what was wrong and where.
#pragma once

#include <string>
#include <utility>

namespace mw::elec2 {

template <typename T>
struct Result {
    T value{};
    std::string error;  // empty on success

    bool ok() const { return error.empty(); }
    static Result failure(std::string message) {
        Result result;
        result.error = std::move(message);
        return result;
    }
};

}  // namespace mw::elec2
