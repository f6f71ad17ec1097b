// Kernel-only timing of the CPU forward and backward, torch-free: one instantiation each (fp32, decay charge, hard
// reset, sigmoid surrogate, scalar parameters; the backward recomputes the membrane), compiled for this machine in
// about a second, so a kernel change can be tried before the minutes-long extension build. Not a benchmark of
// record (bench/lif_cpu.py is: peers in the same run, torch's allocation): outputs are allocated once, so no page
// faults are timed.
//   make bench-cpu-kernel            (or: ./build-bench/cpu_kernel T [N] [threads])
#define FASTLIF_CPU_ISA native
#define FASTLIF_CPU_KERNELS_ONLY
#include "../csrc/cpu/lif_cpu_kernels.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using namespace fastlif;

namespace {

template <typename F>
double median_ms(F&& f) {
  std::vector<double> ms;
  for (int r = 0; r < 41; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s T [N] [threads]\n", argv[0]);
    return 2;
  }
  const int64_t T = std::atoll(argv[1]), N = argc > 2 ? std::atoll(argv[2]) : int64_t(1) << 20;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  if (T < 1 || N < 1 || threads < 1) {
    std::fprintf(stderr, "T, N and threads must be >= 1\n");
    return 2;
  }
  std::vector<float> x(T * N), s(T * N), gs(T * N), gx(T * N);
  std::mt19937 gen(0);
  std::normal_distribution<float> normal(0.5f, 0.8f);  // around the threshold, as bench/kernels.py's inputs
  for (int64_t i = 0; i < T * N; ++i) {
    x[i] = normal(gen);
    gs[i] = normal(gen);
  }
  const LifOptions opt{0.5, 1.0, 0.0, 4.0, int(Reset::Hard), int(Surrogate::Sigmoid), false, int(Charge::Decay), false};
  const LifForwardArgs f{x.data(), nullptr, s.data(), nullptr, nullptr, T, N, DType::F32, opt, threads, {}};
  const LifBackwardArgs b{x.data(), nullptr, nullptr, gs.data(), nullptr, nullptr, gx.data(), nullptr,
                          T, N, DType::F32, opt, threads, {}};
  const double fwd = median_ms([&] {
    native::forward_kernel<float, float, Charge::Decay, Reset::Hard, false, false>(f);
  });
  const double bwd = median_ms([&] {
    native::backward_kernel<float, float, Charge::Decay, Reset::Hard, false, Surrogate::Sigmoid,
                            native::Params::Scalar>(b);
  });
  // Bytes moved: forward reads x and writes s, backward reads x and dL/ds and writes dL/dx (SPEC §9's 5w).
  const double mb = double(T * N) * sizeof(float) / 1e6;
  std::printf("T=%lld N=%lld threads=%d: forward %.3f ms (%.1f GB/s), backward %.3f ms (%.1f GB/s)\n",
              static_cast<long long>(T), static_cast<long long>(N), threads, fwd, 2 * mb / fwd, bwd, 3 * mb / bwd);
  return 0;
}
