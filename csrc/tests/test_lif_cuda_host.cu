// ctest without a GPU for the CUDA kernels: compiled by nvcc, it runs every thread of the real launch plan
// (same dispatch, same vector width, same grid, same per-thread body as csrc/cuda/lif_cuda.cu) on the host and
// compares the outputs with the CPU twin bit for bit. This checks what is CUDA-specific — neuron indexing,
// 16-byte vectors, the kSteps time unrolling and its tail, the bounds check of the last block, the __half /
// __nv_bfloat16 storage traits — while the per-element math is the shared lif_math.h already tested on the CPU.
// Every output buffer has a guard zone behind it (an out-of-bounds write fails) and starts filled with a NaN
// pattern (an element left unwritten fails).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cpu/half_types.h"
#include "cpu/lif_cpu.h"
#include "cuda/lif_cuda_kernels.cuh"

using namespace fastlif;

static int failures = 0, checks = 0;
#define EXPECT(cond, ...)                                       \
  do {                                                          \
    ++checks;                                                   \
    if (!(cond)) {                                              \
      std::printf("FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                 \
      std::printf("\n");                                        \
      ++failures;                                               \
    }                                                           \
  } while (0)

constexpr size_t kGuard = 64;  // bytes behind every buffer that no kernel may touch
constexpr unsigned char kFill = 0xFF;

// A byte buffer whose data starts 16-byte aligned plus `shift` bytes, followed by a guard zone.
struct Buffer {
  std::vector<unsigned char> raw;
  size_t offset = 0, bytes = 0;
  Buffer(size_t nbytes, size_t shift) : raw(nbytes + kGuard + 32, kFill), bytes(nbytes) {
    const auto base = reinterpret_cast<uintptr_t>(raw.data());
    offset = ((16 - base % 16) % 16) + shift;
  }
  void* data() { return raw.data() + offset; }
  bool guard_intact() const {
    for (size_t i = offset + bytes; i < offset + bytes + kGuard; ++i)
      if (raw[i] != kFill) return false;
    return true;
  }
  bool same_bytes(const Buffer& o) const {
    return bytes == o.bytes && std::memcmp(raw.data() + offset, o.raw.data() + o.offset, bytes) == 0;
  }
};

static uint32_t rng_state = 12345;
static float uniform(float lo, float hi) {  // a fixed LCG: the test is reproducible
  rng_state = rng_state * 1664525u + 1013904223u;
  return lo + (hi - lo) * float(rng_state >> 8) / float(1 << 24);
}

// n elements of the given dtype drawn from [lo, hi), stored as that dtype's bytes.
static void fill(Buffer& b, DType d, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = uniform(lo, hi);
    unsigned char* p = static_cast<unsigned char*>(b.data());
    switch (d) {
      case DType::F32: std::memcpy(p + 4 * i, &v, 4); break;
      case DType::F64: { const double w = v; std::memcpy(p + 8 * i, &w, 8); break; }
      case DType::F16: { const half_t w = to_half(v); std::memcpy(p + 2 * i, &w, 2); break; }
      case DType::BF16: { const bfloat16_t w = to_bfloat16(v); std::memcpy(p + 2 * i, &w, 2); break; }
    }
  }
}

// Element i of a state-type buffer (float, or double for F64).
static double state_at(Buffer& b, DType sd, int64_t i) {
  if (sd == DType::F64) return static_cast<const double*>(b.data())[i];
  return static_cast<const float*>(b.data())[i];
}

static size_t elem_size(DType d) { return d == DType::F64 ? 8 : d == DType::F32 ? 4 : 2; }
static size_t state_size(DType d) { return d == DType::F64 ? 8 : 4; }
static const char* name(DType d) {
  const char* names[] = {"f32", "f64", "f16", "bf16"};
  return names[int(d)];
}

// Runs every thread of the grid the launcher would use; returns the vector width it chose.
static int emulate_forward(const LifForwardArgs& a) {
  int chosen = 0;
  cuda::dispatch_forward(a, [&](auto scalar, auto acc, auto vec, auto q, auto r, auto save_h, auto per_neuron,
                                const auto& c) {
    constexpr int V = decltype(vec)::value;
    const int64_t threads = int64_t(cuda::blocks_for(a.N, V)) * cuda::kBlock;
    for (int64_t t = 0; t < threads; ++t) {
      cuda::forward_neurons<decltype(scalar), decltype(acc), V, decltype(q)::value, decltype(r)::value,
                            decltype(save_h)::value, decltype(per_neuron)::value>(a, c, t);
    }
    chosen = V;
  });
  return chosen;
}

static int emulate_backward(const LifBackwardArgs& a) {
  int chosen = 0;
  cuda::dispatch_backward(a, [&](auto scalar, auto acc, auto vec, auto q, auto r, auto detach, auto k,
                                 auto has_gh, auto grads, const auto& c) {
    constexpr int V = decltype(vec)::value;
    const int64_t threads = int64_t(cuda::blocks_for(a.N, V)) * cuda::kBlock;
    for (int64_t t = 0; t < threads; ++t) {
      cuda::backward_neurons<decltype(scalar), decltype(acc), V, decltype(q)::value, decltype(r)::value,
                             decltype(detach)::value, decltype(k)::value, decltype(has_gh)::value,
                             decltype(grads)::value>(a, c, t);
    }
    chosen = V;
  });
  return chosen;
}

struct Case {
  DType dtype;
  int64_t T, N;
  size_t shift;  // bytes added to every [T, N] pointer (misaligned → scalar path)
  int want_vec;
};

// The equations (charge, reset) the kernels switch between; odd ones also fire at '>=' and take per-neuron
// decay/threshold tensors.
struct Equation {
  int charge, reset;
};
static const Equation kEquations[] = {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}};

// Forward and (for every equation/detach/surrogate/grad_h combination) backward of one case, GPU body vs CPU twin.
// With grad_h, the backward also computes the per-neuron parameter gradients (and reads x for the scaled input).
static void run_case(const Case& k) {
  const DType d = k.dtype;
  const DType sd = d == DType::F64 ? DType::F64 : DType::F32;
  const size_t tn = size_t(k.T * k.N) * elem_size(d), ns = size_t(k.N) * state_size(d);
  Buffer x(tn, k.shift), v0(ns, 0), gs(tn, k.shift), gh(tn, k.shift), gu(ns, 0), dec(ns, 0), thr(ns, 0);
  fill(x, d, k.T * k.N, -0.6f, 1.6f);
  fill(gs, d, k.T * k.N, -1.0f, 1.0f);
  fill(gh, d, k.T * k.N, -1.0f, 1.0f);
  fill(v0, sd, k.N, -0.5f, 1.2f);
  fill(gu, sd, k.N, -1.0f, 1.0f);
  fill(dec, sd, k.N, 0.3f, 1.0f);
  fill(thr, sd, k.N, 0.6f, 1.4f);

  for (int e = 0; e < 5; ++e) {
    const int reset = kEquations[e].reset;
    const bool per_neuron = e % 2 == 1;
    // Odd equations: a per-neuron decay and a per-layer threshold read in place (stride 0).
    const ParamTensors pt = per_neuron ? ParamTensors{dec.data(), thr.data(), 1, 0} : ParamTensors{};
    for (int with_v0 = 0; with_v0 < 2; ++with_v0) {
      const LifOptions o{0.75, 1.0, reset ? 0.0 : -0.2, 1.0, reset, 0, false, kEquations[e].charge, per_neuron};
      Buffer s_cpu(tn, k.shift), h_cpu(tn, k.shift), u_cpu(ns, 0);
      Buffer s_gpu(tn, k.shift), h_gpu(tn, k.shift), u_gpu(ns, 0);
      const void* v = with_v0 ? v0.data() : nullptr;
      lif_forward_cpu({x.data(), v, s_cpu.data(), h_cpu.data(), u_cpu.data(), k.T, k.N, d, o, 1, pt});
      const int vec =
          emulate_forward({x.data(), v, s_gpu.data(), h_gpu.data(), u_gpu.data(), k.T, k.N, d, o, 1, pt});
      EXPECT(vec == k.want_vec, "%s T=%lld N=%lld shift=%zu: vector %d, want %d", name(d), (long long)k.T,
             (long long)k.N, k.shift, vec, k.want_vec);
      EXPECT(s_gpu.same_bytes(s_cpu) && h_gpu.same_bytes(h_cpu) && u_gpu.same_bytes(u_cpu),
             "%s T=%lld N=%lld reset=%d v_init=%d: forward differs from the CPU twin", name(d), (long long)k.T,
             (long long)k.N, reset, with_v0);
      EXPECT(s_gpu.guard_intact() && h_gpu.guard_intact() && u_gpu.guard_intact(), "%s: forward wrote past the end",
             name(d));

      // Inference (h not saved) writes the same spikes and state and leaves h alone; without u_final, spikes only.
      Buffer s_inf(tn, k.shift), u_inf(ns, 0), s_only(tn, k.shift);
      emulate_forward({x.data(), v, s_inf.data(), nullptr, u_inf.data(), k.T, k.N, d, o, 1, pt});
      EXPECT(s_inf.same_bytes(s_cpu) && u_inf.same_bytes(u_cpu), "%s: forward without h differs", name(d));
      emulate_forward({x.data(), v, s_only.data(), nullptr, nullptr, k.T, k.N, d, o, 1, pt});
      EXPECT(s_only.same_bytes(s_cpu), "%s: forward without h and u_final differs", name(d));

      if (with_v0 == 0) continue;  // the backward does not depend on v_init beyond h (and the parameter grads)
      for (int detach = 0; detach < 2; ++detach) {
        for (int sg = 0; sg < 5; ++sg) {
          for (int with_gh = 0; with_gh < 2; ++with_gh) {
            LifOptions ob = o;
            ob.sg_param = sg == 4 ? 10.0 : 1.5;
            ob.surrogate = sg;
            ob.detach_reset = detach == 1;
            const void* g_h = with_gh ? gh.data() : nullptr;
            const void* g_u = with_gh ? gu.data() : nullptr;  // grad_u present exactly when grad_h is: both paths
            Buffer gx_cpu(tn, k.shift), gv_cpu(ns, 0), gx_gpu(tn, k.shift), gv_gpu(ns, 0);
            Buffer gd_cpu(ns, 0), gt_cpu(ns, 0), gd_gpu(ns, 0), gt_gpu(ns, 0);
            // The parameter gradients of the per-neuron variant; written only where asked for.
            void* gdc = with_gh ? gd_cpu.data() : nullptr;
            void* gtc = per_neuron ? gt_cpu.data() : nullptr;
            void* gdg = with_gh ? gd_gpu.data() : nullptr;
            void* gtg = per_neuron ? gt_gpu.data() : nullptr;
            const void* xx = per_neuron || with_gh ? x.data() : nullptr;  // the scaled input's rate gradient
            lif_backward_cpu({xx, v, h_cpu.data(), gs.data(), g_h, g_u, gx_cpu.data(), gv_cpu.data(), k.T, k.N, d,
                              ob, 1, pt, gdc, gtc});
            emulate_backward({xx, v, h_cpu.data(), gs.data(), g_h, g_u, gx_gpu.data(), gv_gpu.data(), k.T, k.N, d,
                              ob, 1, pt, gdg, gtg});
            // The per-layer threshold (stride 0): the CPU kernel sums its gradient to one value, the CUDA kernel
            // writes per-neuron sums for lif_ops.cpp to reduce — the same sum up to the order of its additions.
            double gt_sum = 0, gt_abs = 0;
            for (int64_t n = 0; per_neuron && n < k.N; ++n) {
              const double g = state_at(gt_gpu, sd, n);
              gt_sum += g;
              gt_abs += std::fabs(g);
            }
            const bool gt_equal = !per_neuron || std::fabs(state_at(gt_cpu, sd, 0) - gt_sum) <=
                                                     (sd == DType::F64 ? 1e-12 : 1e-5) * (gt_abs + 1.0);
            EXPECT(gx_gpu.same_bytes(gx_cpu) && gv_gpu.same_bytes(gv_cpu) && gd_gpu.same_bytes(gd_cpu) && gt_equal,
                   "%s T=%lld N=%lld charge=%d reset=%d detach=%d surrogate=%d grad_h=%d: backward differs",
                   name(d), (long long)k.T, (long long)k.N, kEquations[e].charge, reset, detach, sg, with_gh);
            EXPECT(gx_gpu.guard_intact() && gv_gpu.guard_intact(), "%s: backward wrote past the end", name(d));
          }
        }
      }
    }
  }
}

// The grid covers every neuron exactly once: enough threads, and no whole block past the end.
static void launch_plan() {
  for (int64_t N : {int64_t(1), int64_t(127), int64_t(128), int64_t(129), int64_t(1) << 20, (int64_t(1) << 20) + 3}) {
    for (int vec : {1, 2, 4, 8}) {
      const int64_t covered = int64_t(cuda::blocks_for(N, vec)) * cuda::kBlock * vec;
      EXPECT(covered >= N && covered - int64_t(cuda::kBlock) * vec < N, "N=%lld vec=%d covers %lld", (long long)N,
             vec, (long long)covered);
    }
  }
  const int64_t big = cuda::kMinVectorThreads * 8;
  alignas(16) static float buf[8];
  EXPECT(cuda::pick_vector(big, 8, 2, {buf}) == 8, "aligned bf16 rows take 16-byte vectors");
  EXPECT(cuda::pick_vector(big + 8, 8, 2, {buf, nullptr}) == 8, "an absent optional tensor does not block vectors");
  EXPECT(cuda::pick_vector(big + 1, 8, 2, {buf}) == 1, "a ragged row forces one neuron per thread");
  EXPECT(cuda::pick_vector(big, 8, 2, {buf + 1}) == 1, "a misaligned tensor forces one neuron per thread");
  EXPECT(cuda::pick_vector(big / 2, 8, 2, {buf}) == 1, "too few vectors to fill the GPU → one neuron per thread");
  EXPECT(cuda::pick_vector(big, 1, 8, {buf}) == 1, "fp64 stays scalar");
}

// The storage traits round like the CPU twin's (round to nearest even) and keep the fired spike visible.
static void storage_traits() {
  int fp16_mismatch = 0, bf16_mismatch = 0;
  for (int i = 0; i < 20000; ++i) {
    const float v = uniform(-3.0f, 3.0f);
    fp16_mismatch += cuda::Storage<__half>::bits(cuda::Storage<__half>::from_acc(v)) != to_half(v).x;
    fp16_mismatch += cuda::Storage<__half>::to_acc(cuda::Storage<__half>::from_acc(v)) != to_float(to_half(v));
    bf16_mismatch += cuda::Storage<__nv_bfloat16>::bits(cuda::Storage<__nv_bfloat16>::from_acc(v)) != to_bfloat16(v).x;
  }
  EXPECT(fp16_mismatch == 0, "%d fp16 conversions differ from the CPU twin's", fp16_mismatch);
  EXPECT(bf16_mismatch == 0, "%d bf16 conversions differ from the CPU twin's", bf16_mismatch);
  // 1 + 2^-12 rounds to 1.0 in fp16 and bf16: a spike at threshold 1 must still be stored above it.
  const float just_above = 1.0f + 1.0f / 4096.0f;
  const __half hh = store_membrane<cuda::Storage<__half>>(just_above, true, 1.0f);
  const __nv_bfloat16 hb = store_membrane<cuda::Storage<__nv_bfloat16>>(just_above, true, 1.0f);
  EXPECT(cuda::Storage<__half>::to_acc(hh) > 1.0f, "fp16 stored membrane of a spike lies above threshold");
  EXPECT(cuda::Storage<__nv_bfloat16>::to_acc(hb) > 1.0f, "bf16 stored membrane of a spike lies above threshold");
}

int main() {
  launch_plan();
  storage_traits();
  const int64_t wide = cuda::kMinVectorThreads;
  const Case cases[] = {
      {DType::F32, 7, 4 * wide, 0, 4},         // vector path, T not a multiple of kSteps
      {DType::F16, 5, 8 * wide, 0, 8},
      {DType::BF16, 6, 8 * wide, 0, 8},
      {DType::BF16, 3, 8 * wide, 2, 1},        // misaligned by one element → scalar path
      {DType::F32, 9, 1000, 0, 1},             // small N → scalar path, last block partly empty
      {DType::F16, 4, 8 * wide + 4, 0, 1},     // ragged N (not a multiple of the vector)
      {DType::F64, 5, 777, 0, 1},
      {DType::F32, 1, 1, 0, 1},
  };
  for (const Case& k : cases) run_case(k);
  std::printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
