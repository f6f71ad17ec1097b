// The per-element math of the multi-step LIF neuron (SPEC §1–3): charge, fire, reset, the five surrogate
// derivatives, one backward step, and the rule for storing the membrane in fp16/bf16.
//
// ONE header for every compiled twin: the CPU kernel includes it as plain C++, the CUDA kernel as
// __host__ __device__ code, so the CPU tests exercise exactly the arithmetic the GPU runs. No torch headers.
#pragma once

#include <cmath>
#include <cstdint>

#include "lif_params.h"

#if defined(__CUDACC__)
#define FASTLIF_HD __host__ __device__ __forceinline__
#else
#define FASTLIF_HD inline
#endif

namespace fastlif {

// Hard: u = v_reset after a spike. Soft: u = h − threshold. SubtractNext (snnTorch's Leaky, reset_delay=True):
// the state is the pre-reset h, and the NEXT charge subtracts threshold·s[t−1], the reset detached.
enum class Reset : int { Hard = 0, Soft = 1, SubtractNext = 2 };
// Decay: h = a·u + x (a = decay). ScaledInput (SpikingJelly's decay_input=True): h = u + (x − (u − v_reset))·k,
// k = 1/τ the rate: the input is scaled and the membrane leaks toward v_reset.
enum class Charge : int { Decay = 0, ScaledInput = 1 };
enum class Surrogate : int { Triangle = 0, Rectangle = 1, Sigmoid = 2, ATan = 3, SuperSpike = 4 };

// The scalar options of one call, converted once to the arithmetic type acc_t (float, or double for fp64 input).
// fire_at is the value h must EXCEED to spike: the threshold, or the next value below it when firing at h >= θ
// (h >= θ ⟺ h > nextafter(θ, −∞) for every float), so '>=' costs the kernels nothing.
template <typename acc_t>
struct Scalars {
  acc_t decay, threshold, v_reset, sg_param, fire_at;
  bool fire_ge;
};

// The largest value below v (the C overloads by name: a float through nextafter(double) would round back up).
FASTLIF_HD float math_below(float v) { return nextafterf(v, -INFINITY); }
FASTLIF_HD double math_below(double v) { return nextafter(v, -double(INFINITY)); }

template <typename acc_t>
FASTLIF_HD acc_t fire_level(acc_t threshold, bool fire_ge) {
  return fire_ge ? math_below(threshold) : threshold;
}

template <typename acc_t>
FASTLIF_HD Scalars<acc_t> scalars(const LifOptions& o) {
  return Scalars<acc_t>{acc_t(o.decay), acc_t(o.threshold), acc_t(o.v_reset), acc_t(o.sg_param),
                        fire_level(acc_t(o.threshold), o.fire_ge), o.fire_ge};
}

// One neuron's parameters: the charge's a (decay, or rate for ScaledInput), the threshold and its fire level. The
// kernels load them once per neuron from the per-neuron tensors, or take the call's scalars.
template <typename acc_t>
struct Param {
  acc_t a, threshold, fire_at;
};

template <typename acc_t>
FASTLIF_HD Param<acc_t> param(const Scalars<acc_t>& c, const ParamTensors& t, int64_t n) {
  const auto* decay = static_cast<const acc_t*>(t.decay);
  const auto* threshold = static_cast<const acc_t*>(t.threshold);
  const acc_t th = threshold ? threshold[n * t.threshold_stride] : c.threshold;
  return Param<acc_t>{decay ? decay[n * t.decay_stride] : c.decay, th,
                      threshold ? fire_level(th, c.fire_ge) : c.fire_at};
}

// The call's scalars as every neuron's parameters (the kernels' variant without per-neuron tensors).
template <typename acc_t>
FASTLIF_HD Param<acc_t> param(const Scalars<acc_t>& c) {
  return Param<acc_t>{c.decay, c.threshold, c.fire_at};
}

// a·b + c rounded once. Every multiply-add of the backward is written with it: the CPU twin is built with
// -ffp-contract=off and nvcc fuses multiply-adds by default, so only multiply-adds spelled out as fused give both
// twins the same bits (and the CPU the FMA units where it has them). The forward's charge stays unfused (charge()).
FASTLIF_HD float fused(float a, float b, float c) { return fmaf(a, b, c); }
FASTLIF_HD double fused(double a, double b, double c) { return fma(a, b, c); }

// e^v for v <= 0 in fp32 from plain arithmetic (Cephes' expf: v = n·ln2 + r, a degree-6 polynomial in r, then 2^n
// through the exponent bits), accurate to about 2 ulp. Unlike a libm call it vectorises in the CPU kernel's inner
// loop (the sigmoid surrogate's backward was bound by scalar expf calls), and CPU and CUDA run the same formula.
// The reduction and the polynomial are evaluated with fused(): one rounding per step on every twin, and half the
// instructions where the CPU has FMA. The sigmoid backward is compute-bound on the CPU, so the clamp and the
// rounding are written to compile to a compare-and-select and one add (with the floor-and-convert of Cephes' code
// the backward took ~20 % longer, T = 8, AVX2; with a second clamp for v > 0, GCC's AVX-512 code spent 7
// instructions on the two clamps, and the T = 1 backward took ~5 % longer).
FASTLIF_HD float math_exp_nonpositive(float v) {
  // Clamped so that 2^n stays a normal float (e^-87.3 is 1.2e-38). Written as `bound > v ? bound : v`, which
  // passes a NaN in v through.
  v = -87.3f > v ? -87.3f : v;
  // n = round(v/ln2) by the 1.5·2^23 trick: adding it rounds to an integer in the low mantissa bits, so n needs no
  // float→int conversion and |r| <= ln2/2.
  constexpr float kRound = 12582912.0f;
  const float t = fused(v, 1.44269504088896341f, kRound);
  const float nf = t - kRound;
  const float r = fused(nf, 2.12194440e-4f, fused(-nf, 0.693359375f, v));  // ln2 split in two: exact reduction
  float y = 1.9875691500e-4f;
  y = fused(y, r, 1.3981999507e-3f);
  y = fused(y, r, 8.3334519073e-3f);
  y = fused(y, r, 4.1665795894e-2f);
  y = fused(y, r, 1.6666665459e-1f);
  y = fused(y, r, 5.0000001201e-1f);
  y = fused(y * r, r, r) + 1.0f;
  union {
    uint32_t u;
    float f;
  } bits, scale;
  bits.f = t;
  scale.u = (bits.u - 0x4B400000u + 127u) << 23;  // 0x4B400000: the bits of kRound, so bits.u - them = n
  return y * scale.f;
}
FASTLIF_HD double math_exp_nonpositive(double v) { return exp(v); }
FASTLIF_HD float math_abs(float v) { return fabsf(v); }
FASTLIF_HD double math_abs(double v) { return fabs(v); }

// h = decay·u + x, the product rounded before the sum. A fused multiply-add would round once and could move h
// across the threshold relative to the PyTorch reference (which multiplies, then adds); the explicit _rn
// intrinsics stop nvcc from contracting, and the CPU build passes -ffp-contract=off.
template <typename acc_t>
FASTLIF_HD acc_t charge(acc_t decay, acc_t u, acc_t x) {
#if defined(__CUDA_ARCH__)
  if constexpr (sizeof(acc_t) == 4) {
    return __fadd_rn(__fmul_rn(decay, u), x);
  } else {
    return __dadd_rn(__dmul_rn(decay, u), x);
  }
#else
  return decay * u + x;
#endif
}

// h = u + (x − (u − v_reset))·k, rounded step by step in SpikingJelly's order (so its spikes are matched bit for
// bit where its k is ours: PLIF's sigmoid(w), or 1/τ for a power-of-two τ).
template <typename acc_t>
FASTLIF_HD acc_t charge_scaled(acc_t k, acc_t u, acc_t x, acc_t v_reset) {
#if defined(__CUDA_ARCH__)
  if constexpr (sizeof(acc_t) == 4) {
    return __fadd_rn(u, __fmul_rn(__fsub_rn(x, __fsub_rn(u, v_reset)), k));
  } else {
    return __dadd_rn(u, __dmul_rn(__dsub_rn(x, __dsub_rn(u, v_reset)), k));
  }
#else
  return u + (x - (u - v_reset)) * k;
#endif
}

// Strict '>' against the neuron's fire level (the threshold, or just below it for '>=': see Scalars).
template <typename acc_t>
FASTLIF_HD bool fire(acc_t h, acc_t fire_at) {
  return h > fire_at;
}

// The charge of one step from the state u: the equation's charge, then SubtractNext's delayed reset (the state u
// is the previous pre-reset membrane, so u's own spike is the previous step's).
template <Charge C, Reset R, typename acc_t>
FASTLIF_HD acc_t charge_step(acc_t u, acc_t x, const Param<acc_t>& p, acc_t v_reset) {
  acc_t h;
  if constexpr (C == Charge::Decay) {
    h = charge(p.a, u, x);
  } else {
    h = charge_scaled(p.a, u, x, v_reset);
  }
  if constexpr (R == Reset::SubtractNext) h = fire(u, p.fire_at) ? h - p.threshold : h;
  return h;
}

// Hard reset to v_reset, or soft reset by subtracting the threshold; SubtractNext resets in the next charge.
// Written as a select, which equals the SPEC's h·(1−s) + v_reset·s and h − threshold·s for every finite h.
template <Reset R, typename acc_t>
FASTLIF_HD acc_t reset(acc_t h, bool s, const Param<acc_t>& p, acc_t v_reset) {
  if constexpr (R == Reset::Hard) {
    return s ? v_reset : h;
  } else if constexpr (R == Reset::Soft) {
    return s ? h - p.threshold : h;
  } else {
    return h;
  }
}

// sg(z), z = h − threshold: the surrogate derivative of the Heaviside (SPEC §3; each integrates to 1).
template <Surrogate K, typename acc_t>
FASTLIF_HD acc_t surrogate_grad(acc_t z, acc_t p) {
  const acc_t one = acc_t(1);
  if constexpr (K == Surrogate::Triangle) {  // (1/γ²)·max(0, γ − |z|)
    const acc_t r = p - math_abs(z);
    return (r > acc_t(0) ? r : acc_t(0)) / (p * p);  // divide unconditionally: a guarded division won't vectorise
  } else if constexpr (K == Surrogate::Rectangle) {  // (1/a)·1[|z| < a/2]
    return (math_abs(z) < p / acc_t(2) ? one : acc_t(0)) / p;
  } else if constexpr (K == Surrogate::Sigmoid) {  // α·σ(αz)·(1 − σ(αz)) = α·e/(1 + e)², e = e^(−α|z|)
    // Even in z, so e <= 1: no overflow to clamp, and no 1 − σ that cancels to 0 where σ rounds to 1.
    const acc_t e = math_exp_nonpositive(-p * math_abs(z));
    const acc_t d = one + e;
    return p * e / (d * d);
  } else if constexpr (K == Surrogate::ATan) {  // α / (2·(1 + (π/2·α·z)²))
    const acc_t w = acc_t(1.5707963267948966) * p * z;
    return p / (acc_t(2) * fused(w, w, one));
  } else {  // SuperSpike: (β/2) / (1 + β·|z|)²
    const acc_t d = fused(p, math_abs(z), one);
    return (p / acc_t(2)) / (d * d);
  }
}

// One reverse step of BPTT (SPEC §2): dh[t] (without dL/dh[t]) from the incoming spike gradient and du = dL/du[t].
// The spike is recomputed from the stored membrane, which store_membrane() keeps consistent with the forward.
// With Grads, *dthr receives this step's dL/dthreshold through the spike and the reset (not through the charge:
// see charge_grads()).
template <Reset R, bool Detach, Surrogate K, bool Grads = false, typename acc_t>
FASTLIF_HD acc_t backward_step(acc_t h, acc_t grad_s, acc_t du, const Param<acc_t>& p, acc_t v_reset,
                               acc_t sg_param, acc_t* dthr = nullptr) {
  const bool s = fire(h, p.fire_at);
  const acc_t g = surrogate_grad<K>(h - p.threshold, sg_param);
  const acc_t keep = s ? acc_t(0) : acc_t(1);
  acc_t dudh, duds;  // ∂u/∂h with the spike's path (the surrogate), and ∂u/∂s alone
  if constexpr (R == Reset::Hard) {
    dudh = Detach ? keep : fused(v_reset - h, g, keep);  // reset gradient kept, as the TET/SLT code does
    duds = Detach ? acc_t(0) : v_reset - h;
  } else if constexpr (R == Reset::Soft) {
    dudh = Detach ? acc_t(1) : fused(-p.threshold, g, acc_t(1));
    duds = Detach ? acc_t(0) : -p.threshold;
  } else {  // SubtractNext: u = h
    dudh = acc_t(1);
    duds = acc_t(0);
  }
  if constexpr (Grads) {
    // s = H(h − θ): ∂s/∂θ = −g; the soft reset also subtracts θ itself.
    acc_t d = -fused(du, duds, grad_s) * g;
    if constexpr (R == Reset::Soft) d = s ? d - du : d;
    *dthr = d;
  }
  return fused(grad_s, g, du * dudh);
}

// dL/dx[t] from dh[t]: ∂h/∂x is 1, or k for the scaled input.
template <Charge C, typename acc_t>
FASTLIF_HD acc_t input_grad(acc_t dh, const Param<acc_t>& p) {
  if constexpr (C == Charge::Decay) {
    return dh;
  } else {
    return dh * p.a;
  }
}

// dL/du[t−1] from dh[t]: ∂h/∂u is a, or 1 − k for the scaled input (SubtractNext's reset is detached).
template <Charge C, typename acc_t>
FASTLIF_HD acc_t state_grad(acc_t dh, const Param<acc_t>& p) {
  if constexpr (C == Charge::Decay) {
    return p.a * dh;
  } else {
    return fused(-p.a, dh, dh);
  }
}

// The charge's share of the parameter gradients of step t, from dh[t], the state u[t−1] it started from and x[t]:
// ∂h/∂a = u[t−1] (Decay) or x − (u[t−1] − v_reset) (ScaledInput); SubtractNext's charge adds −θ·s[t−1].
template <Charge C, Reset R, typename acc_t>
FASTLIF_HD void charge_grads(acc_t dh, acc_t u_prev, acc_t x, const Param<acc_t>& p, acc_t v_reset, acc_t& ga,
                             acc_t& gt) {
  if constexpr (C == Charge::Decay) {
    ga = fused(dh, u_prev, ga);
  } else {
    ga = fused(dh, x - (u_prev - v_reset), ga);
  }
  if constexpr (R == Reset::SubtractNext) gt = fire(u_prev, p.fire_at) ? gt - dh : gt;
}

// Store the pre-reset membrane in the storage type so that `load(stored) > threshold` equals the spike that
// fired. Round-to-nearest into fp16/bf16 can land on the other side of the threshold; then the stored value
// moves one ulp toward the spike's side — otherwise the backward would see a different spike (a wrong gradient).
// Both corrections act on positive values (threshold > 0), so one ulp is ±1 on the bit pattern.
// fire_at: the level h must exceed (Scalars).
// Traits: type, exact (no rounding), from_acc, to_acc, bits, from_bits.
template <typename Traits, typename acc_t>
FASTLIF_HD typename Traits::type store_membrane(acc_t h, bool s, acc_t fire_at) {
  typename Traits::type v = Traits::from_acc(h);
  if constexpr (!Traits::exact) {
    const bool above = fire(Traits::to_acc(v), fire_at);
    const uint16_t b = Traits::bits(v);
    const uint16_t toward_spike = static_cast<uint16_t>(s ? b + 1 : b - 1);
    v = Traits::from_bits(above == s ? b : toward_spike);  // a select, so CPU loops still vectorise
  }
  return v;
}

}  // namespace fastlif
