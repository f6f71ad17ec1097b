// The CPU twin of the fused LIF kernels: torch-free, OpenMP over neuron chunks.
#pragma once

#include "../lif_params.h"

namespace fastlif {

void lif_forward_cpu(const LifForwardArgs& a);
void lif_backward_cpu(const LifBackwardArgs& a);

}  // namespace fastlif
