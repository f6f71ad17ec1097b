// Run-time choice of the CPU kernels' instruction set, made once when first asked (ATen's CPU_CAPABILITY idea,
// without per-file compiler flags: each lif_cpu_<isa>.cpp selects its target with #pragma GCC target).
#include "lif_cpu.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace fastlif {

#define FASTLIF_DECLARE_ISA(isa)                  \
  namespace isa {                                 \
  void lif_forward_cpu(const LifForwardArgs& a);  \
  void lif_backward_cpu(const LifBackwardArgs& a); \
  }
FASTLIF_DECLARE_ISA(baseline)
#if defined(__x86_64__)
FASTLIF_DECLARE_ISA(avx2)
FASTLIF_DECLARE_ISA(avx512)
#endif
#undef FASTLIF_DECLARE_ISA

namespace {

struct Kernels {
  const char* isa;
  void (*forward)(const LifForwardArgs&);
  void (*backward)(const LifBackwardArgs&);
};

constexpr Kernels kBaseline{"baseline", baseline::lif_forward_cpu, baseline::lif_backward_cpu};

// The best instruction set the CPU has, capped by FASTLIF_CPU_ISA; an unknown name is an error, not a silent
// fallback.
Kernels choose() {
  const char* cap = std::getenv("FASTLIF_CPU_ISA");
  const std::string want = cap && *cap ? cap : "avx512";
  if (want != "avx512" && want != "avx2" && want != "baseline") {
    throw std::invalid_argument("fastlif: FASTLIF_CPU_ISA must be avx512, avx2 or baseline, got '" + want + "'");
  }
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (want == "avx512" && avx512) return {"avx512", avx512::lif_forward_cpu, avx512::lif_backward_cpu};
  if (want != "baseline" && avx2) return {"avx2", avx2::lif_forward_cpu, avx2::lif_backward_cpu};
#endif
  return kBaseline;
}

const Kernels& kernels() {
  static const Kernels k = choose();
  return k;
}

// fp64 exists for gradcheck, not speed: one baseline copy of its kernels is enough.
const Kernels& kernels_for(DType d) { return d == DType::F64 ? kBaseline : kernels(); }

}  // namespace

// Parameters that are one value for every neuron (scalars, or one-element tensors read in place) are the options'
// scalars to the kernels (CPU tensors: readable here): the forward runs the scalar kernel with their values, the
// backward its Uniform variant, which also sums their gradients.
static LifOptions with_uniform_values(LifOptions opt, const ParamTensors& t, DType dtype) {
  const bool f64 = dtype == DType::F64;
  const auto value = [&](const void* p) { return f64 ? *static_cast<const double*>(p) : *static_cast<const float*>(p); };
  if (t.decay) opt.decay = value(t.decay);
  if (t.threshold) opt.threshold = value(t.threshold);
  return opt;
}

void lif_forward_cpu(const LifForwardArgs& a) {
  if (a.T * a.N == 0) return;
  if (!a.params.uniform()) return kernels_for(a.dtype).forward(a);
  LifForwardArgs b = a;
  b.opt = with_uniform_values(a.opt, a.params, a.dtype);
  b.params = ParamTensors{};
  kernels_for(a.dtype).forward(b);
}

void lif_backward_cpu(const LifBackwardArgs& a) {
  if (a.T * a.N == 0) return;
  if (!a.params.uniform()) return kernels_for(a.dtype).backward(a);
  LifBackwardArgs b = a;
  b.opt = with_uniform_values(a.opt, a.params, a.dtype);
  kernels_for(a.dtype).backward(b);
}

const char* lif_cpu_isa() { return kernels().isa; }

}  // namespace fastlif
