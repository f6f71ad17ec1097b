// CPU kernels for the multi-step LIF neuron on the `[T, N]` view, compiled once per instruction set: each
// lif_cpu_<isa>.cpp selects a target and includes this file into its own namespace fastlif::FASTLIF_CPU_ISA, so
// the copies never meet at link time (lif_cpu.cpp picks one when the library loads).
//
// Layout of the work: OpenMP threads take chunks of neurons; each chunk keeps its membranes in a local buffer and
// sweeps t, so the innermost loop runs over contiguous neurons and vectorises. (Looping neurons-outer, time-inner
// does not vectorise and was measured slower than a torch loop at N = 1M.)
//
// Traffic per neuron-step (w = element size, SPEC §9): forward reads x and writes s (+ h when someone returns it)
// = 2w; backward recomputes the chunk's membranes from x into a cache-resident buffer, then reads grad_s and
// writes grad_x = 3w — 5w in all, and one [T, N] output fewer to allocate and fault in than saving h.
#ifndef FASTLIF_CPU_ISA
#error "include lif_cpu_kernels.h from a lif_cpu_<isa>.cpp that defines FASTLIF_CPU_ISA"
#endif
#ifndef FASTLIF_CPU_F64
#define FASTLIF_CPU_F64 0
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <stdexcept>

#include "../lif_math.h"
#include "../lif_params.h"
#include "../lif_switch.h"
#include "half_types.h"

namespace fastlif {
namespace FASTLIF_CPU_ISA {
namespace {

// Neurons per chunk: each row of a chunk is one 16 KiB run of contiguous memory that the hardware prefetchers
// follow (512 measured 15-20 % slower in forward and backward, T = 8, Zen 3).
constexpr int64_t kChunk = 4096;
// The backward keeps T membranes per neuron of its chunk in fp32; this bounds that buffer to 256 KiB (half an L2)
// by shrinking the chunk for long sequences.
constexpr int64_t kRecomputeFloats = 65536;
// Below this many neuron-steps a parallel region costs more than it saves.
constexpr int64_t kSerialWork = 1 << 15;

template <typename Word, typename T>
Word bits_of(T v) {
  static_assert(sizeof(Word) == sizeof(T));
  Word w;
  std::memcpy(&w, &v, sizeof(T));
  return w;
}

int threads_for(int64_t work, int64_t chunks, int requested) {
  if (work < kSerialWork) return 1;
  return int(std::max<int64_t>(1, std::min<int64_t>(chunks, requested)));
}

template <typename scalar_t, typename acc_t, Reset R, bool SaveH>
void forward_kernel(const LifForwardArgs& a) {
  using St = Storage<scalar_t, acc_t>;
  const auto shared = scalars<acc_t>(a.opt);
  const auto* x = static_cast<const scalar_t*>(a.x);
  const auto* v0 = static_cast<const acc_t*>(a.v_init);
  // Spikes are stored as the element's bit pattern: a select of two integers vectorises, one of two 16-bit structs
  // need not.
  using Word = std::conditional_t<sizeof(scalar_t) == 2, uint16_t, scalar_t>;
  auto* s = static_cast<Word*>(a.s);
  const Word one = bits_of<Word>(St::from_acc(acc_t(1))), zero = bits_of<Word>(St::from_acc(acc_t(0)));
  auto* h = static_cast<scalar_t*>(a.h);
  auto* uT = static_cast<acc_t*>(a.u_final);
  const int64_t T = a.T, N = a.N;
  const int64_t chunks = (N + kChunk - 1) / kChunk;

#pragma omp parallel num_threads(threads_for(T * N, chunks, a.threads))
  {
    // A per-thread copy of the options: read through the shared one, GCC could not prove that the loop's stores
    // leave them unchanged and kept the hard-reset loops scalar.
    const Scalars<acc_t> c = shared;
#pragma omp for schedule(static)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t n0 = chunk * kChunk, len = std::min(kChunk, N - n0);
      acc_t u[kChunk];
      Word sb[kChunk];
      scalar_t hb[kChunk];
      for (int64_t i = 0; i < len; ++i) u[i] = v0 ? v0[n0 + i] : acc_t(0);
      for (int64_t t = 0; t < T; ++t) {
        const int64_t row = t * N + n0;
        for (int64_t i = 0; i < len; ++i) {
          const acc_t ht = charge(c.decay, u[i], St::to_acc(x[row + i]));
          const bool st = fire(ht, c.threshold);
          sb[i] = st ? one : zero;
          u[i] = reset<R>(ht, st, c);
          if constexpr (SaveH) hb[i] = store_membrane<St>(ht, st, c.threshold);
        }
        // The outputs leave through buffers: stored from the loop above, GCC's vectorised code took two page
        // faults per fresh output page instead of one (measured: 32768 vs 16384 for s and h at T=8, N=2^20).
        std::copy(sb, sb + len, s + row);
        if constexpr (SaveH) std::copy(hb, hb + len, h + row);
      }
      if (uT) std::copy(u, u + len, uT + n0);
    }
  }
}

// BPTT for one call. FromH: read the forward's stored membrane; otherwise recompute each chunk's membranes from x
// (the forward's arithmetic, so the same values) into `hb`, then sweep them backwards. A missing grad_s or grad_h
// reads a row of zeros from the stack instead — one code path, and no [T, N] of zeros in memory.
template <typename scalar_t, typename acc_t, Reset R, bool Detach, Surrogate K, bool FromH>
void backward_kernel(const LifBackwardArgs& a) {
  using St = Storage<scalar_t, acc_t>;
  const auto shared = scalars<acc_t>(a.opt);
  const auto* x = static_cast<const scalar_t*>(a.x);
  const auto* v0 = static_cast<const acc_t*>(a.v_init);
  const auto* hs = static_cast<const scalar_t*>(a.h);
  const auto* gs = static_cast<const scalar_t*>(a.grad_s);
  const auto* gh = static_cast<const scalar_t*>(a.grad_h);
  const auto* gu = static_cast<const acc_t*>(a.grad_u);
  auto* gx = static_cast<scalar_t*>(a.grad_x);
  auto* gv = static_cast<acc_t*>(a.grad_v);
  const int64_t T = a.T, N = a.N;
  const int64_t width = FromH ? kChunk : std::clamp<int64_t>(kRecomputeFloats / T / 16 * 16, 16, kChunk);
  const int64_t chunks = (N + width - 1) / width;

#pragma omp parallel num_threads(threads_for(T * N, chunks, a.threads))
  {
    // Per-thread copies: with the options behind a shared reference, GCC could not prove that the stores to the
    // buffers leave them unchanged, and ran the recompute loop scalar (3x slower, measured).
    const Scalars<acc_t> c = shared;
    std::unique_ptr<acc_t[]> hb(FromH ? nullptr : new acc_t[T * width]);  // this thread's recomputed membranes
    // Negative zeros: x + (−0) is x for every x (+0 would turn a −0 result into +0), so a missing gradient changes
    // no bit of the result.
    scalar_t zeros[kChunk];
    std::fill(zeros, zeros + kChunk, St::from_acc(-acc_t(0)));
#pragma omp for schedule(static)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t n0 = chunk * width, len = std::min(width, N - n0);
      if constexpr (!FromH) {
        acc_t u[kChunk];  // the forward's state
        for (int64_t i = 0; i < len; ++i) u[i] = v0 ? v0[n0 + i] : acc_t(0);
        for (int64_t t = 0; t < T; ++t) {
          const scalar_t* __restrict__ xr = x + t * N + n0;
          acc_t* __restrict__ hr = hb.get() + t * width;
          for (int64_t i = 0; i < len; ++i) {
            const acc_t ht = charge(c.decay, u[i], St::to_acc(xr[i]));
            hr[i] = ht;
            u[i] = reset<R>(ht, fire(ht, c.threshold), c);
          }
        }
      }
      acc_t du[kChunk];  // dL/du[t], carried backwards in time
      for (int64_t i = 0; i < len; ++i) du[i] = gu ? gu[n0 + i] : acc_t(0);
      for (int64_t t = T - 1; t >= 0; --t) {
        const int64_t row = t * N + n0;
        const scalar_t* __restrict__ gsr = gs ? gs + row : zeros;
        const scalar_t* __restrict__ ghr = gh ? gh + row : zeros;
        const acc_t* __restrict__ hr = FromH ? nullptr : hb.get() + t * width;
        scalar_t* __restrict__ gxr = gx + row;
        for (int64_t i = 0; i < len; ++i) {
          const acc_t ht = FromH ? St::to_acc(hs[row + i]) : hr[i];
          const acc_t dh = backward_step<R, Detach, K>(ht, St::to_acc(gsr[i]), du[i], c) + St::to_acc(ghr[i]);
          gxr[i] = St::from_acc(dh);
          du[i] = c.decay * dh;
        }
      }
      if (gv) std::copy(du, du + len, gv + n0);
    }
  }
}

template <typename F>
void switch_dtype(DType d, F&& f) {
  switch (d) {
    case DType::F32: f(float{}, float{}); break;
    case DType::F64:
#if FASTLIF_CPU_F64
      f(double{}, double{});
      break;
#else
      throw std::logic_error("fastlif: fp64 runs on the baseline CPU kernels (lif_cpu.cpp routes it there)");
#endif
    case DType::F16: f(half_t{}, float{}); break;
    case DType::BF16: f(bfloat16_t{}, float{}); break;
  }
}

}  // namespace

void lif_forward_cpu(const LifForwardArgs& a) {
  switch_dtype(a.dtype, [&](auto scalar, auto acc) {
    switch_reset(a.opt.reset, [&](auto r) {
      switch_bool(a.h != nullptr, [&](auto save_h) {
        forward_kernel<decltype(scalar), decltype(acc), decltype(r)::value, decltype(save_h)::value>(a);
      });
    });
  });
}

void lif_backward_cpu(const LifBackwardArgs& a) {
  switch_dtype(a.dtype, [&](auto scalar, auto acc) {
    switch_reset(a.opt.reset, [&](auto r) {
      switch_bool(a.opt.detach_reset, [&](auto detach) {
        switch_surrogate(a.opt.surrogate, [&](auto k) {
          switch_bool(a.h != nullptr, [&](auto from_h) {
            backward_kernel<decltype(scalar), decltype(acc), decltype(r)::value, decltype(detach)::value,
                            decltype(k)::value, decltype(from_h)::value>(a);
          });
        });
      });
    });
  });
}

}  // namespace FASTLIF_CPU_ISA
}  // namespace fastlif
