// ctest for the torch-free CPU kernel core: a hand-computed LIF sequence, the backward against finite
// differences of the spike-free path, the fp16/bf16 conversions, and the membrane-storage rule.
#include <cmath>
#include <cstdio>
#include <vector>

#include "cpu/half_types.h"
#include "cpu/lif_cpu.h"
#include "lif_math.h"

using namespace fastlif;

static int failures = 0;
#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

static LifOptions hard_triangle() { return LifOptions{0.5, 1.0, 0.0, 1.0, 0, 0, false}; }

static void forward_by_hand() {
  // One neuron, decay 0.5, threshold 1: h = 0.6, 1.3 (fires, reset 0), 0.2, 1.1 (fires).
  std::vector<float> x = {0.6f, 1.0f, 0.2f, 1.0f}, s(4), h(4), u(1);
  LifForwardArgs a{x.data(), nullptr, s.data(), h.data(), u.data(), 4, 1, DType::F32, hard_triangle(), 1};
  lif_forward_cpu(a);
  const float want_h[] = {0.6f, 0.5f * 0.6f + 1.0f, 0.2f, 0.5f * 0.2f + 1.0f};
  const float want_s[] = {0, 1, 0, 1};
  for (int t = 0; t < 4; ++t) {
    EXPECT(h[t] == want_h[t]);
    EXPECT(s[t] == want_s[t]);
  }
  EXPECT(u[0] == 0.0f);
  // Soft reset subtracts the threshold instead.
  a.opt.reset = 1;
  lif_forward_cpu(a);
  EXPECT(std::fabs(u[0] - (0.5f * (0.5f * (1.3f - 1.0f) + 0.2f) + 1.0f - 1.0f)) < 1e-6f);
}

static void backward_matches_finite_differences() {
  // Below threshold, with the reset detached, the LIF is linear and the surrogate never enters: L = Σ_t w_t·h_t
  // then has an exact dL/dx to compare the kernel's grad_h path with.
  const int T = 5;
  std::vector<double> x = {0.1, 0.2, -0.3, 0.25, 0.05}, s(T), h(T), u(1);
  std::vector<double> gs(T, 0.0), gh = {1.0, -2.0, 0.5, 3.0, 1.5}, gx(T), gv(1);
  LifOptions o = hard_triangle();
  o.detach_reset = true;
  LifForwardArgs f{x.data(), nullptr, s.data(), h.data(), u.data(), T, 1, DType::F64, o, 1};
  lif_forward_cpu(f);
  LifBackwardArgs b{nullptr, nullptr, h.data(), gs.data(), gh.data(), nullptr, gx.data(), gv.data(), T, 1,
                    DType::F64, o, 1};
  lif_backward_cpu(b);
  for (int k = 0; k < T; ++k) {
    const double eps = 1e-6;
    auto loss = [&](double dx) {
      std::vector<double> xx = x;
      xx[k] += dx;
      LifForwardArgs ff{xx.data(), nullptr, s.data(), h.data(), u.data(), T, 1, DType::F64, o, 1};
      lif_forward_cpu(ff);
      double l = 0;
      for (int t = 0; t < T; ++t) l += gh[t] * h[t];
      return l;
    };
    EXPECT(std::fabs((loss(eps) - loss(-eps)) / (2 * eps) - gx[k]) < 1e-7);
  }
}

// The backward that recomputes the membrane from x (what the op runs on the CPU) equals the one that reads the
// forward's stored h, bit for bit in fp32 and for every reset/surrogate; a missing grad_s reads as zeros.
static void recompute_equals_stored_membrane() {
  const int64_t T = 7, N = 1500;  // several chunks, a ragged last one
  std::vector<float> x(T * N), v0(N), s(T * N), h(T * N), u(N), gs(T * N), gh(T * N), gu(N), zeros(T * N, 0.0f);
  for (int64_t i = 0; i < T * N; ++i) {
    x[i] = float((i * 7919) % 2000) / 1000.0f - 0.4f;
    gs[i] = float((i * 104729) % 1000) / 500.0f - 1.0f;
    gh[i] = float((i * 1299709) % 1000) / 1000.0f - 0.5f;
  }
  for (int64_t n = 0; n < N; ++n) {
    v0[n] = float(n % 17) / 10.0f - 0.5f;
    gu[n] = float(n % 13) / 6.0f - 1.0f;
  }
  for (int reset = 0; reset < 2; ++reset) {
    for (int sg = 0; sg < 5; ++sg) {
      const LifOptions o{0.8, 1.0, -0.1, sg == 4 ? 8.0 : 1.3, reset, sg, false};
      lif_forward_cpu({x.data(), v0.data(), s.data(), h.data(), u.data(), T, N, DType::F32, o, 2});
      std::vector<float> gx_h(T * N), gv_h(N), gx_x(T * N), gv_x(N), gx_none(T * N), gx_zero(T * N);
      lif_backward_cpu({nullptr, nullptr, h.data(), gs.data(), gh.data(), gu.data(), gx_h.data(), gv_h.data(), T, N,
                        DType::F32, o, 2});
      lif_backward_cpu({x.data(), v0.data(), nullptr, gs.data(), gh.data(), gu.data(), gx_x.data(), gv_x.data(), T,
                        N, DType::F32, o, 2});
      EXPECT(gx_h == gx_x);
      EXPECT(gv_h == gv_x);
      lif_backward_cpu({x.data(), v0.data(), nullptr, nullptr, gh.data(), nullptr, gx_none.data(), nullptr, T, N,
                        DType::F32, o, 2});
      lif_backward_cpu({x.data(), v0.data(), nullptr, zeros.data(), gh.data(), nullptr, gx_zero.data(), nullptr, T,
                        N, DType::F32, o, 2});
      EXPECT(gx_none == gx_zero);
    }
  }
}

static void half_conversions() {
  EXPECT(to_half(1.0f).x == 0x3C00);
  EXPECT(to_half(-2.0f).x == 0xC000);
  EXPECT(to_half(65504.0f).x == 0x7BFF);
  EXPECT(to_half(65520.0f).x == 0x7C00);               // rounds up to Inf
  EXPECT(to_half(1.0f + 1.0f / 2048).x == 0x3C00);     // tie to even (down)
  EXPECT(to_half(1.0f + 3.0f / 2048).x == 0x3C02);     // tie to even (up)
  EXPECT(to_half(std::ldexp(1.0f, -24)).x == 0x0001);  // smallest subnormal
  EXPECT(to_float(half_t{0x0001}) == std::ldexp(1.0f, -24));
  EXPECT(to_float(half_t{0x7BFF}) == 65504.0f);
  EXPECT(std::isnan(to_float(to_half(NAN))));
  EXPECT(to_bfloat16(1.0f).x == 0x3F80);
  EXPECT(to_bfloat16(1.0f + 1.0f / 256).x == 0x3F80);  // tie to even
  EXPECT(to_float(bfloat16_t{0x3F81}) == 1.0f + 1.0f / 128);
  for (uint32_t b = 0; b < 0x7C00; ++b) EXPECT(to_half(to_float(half_t{uint16_t(b)})).x == b);  // round trip
}

static void membrane_storage_keeps_the_spike() {
  using H = Storage<bfloat16_t, float>;
  const float thr = 1.0f;
  const float just_above = 1.0f + 1.0f / 1024;  // rounds to 1.0 in bf16, which is not > threshold
  EXPECT(to_float(to_bfloat16(just_above)) == 1.0f);
  EXPECT(to_float(store_membrane<H>(just_above, fire(just_above, thr), thr)) > thr);
  const float thr2 = 1.0f + 1.0f / 1024;  // 1.0009765 → bf16 1.0078125 would read as above
  const float below = 1.0f + 1.0f / 512 - 1e-6f;
  EXPECT(!fire(below, thr2 + 0.002f));
  EXPECT(!(to_float(store_membrane<H>(below, false, thr2 + 0.002f)) > thr2 + 0.002f));
}

static void exp_is_accurate() {
  // math_exp_nonpositive replaces libm's expf so the sigmoid backward vectorises; it must stay within 2 ulp of e^v.
  double worst = 0;
  for (float v = -87.0f; v <= 0.0f; v += 0.00731f) {
    const double e = std::exp(double(v));
    worst = std::fmax(worst, std::fabs(double(math_exp_nonpositive(v)) - e) / e);
  }
  EXPECT(worst < 2.4e-7);
  EXPECT(math_exp_nonpositive(0.0f) == 1.0f);
  // Clamped, never 0/denormal surprises; a NaN passes through.
  EXPECT(math_exp_nonpositive(-1000.0f) > 0.0f && math_exp_nonpositive(-1000.0f) < 1e-37f);
  EXPECT(std::isnan(math_exp_nonpositive(std::nanf(""))));
}

static void sigmoid_surrogate_is_accurate() {
  // α·e/(1 + e)², e = e^(−α|z|), against α·σ(αz)(1 − σ(αz)) in double, relative to its peak α/4, on both sides.
  const float alpha = 4.0f;
  double worst = 0;
  for (float z = -30.0f; z < 30.0f; z += 0.00377f) {
    const double sg = 1.0 / (1.0 + std::exp(-double(alpha) * z));
    worst = std::fmax(worst, std::fabs(surrogate_grad<Surrogate::Sigmoid>(z, alpha) - alpha * sg * (1 - sg)));
  }
  EXPECT(worst / (alpha / 4) < 1e-6);
  EXPECT(surrogate_grad<Surrogate::Sigmoid>(0.0f, alpha) == alpha / 4);
  EXPECT(surrogate_grad<Surrogate::Sigmoid>(3.0f, alpha) == surrogate_grad<Surrogate::Sigmoid>(-3.0f, alpha));
  EXPECT(surrogate_grad<Surrogate::Sigmoid>(5.0f, alpha) > 0.0f);  // where σ rounds to 1, 1 − σ used to give 0
}

int main() {
  exp_is_accurate();
  sigmoid_surrogate_is_accurate();
  forward_by_hand();
  backward_matches_finite_differences();
  recompute_equals_stored_membrane();
  half_conversions();
  membrane_storage_keeps_the_spike();
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
  return failures ? 1 : 0;
}
