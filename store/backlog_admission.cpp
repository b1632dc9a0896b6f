#include "store/backlog_admission.h"

#include <algorithm>
#include <cmath>

namespace mw::store {

void BacklogAdmission::backlog_began(std::int64_t now_us) {
    if (!store_unreachable_ && busy_since_us_ == 0) busy_since_us_ = now_us;
}

void BacklogAdmission::drained(std::uint64_t bytes, bool backlog_left, std::int64_t now_us) {
    const std::int64_t busy_us = busy_since_us_ == 0 ? 0 : now_us - busy_since_us_;
    // An interval that is not positive (a clock that went back) or longer than
    // a stall (a suspend, an outage the drain did not report) measures
    // nothing about the drain: no sample.
    if (busy_us > 0 && busy_us <= drain_stall_us && bytes > 0) {
        samples_.push_back({now_us, bytes, busy_us});
        while (samples_.size() > 1 && samples_.front().end_us < now_us - rate_window_us) samples_.pop_front();
    }
    store_unreachable_ = false;
    busy_since_us_ = backlog_left ? now_us : 0;
}

void BacklogAdmission::store_unreachable() {
    store_unreachable_ = true;
    busy_since_us_ = 0;
}

bool BacklogAdmission::drain_interrupted(std::int64_t now_us) const {
    return store_unreachable_ || (busy_since_us_ != 0 && now_us - busy_since_us_ > drain_stall_us);
}

double BacklogAdmission::drain_bytes_per_second(std::int64_t now_us) const {
    std::uint64_t bytes = 0;
    std::int64_t busy_us = 0;
    for (auto it = samples_.rbegin(); it != samples_.rend(); ++it) {
        // The newest sample counts whatever its age: the last rate seen is a
        // better estimate after an idle spell than none.
        if (it != samples_.rbegin() && it->end_us < now_us - rate_window_us) break;
        bytes += it->bytes;
        busy_us += it->busy_us;
    }
    return busy_us > 0 ? static_cast<double>(bytes) * 1e6 / static_cast<double>(busy_us) : 0.0;
}

AdmissionVerdict BacklogAdmission::judge(std::uint64_t counted_backlog_bytes, std::int64_t now_us) const {
    AdmissionVerdict verdict;
    const double rate = drain_bytes_per_second(now_us);
    if (rate > 0) verdict.backlog_seconds = static_cast<double>(counted_backlog_bytes) / rate;
    if (max_backlog_seconds_ == 0 || rate <= 0 || drain_interrupted(now_us)) return verdict;
    const double limit_bytes = rate * max_backlog_seconds_;
    const double excess_bytes = static_cast<double>(counted_backlog_bytes) - limit_bytes;
    if (excess_bytes <= 0) return verdict;
    verdict.admit = false;
    const double wait = std::ceil(excess_bytes / rate);
    verdict.retry_after_seconds =
        static_cast<std::uint32_t>(std::clamp(wait, 1.0, static_cast<double>(max_retry_after_seconds)));
    return verdict;
}

}  // namespace mw::store
