// Transparent-huge-page advice for fresh, large CPU outputs. A fresh [T, N] output is served by glibc as a new
// mmap and every 4 KiB page of it faults on first touch; on the VMs this project is measured on, those faults
// cost 3–6× the time of writing the data (a 32 MiB copy: 3 ms into warm memory, 19 ms into fresh memory, 6 ms
// into fresh memory advised MADV_HUGEPAGE). Where THP runs in "madvise" mode (a common default), nothing else asks
// for huge pages. Only whole 2 MiB pages inside the buffer are advised, so no neighbouring allocation is touched.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fastlif {

constexpr size_t kHugePage = size_t(1) << 21;
// Below a few huge pages the advice (a system call) gains little.
constexpr size_t kAdviseMinBytes = 4 * kHugePage;

// v rounded up to a whole number of huge pages (a size, or an address to a huge-page boundary).
constexpr uintptr_t round_up_to_huge_page(uintptr_t v) { return (v + kHugePage - 1) & ~uintptr_t(kHugePage - 1); }

inline void advise_huge_pages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes < kAdviseMinBytes) return;
  const uintptr_t begin = round_up_to_huge_page(reinterpret_cast<uintptr_t>(p));
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHugePage - 1);
  // Advice only: where THP is off or the call fails, the pages are ordinary ones.
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace fastlif
