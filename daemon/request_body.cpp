#include "daemon/request_body.h"

#include <boost/system/error_code.hpp>
#include <prometheus/gauge.h>

namespace mw::daemon {

BodyBudget::BodyBudget(std::uint64_t limit_bytes, prometheus::Gauge* in_use) : limit_(limit_bytes), in_use_(in_use) {}

bool BodyBudget::try_charge(std::uint64_t bytes) {
    std::uint64_t current = used_.load();
    do {
        if (current + bytes > limit_) return false;
    } while (!used_.compare_exchange_weak(current, current + bytes));
    if (in_use_) in_use_->Increment(static_cast<double>(bytes));
    return true;
}

void BodyBudget::release(std::uint64_t bytes) {
    used_ -= bytes;
    if (in_use_) in_use_->Decrement(static_cast<double>(bytes));
}

bool BodyCharge::grow(std::uint64_t bytes) {
    if (!budget_.try_charge(bytes)) return false;
    bytes_ += bytes;
    return true;
}

void BodyCharge::release() {
    if (bytes_ == 0) return;
    budget_.release(bytes_);
    bytes_ = 0;
}

boost::beast::error_code body_budget_exhausted() {
    return boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
}

bool BudgetedStringBody::reader::reserve(std::uint64_t needed, boost::beast::error_code& ec) {
    std::string& text = body_.text;
    if (needed <= text.capacity()) return true;
    if (body_.charge == nullptr) {
        ec = body_budget_exhausted();
        return false;
    }
    // Double, at least to what is needed, at most to the declared length
    // (the parser has already refused anything past it or past the body limit).
    std::uint64_t target = std::max<std::uint64_t>({needed, 2 * static_cast<std::uint64_t>(text.capacity()),
                                                    initial_bytes});
    if (declared_) target = std::max(needed, std::min(target, *declared_));
    // Charged by capacity, the memory really held; a fresh string reserves
    // exactly what it is asked for (std::string::reserve on a grown one may round up).
    const std::uint64_t charged_before = body_.charge->bytes();
    if (target > charged_before && !body_.charge->grow(target - charged_before)) {
        ec = body_budget_exhausted();
        return false;
    }
    std::string grown;
    grown.reserve(static_cast<std::size_t>(target));
    grown.append(text);
    text.swap(grown);
    return true;
}

}  // namespace mw::daemon
