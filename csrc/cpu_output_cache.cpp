// The CPU output cache: the memory of the ops' large CPU outputs (spikes, membranes, dL/dx, states), kept for
// reuse when the tensors die, as PyTorch's CUDA caching allocator keeps device memory.
//
// Why: glibc serves an allocation this large with a fresh mmap and unmaps it on free, so every [T, N] output of
// every call first-touch faults each of its pages. On the VMs measured here that costs more than the kernel that
// writes the output (T = 8, N = 2^20, fp32 forward+backward: 22 ms with fresh outputs, 5.7 ms with reused ones),
// while a loop of per-step [N] tensors stays below glibc's threshold and reuses warm memory. A training step
// allocates the same shapes every step, so exact-size reuse serves it.
//
// Blocks are whole 2 MiB pages, mapped directly and advised onto transparent huge pages (cpu/huge_pages.h). Idle
// blocks are bounded by the limit (FASTLIF_CPU_CACHE_MIB, default min(2 GiB, RAM / 8)); past it the oldest are
// unmapped. Allocations under kMinCached, a limit of 0 and non-Linux systems use torch's CPU allocator.
#include "cpu_output_cache.h"

#include <ATen/EmptyTensor.h>
#include <c10/core/CPUAllocator.h>
#include <torch/library.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "cpu/huge_pages.h"

namespace fastlif {
namespace {

// Smaller allocations are reused warm by glibc's heap already.
constexpr size_t kMinCached = size_t(1) << 20;

struct Block {
  void* ptr;
  size_t bytes;
};

size_t default_limit() {
  size_t ram = 0;
#if defined(__linux__)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) ram = size_t(pages) * size_t(page);
#endif
  return std::min(size_t(2) << 30, ram / 8);
}

// FASTLIF_CPU_CACHE_MIB, or the default; a value that is not a whole number of MiB is an error naming it.
size_t limit_from_env() {
  const char* v = std::getenv("FASTLIF_CPU_CACHE_MIB");
  if (v == nullptr || *v == '\0') return default_limit();
  char* end = nullptr;
  errno = 0;
  const long long mib = std::strtoll(v, &end, 10);
  TORCH_CHECK_VALUE(*end == '\0' && errno == 0 && mib >= 0 && mib < (1LL << 40),
                    "fastlif: FASTLIF_CPU_CACHE_MIB must be a whole number of MiB >= 0, got '", v, "'");
  return size_t(mib) << 20;
}

class OutputCache final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) override {
#if defined(__linux__)
    if (n >= kMinCached) {
      const size_t bytes = round_up_to_huge_page(n);
      bool enabled = false;
      Block* b = take(bytes, enabled);
      if (b == nullptr && enabled) b = map(bytes);
      if (b != nullptr) return {b->ptr, b, &OutputCache::release, c10::Device(c10::DeviceType::CPU)};
    }
#endif
    return c10::GetCPUAllocator()->allocate(n);
  }

  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }

  std::vector<int64_t> stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {int64_t(idle_bytes_), int64_t(limit()), hits_, misses_};
  }

  void set_limit(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = bytes;
    limit_read_ = true;
    trim(limit_);
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mutex_);
    trim(0);
  }

  static OutputCache& instance() {
    // Never destroyed: tensors still alive at exit hand their blocks back through release().
    static OutputCache* cache = [] {
#if defined(__linux__)
      // A child forked while another thread held the lock (a DataLoader worker) would wait on it forever.
      pthread_atfork([] { instance().mutex_.lock(); }, [] { instance().mutex_.unlock(); },
                     [] { instance().mutex_.unlock(); });
#endif
      return new OutputCache;
    }();
    return *cache;
  }

 private:
  // Under the lock: the limit, read from the environment on first use.
  size_t limit() {
    if (!limit_read_) {
      limit_ = limit_from_env();
      limit_read_ = true;
    }
    return limit_;
  }

  // The most recently released idle block of exactly `bytes`, or nullptr (a miss, or caching is off: !enabled).
  Block* take(size_t bytes, bool& enabled) {
    std::lock_guard<std::mutex> lock(mutex_);
    enabled = limit() > 0;
    if (!enabled) return nullptr;
    for (size_t i = idle_.size(); i-- > 0;) {
      if (idle_[i]->bytes == bytes) {
        Block* b = idle_[i];
        idle_.erase(idle_.begin() + int64_t(i));
        idle_bytes_ -= bytes;
        ++hits_;
        return b;
      }
    }
    ++misses_;
    return nullptr;
  }

  static Block* map(size_t bytes) {
#if defined(__linux__)
    // Over-map by one huge page and cut to a 2 MiB boundary, so every page of the block can be a huge one.
    const size_t span = bytes + kHugePage;
    void* p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;  // torch's allocator then tries, and reports the failure its own way
    const uintptr_t base = reinterpret_cast<uintptr_t>(p);
    const uintptr_t begin = round_up_to_huge_page(base);
    if (begin > base) munmap(p, begin - base);
    const uintptr_t end = begin + bytes, stop = base + span;
    if (stop > end) munmap(reinterpret_cast<void*>(end), stop - end);
    void* block = reinterpret_cast<void*>(begin);
    advise_huge_pages(block, bytes);
    return new Block{block, bytes};
#else
    (void)bytes;
    return nullptr;
#endif
  }

  static void unmap(Block* b) {
#if defined(__linux__)
    munmap(b->ptr, b->bytes);
#endif
    delete b;
  }

  static void release(void* ctx) { instance().put(static_cast<Block*>(ctx)); }

  void put(Block* b) {
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t cap = limit();
    if (b->bytes > cap) {
      unmap(b);
      return;
    }
    idle_.push_back(b);
    idle_bytes_ += b->bytes;
    trim(cap);
  }

  // Under the lock: unmap the oldest idle blocks until at most `cap` bytes are idle.
  void trim(size_t cap) {
    size_t drop = 0;
    while (idle_bytes_ > cap) {
      idle_bytes_ -= idle_[drop]->bytes;
      unmap(idle_[drop++]);
    }
    idle_.erase(idle_.begin(), idle_.begin() + int64_t(drop));
  }

  std::mutex mutex_;
  std::vector<Block*> idle_;  // oldest first
  size_t idle_bytes_ = 0;
  size_t limit_ = 0;
  bool limit_read_ = false;
  int64_t hits_ = 0, misses_ = 0;
};

std::vector<int64_t> cpu_cache_stats() { return OutputCache::instance().stats(); }

void set_cpu_cache_limit(int64_t bytes) {
  TORCH_CHECK_VALUE(bytes >= 0, "fastlif: the CPU cache limit must be >= 0 bytes, got ", bytes);
  OutputCache::instance().set_limit(size_t(bytes));
}

void empty_cpu_cache() { OutputCache::instance().empty(); }

}  // namespace

at::Tensor cached_empty_strided(at::IntArrayRef sizes, at::IntArrayRef strides, at::ScalarType dtype) {
  return at::detail::empty_strided_generic(sizes, strides, &OutputCache::instance(),
                                           c10::DispatchKeySet(c10::DispatchKey::CPU), dtype);
}

TORCH_LIBRARY_FRAGMENT(fastlif, m) {
  m.def("cpu_cache_stats() -> int[]", &cpu_cache_stats);
  m.def("set_cpu_cache_limit(int bytes) -> ()", &set_cpu_cache_limit);
  m.def("empty_cpu_cache() -> ()", &empty_cpu_cache);
}

}  // namespace fastlif
