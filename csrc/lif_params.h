// The arguments of one kernel call as one struct passed by value (mamba's SSMParamsBase shape): raw pointers,
// sizes and scalars. The tensors are the `[T, N]` views (row stride N, neurons contiguous); no torch types.
#pragma once

#include <cstdint>

namespace fastlif {

enum class DType : int { F32 = 0, F64 = 1, F16 = 2, BF16 = 3 };

struct LifOptions {
  double decay, threshold, v_reset, sg_param;
  int reset;      // Reset
  int surrogate;  // Surrogate
  bool detach_reset;
};

// x, s, h in the input dtype; v_init and u_final in the state type (double for F64, float otherwise).
struct LifForwardArgs {
  const void* x;
  const void* v_init;  // nullptr: start from 0
  void* s;
  void* h;  // nullptr: not saved (inference without return_state)
  void* u_final;
  int64_t T, N;
  DType dtype;
  LifOptions opt;
  int threads;  // CPU only
};

// grad_s, grad_h, h, grad_x in the input dtype; grad_u (dL/du[T]) and grad_v (dL/dv_init) in the state type.
struct LifBackwardArgs {
  const void* grad_s;
  const void* grad_h;  // nullptr: h not used downstream
  const void* grad_u;  // nullptr: u_final not used downstream
  const void* h;
  void* grad_x;
  void* grad_v;
  int64_t T, N;
  DType dtype;
  LifOptions opt;
  int threads;  // CPU only
};

}  // namespace fastlif
