// The body of the CUDA LIF kernels, written as __host__ __device__ code so it can also be run on the host:
// lif_cuda.cu wraps forward_neurons / backward_neurons in __global__ kernels, and csrc/tests/test_lif_cuda_host.cu
// executes every "thread" of the same launch plan on the CPU and compares with the CPU twin bit for bit — the
// indexing, vector widths, time unrolling, tails and fp16/bf16 storage are checked on a machine without a GPU.
//
// Work layout: one thread owns VEC consecutive neurons (VEC·sizeof(scalar_t) = 16 bytes when the pointers are
// aligned and N allows it, else 1) and walks the whole time axis with their membranes in registers. For each t a
// warp touches one contiguous row segment, so every load and store is coalesced; no shared memory, no atomics,
// every output element written by exactly one thread (bitwise deterministic). kSteps time steps are loaded
// before any is computed, so each thread keeps kSteps independent loads in flight to hide DRAM latency.
//
// Bytes moved per neuron-step (w = element size; SPEC §9):
//   forward:  read x, write s, write h (only when saved for backward)  = 3w  (2w for inference)
//   backward: read grad_s, read h, write grad_x (+ read grad_h if the membrane is used downstream) = 3w (4w)
// plus, once per neuron, the fp32 state: v_init read / u_final written, grad_u read / grad_v written — a 1/T share,
// each only when someone reads it (a null pointer in the argument struct). The CUDA backward always reads the
// saved h; recomputing it from x (the CPU twin's 5w variant) is not written for the GPU yet.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <vector_types.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../lif_math.h"
#include "../lif_params.h"
#include "../lif_switch.h"

namespace fastlif {
namespace cuda {

constexpr int kBlock = 128;  // threads per block
constexpr int kSteps = 4;    // time steps loaded ahead per thread
// Below this many threads the 16-byte vectors leave SMs idle (2^15 threads ≈ 2 blocks per SM on a 132-SM H100);
// one neuron per thread spreads the work over more of them.
constexpr int64_t kMinVectorThreads = int64_t(1) << 15;

// Storage traits (the interface store_membrane() in lif_math.h expects): the element type, whether it holds
// an acc_t exactly, the conversions, and the 16-bit pattern for the one-ulp correction.
template <typename T>
struct Storage;

template <>
struct Storage<float> {
  using type = float;
  static constexpr bool exact = true;
  FASTLIF_HD static float to_acc(float v) { return v; }
  FASTLIF_HD static float from_acc(float v) { return v; }
};

template <>
struct Storage<double> {
  using type = double;
  static constexpr bool exact = true;
  FASTLIF_HD static double to_acc(double v) { return v; }
  FASTLIF_HD static double from_acc(double v) { return v; }
};

template <>
struct Storage<__half> {
  using type = __half;
  static constexpr bool exact = false;
  FASTLIF_HD static float to_acc(__half v) { return __half2float(v); }
  FASTLIF_HD static __half from_acc(float v) { return __float2half_rn(v); }
  FASTLIF_HD static uint16_t bits(__half v) { return static_cast<__half_raw>(v).x; }
  FASTLIF_HD static __half from_bits(uint16_t b) {
    __half_raw r;
    r.x = b;
    return __half(r);
  }
};

template <>
struct Storage<__nv_bfloat16> {
  using type = __nv_bfloat16;
  static constexpr bool exact = false;
  FASTLIF_HD static float to_acc(__nv_bfloat16 v) { return __bfloat162float(v); }
  FASTLIF_HD static __nv_bfloat16 from_acc(float v) { return __float2bfloat16_rn(v); }
  FASTLIF_HD static uint16_t bits(__nv_bfloat16 v) { return static_cast<__nv_bfloat16_raw>(v).x; }
  FASTLIF_HD static __nv_bfloat16 from_bits(uint16_t b) {
    __nv_bfloat16_raw r;
    r.x = b;
    return __nv_bfloat16(r);
  }
};

// VEC neurons moved as one aligned 2–16 byte access.
template <typename T, int VEC>
struct alignas(sizeof(T) * VEC) Pack {
  T v[VEC];
};

// The integer type of each access width, for the loads.
template <int Bytes> struct Word;
template <> struct Word<2> { using type = uint16_t; };
template <> struct Word<4> { using type = uint32_t; };
template <> struct Word<8> { using type = uint2; };
template <> struct Word<16> { using type = uint4; };

template <typename P, typename T>
FASTLIF_HD P load_pack(const T* p) {
  using W = typename Word<sizeof(P)>::type;
#if defined(__CUDA_ARCH__)
  const W w = __ldg(reinterpret_cast<const W*>(p));  // read-only path: every input is read exactly once
#else
  const W w = *reinterpret_cast<const W*>(p);
#endif
  P v;
  memcpy(&v, &w, sizeof(P));
  return v;
}

// nvcc splits the store of a struct built element by element into 4-byte stores whatever its declared
// alignment (seen in the PTX), which would quadruple the store instructions; the 8- and 16-byte device stores
// are therefore spelled out in PTX. No "memory" clobber: nothing in a kernel reads what it stores, and the
// clobber would cost the read-only (.nc) path of the input loads.
template <typename P, typename T>
FASTLIF_HD void store_pack(T* p, const P& v) {
#if defined(__CUDA_ARCH__)
  if constexpr (sizeof(P) == 16) {
    uint32_t w[4];
    memcpy(w, &v, 16);
    asm volatile("st.global.v4.b32 [%0], {%1, %2, %3, %4};" ::"l"(p), "r"(w[0]), "r"(w[1]), "r"(w[2]), "r"(w[3]));
    return;
  } else if constexpr (sizeof(P) == 8) {
    uint32_t w[2];
    memcpy(w, &v, 8);
    asm volatile("st.global.v2.b32 [%0], {%1, %2};" ::"l"(p), "r"(w[0]), "r"(w[1]));
    return;
  }
#endif
  using W = typename Word<sizeof(P)>::type;
  W w;
  memcpy(&w, &v, sizeof(P));
  *reinterpret_cast<W*>(p) = w;
}

// The parameters of neurons [n, n + VEC), loaded once per thread: from the per-neuron tensors (PerNeuron), else
// the call's scalars.
template <bool PerNeuron, typename acc_t, int VEC>
FASTLIF_HD void load_params(Param<acc_t> (&p)[VEC], const Scalars<acc_t>& c, const ParamTensors& t, int64_t n) {
#pragma unroll
  for (int i = 0; i < VEC; ++i) p[i] = PerNeuron ? param(c, t, n + i) : param(c);
}

// Forward for neurons [thread·VEC, thread·VEC + VEC). With VEC > 1 the launch plan guarantees N % VEC == 0.
template <typename scalar_t, typename acc_t, int VEC, Charge C, Reset R, bool SaveH, bool PerNeuron>
FASTLIF_HD void forward_neurons(const LifForwardArgs& a, const Scalars<acc_t>& c, int64_t thread) {
  using St = Storage<scalar_t>;
  using P = Pack<scalar_t, VEC>;
  const int64_t n = thread * VEC, T = a.T, N = a.N;
  if (n >= N) return;
  const scalar_t* __restrict__ x = static_cast<const scalar_t*>(a.x) + n;
  scalar_t* __restrict__ s = static_cast<scalar_t*>(a.s) + n;
  scalar_t* __restrict__ h = SaveH ? static_cast<scalar_t*>(a.h) + n : nullptr;
  const acc_t* v0 = static_cast<const acc_t*>(a.v_init);
  const scalar_t one = St::from_acc(acc_t(1)), zero = St::from_acc(acc_t(0));
  Param<acc_t> p[VEC];
  load_params<PerNeuron>(p, c, a.params, n);

  acc_t u[VEC];
#pragma unroll
  for (int i = 0; i < VEC; ++i) u[i] = v0 ? v0[n + i] : acc_t(0);

  for (int64_t t0 = 0; t0 < T; t0 += kSteps) {
    P xs[kSteps];
#pragma unroll
    for (int k = 0; k < kSteps; ++k) {
      if (t0 + k < T) xs[k] = load_pack<P>(x + (t0 + k) * N);
    }
#pragma unroll
    for (int k = 0; k < kSteps; ++k) {
      if (t0 + k < T) {
        P sv, hv;
#pragma unroll
        for (int i = 0; i < VEC; ++i) {
          const acc_t ht = charge_step<C, R>(u[i], St::to_acc(xs[k].v[i]), p[i], c.v_reset);
          const bool st = fire(ht, p[i].fire_at);
          sv.v[i] = st ? one : zero;
          if constexpr (SaveH) hv.v[i] = store_membrane<St>(ht, st, p[i].fire_at);
          u[i] = reset<R>(ht, st, p[i], c.v_reset);
        }
        store_pack(s + (t0 + k) * N, sv);
        if constexpr (SaveH) store_pack(h + (t0 + k) * N, hv);
      }
    }
  }
  acc_t* uT = static_cast<acc_t*>(a.u_final);
  if (uT) {
#pragma unroll
    for (int i = 0; i < VEC; ++i) uT[n + i] = u[i];
  }
}

// Backward (BPTT, t = T−1 … 0) for neurons [thread·VEC, thread·VEC + VEC); dL/du carried in registers.
// Grads (the per-neuron variant): dL/d(decay) and dL/d(threshold) summed per neuron over t = T−1 … 0 (the CPU
// twin's order and arithmetic); the state each step started from is rebuilt from the saved h of the step before
// (one more read per neuron-step, only then), and x is read for the scaled-input charge.
template <typename scalar_t, typename acc_t, int VEC, Charge C, Reset R, bool Detach, Surrogate K, bool HasGradH,
          bool Grads>
FASTLIF_HD void backward_neurons(const LifBackwardArgs& a, const Scalars<acc_t>& c, int64_t thread) {
  using St = Storage<scalar_t>;
  using P = Pack<scalar_t, VEC>;
  const int64_t n = thread * VEC, T = a.T, N = a.N;
  if (n >= N) return;
  const scalar_t* __restrict__ gs = static_cast<const scalar_t*>(a.grad_s) + n;
  const scalar_t* __restrict__ gh = HasGradH ? static_cast<const scalar_t*>(a.grad_h) + n : nullptr;
  const scalar_t* __restrict__ h = static_cast<const scalar_t*>(a.h) + n;
  const scalar_t* __restrict__ x =
      Grads && C == Charge::ScaledInput ? static_cast<const scalar_t*>(a.x) + n : nullptr;
  scalar_t* __restrict__ gx = static_cast<scalar_t*>(a.grad_x) + n;
  const acc_t* gu = static_cast<const acc_t*>(a.grad_u);
  const acc_t* v0 = static_cast<const acc_t*>(a.v_init);
  Param<acc_t> p[VEC];
  load_params<Grads>(p, c, a.params, n);

  acc_t du[VEC], ga[VEC], gt[VEC];
#pragma unroll
  for (int i = 0; i < VEC; ++i) {
    du[i] = gu ? gu[n + i] : acc_t(0);
    ga[i] = acc_t(0);
    gt[i] = acc_t(0);
  }

  for (int64_t t0 = T - 1; t0 >= 0; t0 -= kSteps) {
    P gsv[kSteps], hv[kSteps], ghv[kSteps];
#pragma unroll
    for (int k = 0; k < kSteps; ++k) {
      if (t0 - k >= 0) {
        gsv[k] = load_pack<P>(gs + (t0 - k) * N);
        hv[k] = load_pack<P>(h + (t0 - k) * N);
        if constexpr (HasGradH) ghv[k] = load_pack<P>(gh + (t0 - k) * N);
      }
    }
#pragma unroll
    for (int k = 0; k < kSteps; ++k) {
      const int64_t t = t0 - k;
      if (t >= 0) {
        P gxv, hp, xv;
        if constexpr (Grads) {
          if (t > 0) hp = load_pack<P>(h + (t - 1) * N);
          if constexpr (C == Charge::ScaledInput) xv = load_pack<P>(x + t * N);
        }
#pragma unroll
        for (int i = 0; i < VEC; ++i) {
          acc_t dthr;
          acc_t dh = backward_step<R, Detach, K, Grads>(St::to_acc(hv[k].v[i]), St::to_acc(gsv[k].v[i]), du[i],
                                                        p[i], c.v_reset, c.sg_param, &dthr);
          if constexpr (HasGradH) dh += St::to_acc(ghv[k].v[i]);
          gxv.v[i] = St::from_acc(input_grad<C>(dh, p[i]));
          du[i] = state_grad<C>(dh, p[i]);
          if constexpr (Grads) {
            acc_t up;
            if (t > 0) {
              const acc_t hprev = St::to_acc(hp.v[i]);
              up = reset<R>(hprev, fire(hprev, p[i].fire_at), p[i], c.v_reset);
            } else {
              up = v0 ? v0[n + i] : acc_t(0);
            }
            const acc_t xt = C == Charge::ScaledInput ? St::to_acc(xv.v[i]) : acc_t(0);
            gt[i] += dthr;
            charge_grads<C, R>(dh, up, xt, p[i], c.v_reset, ga[i], gt[i]);
          }
        }
        store_pack(gx + (t0 - k) * N, gxv);
      }
    }
  }
  acc_t* gv = static_cast<acc_t*>(a.grad_v);
  if (gv) {
#pragma unroll
    for (int i = 0; i < VEC; ++i) gv[n + i] = du[i];
  }
  if constexpr (Grads) {
    acc_t* gd = static_cast<acc_t*>(a.grad_decay);
    acc_t* gth = static_cast<acc_t*>(a.grad_threshold);
#pragma unroll
    for (int i = 0; i < VEC; ++i) {
      if (gd) gd[n + i] = ga[i];
      if (gth) gth[n + i] = gt[i];
    }
  }
}

// ---- launch plan (host) ----

// The 16-byte vector width of an element type; fp64 (gradcheck only) stays scalar to halve the instantiations.
template <typename scalar_t>
constexpr int wide_vector() {
  return sizeof(scalar_t) >= 8 ? 1 : int(16 / sizeof(scalar_t));
}

// `wide` when N splits into whole vectors, every [T, N] tensor starts 16-byte aligned (so every row does, as
// the row stride N is a multiple of the vector) and enough threads remain to fill the GPU; else 1.
inline int pick_vector(int64_t N, int wide, size_t elem_size, std::initializer_list<const void*> tensors) {
  if (wide <= 1 || N % wide != 0 || N / wide < kMinVectorThreads) return 1;
  for (const void* p : tensors) {
    if (p != nullptr && reinterpret_cast<uintptr_t>(p) % (size_t(wide) * elem_size) != 0) return 1;
  }
  return wide;
}

inline int64_t threads_for(int64_t N, int vec) { return (N + vec - 1) / vec; }

inline unsigned blocks_for(int64_t N, int vec) {
  const int64_t blocks = (threads_for(N, vec) + kBlock - 1) / kBlock;
  if (blocks > int64_t(0x7FFFFFFF)) throw std::invalid_argument("fastlif: too many neurons for one CUDA launch");
  return unsigned(blocks);
}

template <typename F>
void switch_dtype(DType d, F&& f) {
  switch (d) {
    case DType::F32: f(float{}, float{}); break;
    case DType::F64: f(double{}, double{}); break;
    case DType::F16: f(__half{}, float{}); break;
    case DType::BF16: f(__nv_bfloat16{}, float{}); break;
    default: throw std::invalid_argument("fastlif: unknown dtype id " + std::to_string(int(d)));
  }
}

template <int Wide, typename F>
void switch_vector(int vec, F&& f) {
  if (vec == Wide) f(std::integral_constant<int, Wide>{}); else f(std::integral_constant<int, 1>{});
}

// Resolves the runtime options of a forward call to one kernel configuration and hands it to
// f(scalar, acc, vec, charge, reset, save_h, per_neuron, scalars) — the tags are empty values whose types carry
// the choice.
template <typename F>
void dispatch_forward(const LifForwardArgs& a, F&& f) {
  switch_dtype(a.dtype, [&](auto scalar, auto acc) {
    using scalar_t = decltype(scalar);
    using acc_t = decltype(acc);
    const int vec = pick_vector(a.N, wide_vector<scalar_t>(), sizeof(scalar_t), {a.x, a.s, a.h});
    switch_vector<wide_vector<scalar_t>()>(vec, [&](auto v) {
      switch_equation(a.opt.charge, a.opt.reset, [&](auto q, auto r) {
        switch_bool(a.h != nullptr, [&](auto save_h) {
          switch_bool(a.params.any(),
                      [&](auto per_neuron) { f(scalar, acc, v, q, r, save_h, per_neuron, scalars<acc_t>(a.opt)); });
        });
      });
    });
  });
}

// The same for a backward call: f(scalar, acc, vec, charge, reset, detach, surrogate, has_grad_h, grads, scalars),
// grads: the per-neuron variant, which also sums the parameter gradients.
template <typename F>
void dispatch_backward(const LifBackwardArgs& a, F&& f) {
  switch_dtype(a.dtype, [&](auto scalar, auto acc) {
    using scalar_t = decltype(scalar);
    using acc_t = decltype(acc);
    const int vec = pick_vector(a.N, wide_vector<scalar_t>(), sizeof(scalar_t),
                                {a.grad_s, a.grad_h, a.h, a.grad_x, a.params.any() ? a.x : nullptr});
    switch_vector<wide_vector<scalar_t>()>(vec, [&](auto v) {
      switch_equation(a.opt.charge, a.opt.reset, [&](auto q, auto r) {
        switch_detach<decltype(r)::value>(a.opt.detach_reset, [&](auto detach) {
          switch_surrogate(a.opt.surrogate, [&](auto k) {
            switch_bool(a.grad_h != nullptr, [&](auto has_gh) {
              switch_bool(a.params.any(), [&](auto grads) {
                f(scalar, acc, v, q, r, detach, k, has_gh, grads, scalars<acc_t>(a.opt));
              });
            });
          });
        });
      });
    });
  });
}

}  // namespace cuda
}  // namespace fastlif
