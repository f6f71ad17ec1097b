// The CPU kernels for the compiler's baseline target (x86-64: SSE2; other architectures: their default).
#include "lif_cpu_isa_prelude.h"

#define FASTLIF_CPU_ISA baseline
#define FASTLIF_CPU_F64 1  // fp64 (gradcheck) runs only here
#include "lif_cpu_kernels.h"
