// The CPU twin of the fused LIF kernels: torch-free, OpenMP over neuron chunks, compiled for several instruction
// sets and dispatched at run time (lif_cpu.cpp).
#pragma once

#include "../lif_params.h"

namespace fastlif {

void lif_forward_cpu(const LifForwardArgs& a);
void lif_backward_cpu(const LifBackwardArgs& a);

// The instruction set the kernels run with: "avx512", "avx2" or "baseline" — the best this CPU supports, unless
// the environment variable FASTLIF_CPU_ISA names a lower one (as ATEN_CPU_CAPABILITY does for ATen).
const char* lif_cpu_isa();

}  // namespace fastlif
