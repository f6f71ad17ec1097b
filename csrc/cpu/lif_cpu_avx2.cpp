// The CPU kernels for AVX2: 256-bit vectors. No FMA: every multiply-add is rounded twice, as in the reference
// (and -ffp-contract=off keeps it so), so the spikes stay bit-equal to it.
#if defined(__x86_64__)
#include "lif_cpu_isa_prelude.h"

#pragma GCC target("avx2")
#define FASTLIF_CPU_ISA avx2
#include "lif_cpu_kernels.h"
#endif
