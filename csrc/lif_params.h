// The arguments of one kernel call as one struct passed by value (mamba's SSMParamsBase shape): raw pointers,
// sizes and scalars. The tensors are `[T, N]` in memory (row stride N, neurons contiguous); no torch types.
// A null output pointer means nobody reads that output, so the kernel does not write it; a null input means
// the tensor is zero (or, for h in backward, that the kernel recomputes it from x).
#pragma once

#include <cstdint>

namespace fastlif {

enum class DType : int { F32 = 0, F64 = 1, F16 = 2, BF16 = 3 };

struct LifOptions {
  double decay, threshold, v_reset, sg_param;  // decay: the charge's parameter (the rate 1/τ for Charge::ScaledInput)
  int reset;      // Reset
  int surrogate;  // Surrogate
  bool detach_reset;
  int charge = 0;        // Charge
  bool fire_ge = false;  // fire at h >= threshold instead of h > threshold
};

// Per-neuron parameters `[N]` in the state type and one time step's memory order, or one value for every neuron
// (stride 0: a per-layer parameter is read in place, not expanded); nullptr: the scalar in LifOptions.
struct ParamTensors {
  const void* decay = nullptr;
  const void* threshold = nullptr;
  int64_t decay_stride = 1, threshold_stride = 1;
  bool any() const { return decay != nullptr || threshold != nullptr; }
  // One value for every neuron: each tensor given has one element (stride 0), or none is given.
  bool uniform() const { return (!decay || decay_stride == 0) && (!threshold || threshold_stride == 0); }
};

// x, s, h in the input dtype; v_init and u_final in the state type (double for F64, float otherwise).
struct LifForwardArgs {
  const void* x;
  const void* v_init;  // nullptr: start from 0
  void* s;
  void* h;        // nullptr: not written (nobody returns it and backward recomputes it)
  void* u_final;  // nullptr: not written (no caller keeps the state)
  int64_t T, N;
  DType dtype;
  LifOptions opt;
  int threads;  // CPU only
  ParamTensors params;
};

// grad_s, grad_h, h, x, grad_x in the input dtype; v_init, grad_u (dL/du[T]) and grad_v (dL/dv_init) in the state
// type. The membrane comes from h when the forward saved it, else it is recomputed from x and v_init — the same
// arithmetic as the forward, so the spikes and membranes are the forward's, bit for bit (SPEC §9's 5w variant).
struct LifBackwardArgs {
  const void* x;       // read when h is nullptr, and for the rate gradient of Charge::ScaledInput
  const void* v_init;  // nullptr: the forward started from 0
  const void* h;       // nullptr: recompute from x
  const void* grad_s;  // nullptr: the spikes are not used downstream
  const void* grad_h;  // nullptr: h not used downstream
  const void* grad_u;  // nullptr: u_final not used downstream
  void* grad_x;
  void* grad_v;  // nullptr: not written (v_init needs no gradient)
  int64_t T, N;
  DType dtype;
  LifOptions opt;
  int threads;  // CPU only
  ParamTensors params;
  // dL/d(decay) and dL/d(threshold) (state type), each summed over t by the one thread that owns the neuron, in a
  // fixed order (deterministic, no atomics): per neuron `[N]`, or for a one-element parameter (stride 0) one value,
  // the CPU kernel's sum over its chunks in chunk order (the CUDA kernel always writes `[N]`; lif_ops.cpp reduces).
  // Computed whenever a parameter is a tensor (the kernels' per-neuron variant), written where not nullptr.
  void* grad_decay = nullptr;
  void* grad_threshold = nullptr;
};

}  // namespace fastlif
