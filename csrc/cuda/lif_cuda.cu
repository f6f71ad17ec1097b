// CUDA launchers for the fused LIF kernels: one __global__ wrapper per direction around the per-thread bodies in
// lif_cuda_kernels.cuh (where the work layout and the bytes moved per neuron-step are written down), launched on
// the caller's stream. No synchronisation, no host round trip, no allocation.
// Traffic per neuron-step (SPEC §9, w = element size): forward reads x and writes s and h = 3w (2w when h is not
// saved); backward reads grad_s and h and writes grad_x = 3w (+w for grad_h); plus 8 bytes of fp32 state per neuron.
#include "lif_cuda.h"

#include <stdexcept>
#include <string>

#include "lif_cuda_kernels.cuh"

namespace fastlif {
namespace cuda {
namespace {

template <typename scalar_t, typename acc_t, int VEC, Charge C, Reset R, bool SaveH, bool PerNeuron>
__global__ void __launch_bounds__(kBlock) forward_kernel(const LifForwardArgs a, const Scalars<acc_t> c) {
  forward_neurons<scalar_t, acc_t, VEC, C, R, SaveH, PerNeuron>(a, c, int64_t(blockIdx.x) * kBlock + threadIdx.x);
}

template <typename scalar_t, typename acc_t, int VEC, Charge C, Reset R, bool Detach, Surrogate K, bool HasGradH,
          bool Grads>
__global__ void __launch_bounds__(kBlock) backward_kernel(const LifBackwardArgs a, const Scalars<acc_t> c) {
  backward_neurons<scalar_t, acc_t, VEC, C, R, Detach, K, HasGradH, Grads>(
      a, c, int64_t(blockIdx.x) * kBlock + threadIdx.x);
}

// Launches are asynchronous: this reports configuration errors (bad grid, no kernel image for this GPU); faults
// inside the kernel surface at the caller's next synchronising call, as for any PyTorch kernel.
void check_launch(const char* what) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("fastlif: CUDA ") + what + " kernel launch failed: " +
                             cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
  }
}

}  // namespace
}  // namespace cuda

void lif_forward_cuda(const LifForwardArgs& a, cudaStream_t stream) {
  if (a.T == 0 || a.N == 0) return;
  cuda::dispatch_forward(a, [&](auto scalar, auto acc, auto vec, auto q, auto r, auto save_h, auto per_neuron,
                                const auto& c) {
    constexpr int V = decltype(vec)::value;
    cuda::forward_kernel<decltype(scalar), decltype(acc), V, decltype(q)::value, decltype(r)::value,
                         decltype(save_h)::value, decltype(per_neuron)::value>
        <<<cuda::blocks_for(a.N, V), cuda::kBlock, 0, stream>>>(a, c);
  });
  cuda::check_launch("forward");
}

void lif_backward_cuda(const LifBackwardArgs& a, cudaStream_t stream) {
  if (a.T == 0 || a.N == 0) return;
  cuda::dispatch_backward(a, [&](auto scalar, auto acc, auto vec, auto q, auto r, auto detach, auto k,
                                 auto has_gh, auto grads, const auto& c) {
    constexpr int V = decltype(vec)::value;
    cuda::backward_kernel<decltype(scalar), decltype(acc), V, decltype(q)::value, decltype(r)::value,
                          decltype(detach)::value, decltype(k)::value, decltype(has_gh)::value,
                          decltype(grads)::value>
        <<<cuda::blocks_for(a.N, V), cuda::kBlock, 0, stream>>>(a, c);
  });
  cuda::check_launch("backward");
}

}  // namespace fastlif
