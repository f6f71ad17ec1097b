// CPU kernels for the multi-step LIF neuron on the `[T, N]` view.
//
// Layout of the work: OpenMP threads take chunks of kChunk neurons; each chunk keeps its membranes in a local
// buffer and sweeps t, so the innermost loop runs over contiguous neurons and vectorises. (Looping neurons-outer,
// time-inner does not vectorise and was measured slower than a torch loop at N = 1M.)
// Traffic per neuron-step: forward reads x, writes s and h; backward reads grad_s and h, writes grad_x (SPEC §9).
#include "lif_cpu.h"

#include <algorithm>
#include <cstdint>

#include "../lif_math.h"
#include "../lif_switch.h"
#include "half_types.h"

namespace fastlif {
namespace {

constexpr int64_t kChunk = 512;
// Below this many neuron-steps a parallel region costs more than it saves.
constexpr int64_t kSerialWork = 1 << 15;

template <typename acc_t>
Scalars<acc_t> scalars(const LifOptions& o) {
  return Scalars<acc_t>{acc_t(o.decay), acc_t(o.threshold), acc_t(o.v_reset), acc_t(o.sg_param)};
}

int threads_for(int64_t work, int64_t chunks, int requested) {
  if (work < kSerialWork) return 1;
  return int(std::max<int64_t>(1, std::min<int64_t>(chunks, requested)));
}

template <typename scalar_t, typename acc_t, Reset R, bool SaveH>
void forward_kernel(const LifForwardArgs& a) {
  using St = Storage<scalar_t, acc_t>;
  const auto c = scalars<acc_t>(a.opt);
  const auto* x = static_cast<const scalar_t*>(a.x);
  const auto* v0 = static_cast<const acc_t*>(a.v_init);
  auto* s = static_cast<scalar_t*>(a.s);
  auto* h = static_cast<scalar_t*>(a.h);
  auto* uT = static_cast<acc_t*>(a.u_final);
  const int64_t T = a.T, N = a.N;
  const int64_t chunks = (N + kChunk - 1) / kChunk;

#pragma omp parallel for schedule(static) num_threads(threads_for(T * N, chunks, a.threads))
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t n0 = chunk * kChunk, len = std::min(kChunk, N - n0);
    acc_t u[kChunk];
    scalar_t hb[kChunk];
    for (int64_t i = 0; i < len; ++i) u[i] = v0 ? v0[n0 + i] : acc_t(0);
    for (int64_t t = 0; t < T; ++t) {
      const int64_t row = t * N + n0;
      for (int64_t i = 0; i < len; ++i) {
        const acc_t ht = charge(c.decay, u[i], St::to_acc(x[row + i]));
        const bool st = fire(ht, c.threshold);
        s[row + i] = St::from_acc(st ? acc_t(1) : acc_t(0));  // a select of 16-bit structs would not vectorise
        u[i] = reset<R>(ht, st, c);
        if constexpr (SaveH) hb[i] = store_membrane<St>(ht, st, c.threshold);
      }
      // h leaves through a buffer: stored from the loop above, GCC's vectorised code took two page faults per
      // fresh output page instead of one (measured: 32768 vs 16384 for s and h at T=8, N=2^20).
      if constexpr (SaveH) std::copy(hb, hb + len, h + row);
    }
    for (int64_t i = 0; i < len; ++i) uT[n0 + i] = u[i];
  }
}

template <typename scalar_t, typename acc_t, Reset R, bool Detach, Surrogate K, bool HasGradH>
void backward_kernel(const LifBackwardArgs& a) {
  using St = Storage<scalar_t, acc_t>;
  const auto c = scalars<acc_t>(a.opt);
  const auto* gs = static_cast<const scalar_t*>(a.grad_s);
  const auto* gh = static_cast<const scalar_t*>(a.grad_h);
  const auto* gu = static_cast<const acc_t*>(a.grad_u);
  const auto* h = static_cast<const scalar_t*>(a.h);
  auto* gx = static_cast<scalar_t*>(a.grad_x);
  auto* gv = static_cast<acc_t*>(a.grad_v);
  const int64_t T = a.T, N = a.N;
  const int64_t chunks = (N + kChunk - 1) / kChunk;

#pragma omp parallel for schedule(static) num_threads(threads_for(T * N, chunks, a.threads))
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t n0 = chunk * kChunk, len = std::min(kChunk, N - n0);
    acc_t du[kChunk];  // dL/du[t], carried backwards in time
    for (int64_t i = 0; i < len; ++i) du[i] = gu ? gu[n0 + i] : acc_t(0);
    for (int64_t t = T - 1; t >= 0; --t) {
      const int64_t row = t * N + n0;
      for (int64_t i = 0; i < len; ++i) {
        acc_t dh = backward_step<R, Detach, K>(St::to_acc(h[row + i]), St::to_acc(gs[row + i]), du[i], c);
        if constexpr (HasGradH) dh += St::to_acc(gh[row + i]);
        gx[row + i] = St::from_acc(dh);
        du[i] = c.decay * dh;
      }
    }
    for (int64_t i = 0; i < len; ++i) gv[n0 + i] = du[i];
  }
}

template <typename F>
void switch_dtype(DType d, F&& f) {
  switch (d) {
    case DType::F32: f(float{}, float{}); break;
    case DType::F64: f(double{}, double{}); break;
    case DType::F16: f(half_t{}, float{}); break;
    case DType::BF16: f(bfloat16_t{}, float{}); break;
  }
}

}  // namespace

void lif_forward_cpu(const LifForwardArgs& a) {
  if (a.T * a.N == 0) return;
  switch_dtype(a.dtype, [&](auto scalar, auto acc) {
    switch_reset(a.opt.reset, [&](auto r) {
      switch_bool(a.h != nullptr, [&](auto save_h) {
        forward_kernel<decltype(scalar), decltype(acc), decltype(r)::value, decltype(save_h)::value>(a);
      });
    });
  });
}

void lif_backward_cpu(const LifBackwardArgs& a) {
  if (a.T * a.N == 0) return;
  switch_dtype(a.dtype, [&](auto scalar, auto acc) {
    switch_reset(a.opt.reset, [&](auto r) {
      switch_bool(a.opt.detach_reset, [&](auto detach) {
        switch_surrogate(a.opt.surrogate, [&](auto k) {
          switch_bool(a.grad_h != nullptr, [&](auto has_gh) {
            backward_kernel<decltype(scalar), decltype(acc), decltype(r)::value, decltype(detach)::value,
                            decltype(k)::value, decltype(has_gh)::value>(a);
          });
        });
      });
    });
  });
}

}  // namespace fastlif
