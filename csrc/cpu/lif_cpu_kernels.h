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
#include <numeric>
#include <type_traits>
#include <stdexcept>

#include "../lif_math.h"
#include "../lif_params.h"
#include "../lif_switch.h"
#include "half_types.h"
#include "stream_store.h"

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

// Σ v[0:n) in a fixed order that vectorises without reassociation: 8 interleaved partial sums, then those in order.
template <typename acc_t>
acc_t sum_lanes(const acc_t* v, int64_t n) {
  constexpr int kPartials = 8;
  acc_t part[kPartials] = {};
  int64_t i = 0;
  for (; i + kPartials <= n; i += kPartials) {
    for (int k = 0; k < kPartials; ++k) part[k] += v[i + k];
  }
  for (int k = 0; i < n; ++i, ++k) part[k] += v[i];
  return std::accumulate(part, part + kPartials, acc_t(0));
}

// The chunk's per-neuron parameters in local buffers, which the inner loops read like the state. Only the
// PerNeuron variant of a kernel has them; the other keeps the call's scalars in registers, as before tensors
// were possible (no cost when unused).
template <typename acc_t>
struct ChunkParams {
  acc_t a[kChunk], threshold[kChunk], fire_at[kChunk];

  // Copies and fills (vectorised), not param() per neuron: at T = 1 a per-neuron scalar loop cost more than the
  // step itself. The next float below a tensor threshold ('>=' firing) is the one scalar loop left.
  void load(const Scalars<acc_t>& c, const ParamTensors& t, int64_t n0, int64_t len) {
    fill(a, static_cast<const acc_t*>(t.decay), t.decay_stride, c.decay, n0, len);
    fill(threshold, static_cast<const acc_t*>(t.threshold), t.threshold_stride, c.threshold, n0, len);
    if (t.threshold == nullptr) {
      std::fill(fire_at, fire_at + len, c.fire_at);
    } else if (!c.fire_ge) {
      std::copy(threshold, threshold + len, fire_at);
    } else {
      for (int64_t i = 0; i < len; ++i) fire_at[i] = fire_level(threshold[i], true);
    }
  }
  static void fill(acc_t* dst, const acc_t* src, int64_t stride, acc_t scalar, int64_t n0, int64_t len) {
    if (src == nullptr || stride == 0) {
      std::fill(dst, dst + len, src ? src[0] : scalar);
    } else {
      std::copy(src + n0, src + n0 + len, dst);
    }
  }
  Param<acc_t> operator[](int64_t i) const { return Param<acc_t>{a[i], threshold[i], fire_at[i]}; }
};

// How the backward reads its parameters: the call's scalars (no parameter gradient); the call's scalars holding
// one-element tensors' values, with their gradients (a per-layer τ or threshold: nothing per neuron to load, the
// gradients summed in registers); or per neuron from ChunkParams.
enum class Params { Scalar, Uniform, PerNeuron };

// Lanes of the Uniform backward's gradient sums: one vector of floats wide on AVX-512, two on AVX2.
constexpr int64_t kLanes = 16;

template <typename scalar_t, typename acc_t, Charge C, Reset R, bool SaveH, bool PerNeuron>
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
  const bool stream = T * N * int64_t(sizeof(scalar_t)) >= kStreamBytes;  // stream_store.h

#pragma omp parallel num_threads(threads_for(T * N, chunks, a.threads))
  {
    // A per-thread copy of the options: read through the shared one, GCC could not prove that the loop's stores
    // leave them unchanged and kept the hard-reset loops scalar.
    const Scalars<acc_t> c = shared;
    const Param<acc_t> pc = param(c);
    std::unique_ptr<ChunkParams<acc_t>> pp(PerNeuron ? new ChunkParams<acc_t> : nullptr);
#pragma omp for schedule(static)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t n0 = chunk * kChunk, len = std::min(kChunk, N - n0);
      if constexpr (PerNeuron) pp->load(c, a.params, n0, len);
      acc_t u[kChunk];
      Word sb[kChunk];
      scalar_t hb[kChunk];
      for (int64_t i = 0; i < len; ++i) u[i] = v0 ? v0[n0 + i] : acc_t(0);
      for (int64_t t = 0; t < T; ++t) {
        const int64_t row = t * N + n0;
        for (int64_t i = 0; i < len; ++i) {
          const Param<acc_t> pi = PerNeuron ? (*pp)[i] : pc;
          const acc_t ht = charge_step<C, R>(u[i], St::to_acc(x[row + i]), pi, c.v_reset);
          const bool st = fire(ht, pi.fire_at);
          sb[i] = st ? one : zero;
          u[i] = reset<R>(ht, st, pi, c.v_reset);
          if constexpr (SaveH) hb[i] = store_membrane<St>(ht, st, pi.fire_at);
        }
        // The outputs leave through buffers: stored from the loop above, GCC's vectorised code took two page
        // faults per fresh output page instead of one (measured: 32768 vs 16384 for s and h at T=8, N=2^20).
        store_row(sb, len, s + row, stream);
        if constexpr (SaveH) store_row(hb, len, h + row, stream);
      }
      if (uT) std::copy(u, u + len, uT + n0);
    }
    stream_fence();
  }
}

// One step t of the backward sweep over the chunk's neurons [i0, i1): dL/dx into gxr, dL/du carried in du, and
// with parameter gradients their terms added into ga[i − acc0] / gt[i − acc0] (per neuron, or the Uniform lanes).
template <typename St, Charge C, Reset R, bool Detach, Surrogate K, Params P, typename scalar_t, typename acc_t>
inline __attribute__((always_inline)) void sweep_row(
    int64_t i0, int64_t i1, const acc_t* __restrict__ hr, const scalar_t* __restrict__ gsr,
    const scalar_t* __restrict__ ghr, const scalar_t* __restrict__ xr, const acc_t* __restrict__ prev,
    bool prev_is_h, acc_t* __restrict__ du, scalar_t* __restrict__ gxr, const ChunkParams<acc_t>* pp,
    const Param<acc_t> pc, const acc_t v_reset, const acc_t sg_param, acc_t* __restrict__ ga,
    acc_t* __restrict__ gt, int64_t acc0) {
  constexpr bool Grads = P != Params::Scalar;
  for (int64_t i = i0; i < i1; ++i) {
    const Param<acc_t> pi = P == Params::PerNeuron ? (*pp)[i] : pc;
    acc_t dthr;
    const acc_t dh = backward_step<R, Detach, K, Grads>(hr[i], St::to_acc(gsr[i]), du[i], pi, v_reset, sg_param,
                                                        &dthr) + St::to_acc(ghr[i]);
    gxr[i] = St::from_acc(input_grad<C>(dh, pi));
    du[i] = state_grad<C>(dh, pi);
    if constexpr (Grads) {
      const acc_t up = prev_is_h ? reset<R>(prev[i], fire(prev[i], pi.fire_at), pi, v_reset) : prev[i];
      gt[i - acc0] += dthr;
      charge_grads<C, R>(dh, up, St::to_acc(xr[i]), pi, v_reset, ga[i - acc0], gt[i - acc0]);
    }
  }
}

// BPTT for one call. Each chunk's membranes are first gathered into `hb`: read from the forward's stored h, or
// recomputed from x (the forward's arithmetic, so the same values); then swept backwards. A missing grad_s or
// grad_h reads a row of zeros from the stack instead — one code path, and no [T, N] of zeros in memory.
// Parameter gradients: PerNeuron sums dL/d(decay) and dL/d(threshold) per neuron over t = T−1 … 0 in that order
// (a one-element parameter's then over the chunk with sum_lanes); Uniform sums them into kLanes lanes (neuron i
// into lane i mod kLanes of its block, t = T−1 … 0). Each chunk's sum is then added in chunk order, so a
// one-element parameter's gradient is the same for any number of threads and costs no `[N]` output.
template <typename scalar_t, typename acc_t, Charge C, Reset R, bool Detach, Surrogate K, Params P>
void backward_kernel(const LifBackwardArgs& a) {
  using St = Storage<scalar_t, acc_t>;
  constexpr bool Grads = P != Params::Scalar;
  const auto shared = scalars<acc_t>(a.opt);
  const auto* x = static_cast<const scalar_t*>(a.x);
  const auto* v0 = static_cast<const acc_t*>(a.v_init);
  const auto* hs = static_cast<const scalar_t*>(a.h);
  const auto* gs = static_cast<const scalar_t*>(a.grad_s);
  const auto* gh = static_cast<const scalar_t*>(a.grad_h);
  const auto* gu = static_cast<const acc_t*>(a.grad_u);
  auto* gx = static_cast<scalar_t*>(a.grad_x);
  auto* gv = static_cast<acc_t*>(a.grad_v);
  auto* g_decay = static_cast<acc_t*>(a.grad_decay);
  auto* g_threshold = static_cast<acc_t*>(a.grad_threshold);
  const int64_t T = a.T, N = a.N;
  const int64_t width = std::clamp<int64_t>(kRecomputeFloats / T / 16 * 16, 16, kChunk);
  const int64_t chunks = (N + width - 1) / width;
  // Per-chunk sums of the gradients of one-element parameters.
  const bool sum_decay = Grads && g_decay && a.params.decay_stride == 0;
  const bool sum_threshold = Grads && g_threshold && a.params.threshold_stride == 0;
  std::unique_ptr<acc_t[]> chunk_decay(sum_decay ? new acc_t[chunks] : nullptr);
  std::unique_ptr<acc_t[]> chunk_threshold(sum_threshold ? new acc_t[chunks] : nullptr);

#pragma omp parallel num_threads(threads_for(T * N, chunks, a.threads))
  {
    // Per-thread copies: with the options behind a shared reference, GCC could not prove that the stores to the
    // buffers leave them unchanged, and ran the recompute loop scalar (3x slower, measured).
    const Scalars<acc_t> c = shared;
    const Param<acc_t> pc = param(c);
    std::unique_ptr<acc_t[]> hb(new acc_t[T * width]);  // this thread's membranes
    std::unique_ptr<ChunkParams<acc_t>> pp(P == Params::PerNeuron ? new ChunkParams<acc_t> : nullptr);
    // Negative zeros: x + (−0) is x for every x (+0 would turn a −0 result into +0), so a missing gradient changes
    // no bit of the result.
    scalar_t zeros[kChunk];
    std::fill(zeros, zeros + kChunk, St::from_acc(-acc_t(0)));
#pragma omp for schedule(static)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t n0 = chunk * width, len = std::min(width, N - n0);
      if constexpr (P == Params::PerNeuron) pp->load(c, a.params, n0, len);
      acc_t u0[kChunk];  // the initial state
      for (int64_t i = 0; i < len; ++i) u0[i] = v0 ? v0[n0 + i] : acc_t(0);
      if (hs) {
        for (int64_t t = 0; t < T; ++t) {
          for (int64_t i = 0; i < len; ++i) hb[t * width + i] = St::to_acc(hs[t * N + n0 + i]);
        }
      } else {
        acc_t u[kChunk];  // the forward's state
        std::copy(u0, u0 + len, u);
        for (int64_t t = 0; t < T; ++t) {
          const scalar_t* __restrict__ xr = x + t * N + n0;
          acc_t* __restrict__ hr = hb.get() + t * width;
          for (int64_t i = 0; i < len; ++i) {
            const Param<acc_t> pi = P == Params::PerNeuron ? (*pp)[i] : pc;
            const acc_t ht = charge_step<C, R>(u[i], St::to_acc(xr[i]), pi, c.v_reset);
            hr[i] = ht;
            u[i] = reset<R>(ht, fire(ht, pi.fire_at), pi, c.v_reset);
          }
        }
      }
      acc_t du[kChunk];  // dL/du[t], carried backwards in time
      for (int64_t i = 0; i < len; ++i) du[i] = gu ? gu[n0 + i] : acc_t(0);
      // The parameter gradients: per neuron, or the Uniform lanes.
      constexpr int64_t kAcc = P == Params::PerNeuron ? kChunk : (P == Params::Uniform ? kLanes : 1);
      acc_t ga[kAcc], gt[kAcc];
      if constexpr (Grads) {
        std::fill(ga, ga + kAcc, acc_t(0));
        std::fill(gt, gt + kAcc, acc_t(0));
      }
      for (int64_t t = T - 1; t >= 0; --t) {
        const int64_t row = t * N + n0;
        const scalar_t* __restrict__ gsr = gs ? gs + row : zeros;
        const scalar_t* __restrict__ ghr = gh ? gh + row : zeros;
        const acc_t* __restrict__ hr = hb.get() + t * width;
        scalar_t* __restrict__ gxr = gx + row;
        // The state each step started from: the previous membrane after its reset, or the initial state.
        const acc_t* __restrict__ prev = t > 0 ? hr - width : u0;
        const bool prev_is_h = t > 0;
        const scalar_t* __restrict__ xr = x && C == Charge::ScaledInput ? x + row : zeros;
        if constexpr (P == Params::Uniform) {
          // Whole blocks with a trip count the compiler sees (one vector step each, no remainder loop), then the rest.
          const int64_t whole = len / kLanes * kLanes;
          for (int64_t i0 = 0; i0 < whole; i0 += kLanes) {
            sweep_row<St, C, R, Detach, K, P>(i0, i0 + kLanes, hr, gsr, ghr, xr, prev, prev_is_h, du, gxr, pp.get(),
                                              pc, c.v_reset, c.sg_param, ga, gt, i0);
          }
          sweep_row<St, C, R, Detach, K, P>(whole, len, hr, gsr, ghr, xr, prev, prev_is_h, du, gxr, pp.get(), pc,
                                            c.v_reset, c.sg_param, ga, gt, whole);
        } else {
          sweep_row<St, C, R, Detach, K, P>(0, len, hr, gsr, ghr, xr, prev, prev_is_h, du, gxr, pp.get(), pc,
                                            c.v_reset, c.sg_param, ga, gt, 0);
        }
      }
      if (gv) std::copy(du, du + len, gv + n0);
      if constexpr (Grads) {
        const int64_t n_acc = P == Params::PerNeuron ? len : kAcc;
        if (sum_decay) chunk_decay[chunk] = sum_lanes(ga, n_acc);
        else if (g_decay) std::copy(ga, ga + len, g_decay + n0);
        if (sum_threshold) chunk_threshold[chunk] = sum_lanes(gt, n_acc);
        else if (g_threshold) std::copy(gt, gt + len, g_threshold + n0);
      }
    }
  }
  if (sum_decay) *g_decay = std::accumulate(chunk_decay.get(), chunk_decay.get() + chunks, acc_t(0));
  if (sum_threshold) *g_threshold = std::accumulate(chunk_threshold.get(), chunk_threshold.get() + chunks, acc_t(0));
}

// Params::Uniform when every parameter tensor has one element (stride 0: lif_cpu.cpp put its value in the options).
template <typename F>
void switch_params(const ParamTensors& t, F&& f) {
  if (!t.any()) {
    f(std::integral_constant<Params, Params::Scalar>{});
  } else if (t.uniform()) {
    f(std::integral_constant<Params, Params::Uniform>{});
  } else {
    f(std::integral_constant<Params, Params::PerNeuron>{});
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

// bench/cpu_kernel.cpp times single instantiations of the templates above; it defines this to skip the entry
// points, which instantiate every variant (minutes of compiling).
#ifndef FASTLIF_CPU_KERNELS_ONLY
void lif_forward_cpu(const LifForwardArgs& a) {
  switch_dtype(a.dtype, [&](auto scalar, auto acc) {
    switch_equation(a.opt.charge, a.opt.reset, [&](auto q, auto r) {
      switch_bool(a.h != nullptr, [&](auto save_h) {
        switch_bool(a.params.any(), [&](auto per_neuron) {
          forward_kernel<decltype(scalar), decltype(acc), decltype(q)::value, decltype(r)::value,
                         decltype(save_h)::value, decltype(per_neuron)::value>(a);
        });
      });
    });
  });
}

void lif_backward_cpu(const LifBackwardArgs& a) {
  switch_dtype(a.dtype, [&](auto scalar, auto acc) {
    switch_equation(a.opt.charge, a.opt.reset, [&](auto q, auto r) {
      switch_detach<decltype(r)::value>(a.opt.detach_reset, [&](auto detach) {
        switch_surrogate(a.opt.surrogate, [&](auto k) {
          switch_params(a.params, [&](auto params) {
            backward_kernel<decltype(scalar), decltype(acc), decltype(q)::value, decltype(r)::value,
                            decltype(detach)::value, decltype(k)::value, decltype(params)::value>(a);
          });
        });
      });
    });
  });
}

#endif  // FASTLIF_CPU_KERNELS_ONLY

}  // namespace FASTLIF_CPU_ISA
}  // namespace fastlif
