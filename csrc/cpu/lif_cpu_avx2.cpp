// The CPU kernels for AVX2 + FMA: 256-bit vectors. FMA runs only where the math asks for it by name (the exp of
// the sigmoid surrogate); -ffp-contract=off keeps the charge's multiply and add rounded apart, as in the reference,
// so the spikes stay bit-equal to it.
#if defined(__x86_64__)
#include "lif_cpu_isa_prelude.h"

#pragma GCC target("avx2,fma")
#define FASTLIF_CPU_ISA avx2
#include "lif_cpu_kernels.h"
#endif
