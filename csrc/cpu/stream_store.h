// Row stores for the CPU kernels' large outputs. A normal store first reads the destination line into the cache
// (read-for-ownership), so writing an output the size of many caches moves its bytes twice; a non-temporal store
// writes them once and leaves the caches to the input. Measured on the forward (T = 8, N = 2^20, fp32, 2 threads,
// Zen 3): 15-20 % faster with the spikes streamed. Outputs that fit in the last-level cache are stored normally,
// since the next layer reads them back from there (T = 1, 4 MiB: streaming was ~10 % slower). The backward keeps
// normal stores: streaming grad_x needed a staging buffer that cost more than it saved (measured).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fastlif {

// Outputs of at least this many bytes are streamed (a third of a 2-core VM's 32 MiB L3 is left to the inputs).
constexpr int64_t kStreamBytes = int64_t(16) << 20;

// dst[0:n) = src[0:n), streamed when `stream` (16-byte non-temporal stores from the first aligned byte; the
// unaligned head and tail are copied normally).
template <typename E>
inline void store_row(const E* src, int64_t n, E* dst, bool stream) {
  const int64_t bytes = n * int64_t(sizeof(E));
#if defined(__SSE2__)
  auto* d = reinterpret_cast<char*>(dst);
  const auto* s = reinterpret_cast<const char*>(src);
  const int64_t head = int64_t((16 - (reinterpret_cast<uintptr_t>(d) & 15)) & 15);
  if (stream && head <= bytes) {
    std::memcpy(d, s, head);
    int64_t i = head;
    for (; i + 16 <= bytes; i += 16) {
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
    }
    std::memcpy(d + i, s + i, bytes - i);
    return;
  }
#endif
  std::memcpy(dst, src, bytes);
}

// Orders this thread's streamed stores before what follows (the end of the parallel region hands the output on).
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace fastlif
