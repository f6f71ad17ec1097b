// The CUDA twin of the fused LIF kernels (csrc/cpu/lif_cpu.h has the same shape): torch-free launchers on the
// `[T, N]` views of lif_params.h. They enqueue on `stream` and return without synchronising; a launch error is
// thrown as std::runtime_error, an empty tensor (T·N = 0) is a no-op.
#pragma once

#include <cuda_runtime.h>

#include "../lif_params.h"

namespace fastlif {

void lif_forward_cuda(const LifForwardArgs& a, cudaStream_t stream);
void lif_backward_cuda(const LifBackwardArgs& a, cudaStream_t stream);

}  // namespace fastlif
