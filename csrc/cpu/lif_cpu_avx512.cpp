// The CPU kernels for AVX-512 (F, BW, VL, DQ): 512-bit vectors with mask registers, so the selects of the
// fire/reset/surrogate math and the 16-bit conversions stay in vector registers.
#if defined(__x86_64__)
#include "lif_cpu_isa_prelude.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,fma,prefer-vector-width=512")
#define FASTLIF_CPU_ISA avx512
#include "lif_cpu_kernels.h"
#endif
