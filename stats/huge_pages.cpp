#include "stats/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace mw::stats {

namespace {
constexpr std::uintptr_t huge_page_bytes = std::uintptr_t{2} << 20;
constexpr std::size_t huge_page_hint_min_bytes = std::size_t{4} << 20;
}  // namespace

void prefer_huge_pages(const void* data, std::size_t bytes) {
    if (data == nullptr || bytes < huge_page_hint_min_bytes) return;
    const auto begin = reinterpret_cast<std::uintptr_t>(data);
    const std::uintptr_t first = (begin + huge_page_bytes - 1) & ~(huge_page_bytes - 1);
    const std::uintptr_t last = (begin + bytes) & ~(huge_page_bytes - 1);
    if (last <= first) return;
    // A hint: a kernel without THP (EINVAL) just keeps small pages.
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

}  // namespace mw::stats
