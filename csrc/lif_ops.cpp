// The torch binding: validates tensors once, builds the kernel argument structs, and registers the operators
//   fastlif::lif_forward(x, v_init?, decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset, save_h)
//       -> (s, h, u_final)
//   fastlif::lif_backward(grad_s, grad_h?, grad_u?, h, decay, threshold, v_reset, reset, surrogate, sg_param,
//       detach_reset) -> (grad_x, grad_v_init)
// for the CPU dispatch key and, when built WITH_CUDA, the CUDA key. Autograd and fake (meta) kernels are
// registered from Python (fastlif/ops.py). Tensors are the `[T, N]` views made by the Python layer.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <Python.h>
#include <torch/library.h>

#include "cpu/lif_cpu.h"
#include "lif_params.h"

#ifdef WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "cuda/lif_cuda.h"
#endif

namespace fastlif {
namespace {

at::ScalarType state_type(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

DType dtype_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return DType::F32;
    case at::kDouble: return DType::F64;
    case at::kHalf: return DType::F16;
    case at::kBFloat16: return DType::BF16;
    default: TORCH_CHECK_TYPE(false, "fastlif: x must be fp16, bf16, fp32 or fp64, got ", t.scalar_type());
  }
}

LifOptions options(double decay, double threshold, double v_reset, int64_t reset, int64_t surrogate,
                   double sg_param, bool detach_reset) {
  TORCH_CHECK_VALUE(decay >= 0.0 && decay <= 1.0, "fastlif: decay must lie in [0, 1], got ", decay);
  TORCH_CHECK_VALUE(threshold > 0.0, "fastlif: threshold must be > 0, got ", threshold);
  TORCH_CHECK_VALUE(reset == 0 || reset == 1, "fastlif: reset must be 0 (hard) or 1 (soft), got ", reset);
  TORCH_CHECK_VALUE(surrogate >= 0 && surrogate <= 4, "fastlif: surrogate id must lie in 0..4, got ", surrogate);
  TORCH_CHECK_VALUE(sg_param > 0.0, "fastlif: surrogate parameter must be > 0, got ", sg_param);
  return LifOptions{decay, threshold, v_reset, sg_param, int(reset), int(surrogate), detach_reset};
}

// A `[T, N]` tensor with x's device, dtype and layout, or a `[N]` state tensor.
void check_like(const at::Tensor& t, const at::Tensor& x, at::IntArrayRef shape, at::ScalarType dtype,
                const char* name) {
  TORCH_CHECK_VALUE(t.sizes() == shape, "fastlif: ", name, " must have shape ", shape, ", got ", t.sizes());
  TORCH_CHECK_VALUE(t.device() == x.device(), "fastlif: ", name, " must be on ", x.device(), ", got ", t.device());
  TORCH_CHECK_TYPE(t.scalar_type() == dtype, "fastlif: ", name, " must be ", dtype, ", got ", t.scalar_type());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> lif_forward(const at::Tensor& x_in,
                                                           const std::optional<at::Tensor>& v_init, double decay,
                                                           double threshold, double v_reset, int64_t reset,
                                                           int64_t surrogate, double sg_param, bool detach_reset,
                                                           bool save_h) {
  TORCH_CHECK_VALUE(x_in.dim() == 2, "fastlif: x must be the [T, N] view, got ", x_in.dim(), " dims");
  const at::Tensor x = x_in.contiguous();
  const int64_t T = x.size(0), N = x.size(1);
  const auto acc = state_type(x.scalar_type());
  at::Tensor v0;
  if (v_init.has_value()) {
    check_like(*v_init, x, {N}, acc, "v_init");
    v0 = v_init->contiguous();
  }
  at::Tensor s = at::empty_like(x);
  at::Tensor h = save_h ? at::empty_like(x) : at::empty({0}, x.options());
  at::Tensor u = at::empty({N}, x.options().dtype(acc));
  LifForwardArgs a{x.data_ptr(), v0.defined() ? v0.data_ptr() : nullptr, s.data_ptr(),
                   save_h ? h.data_ptr() : nullptr, u.data_ptr(), T, N, dtype_of(x),
                   options(decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset),
                   at::get_num_threads()};
#ifdef WITH_CUDA
  if (x.is_cuda()) {
    const c10::cuda::CUDAGuard guard(x.device());
    lif_forward_cuda(a, at::cuda::getCurrentCUDAStream());
    return {s, h, u};
  }
#endif
  lif_forward_cpu(a);
  return {s, h, u};
}

std::tuple<at::Tensor, at::Tensor> lif_backward(const at::Tensor& grad_s_in,
                                                const std::optional<at::Tensor>& grad_h,
                                                const std::optional<at::Tensor>& grad_u, const at::Tensor& h_in,
                                                double decay, double threshold, double v_reset, int64_t reset,
                                                int64_t surrogate, double sg_param, bool detach_reset) {
  TORCH_CHECK_VALUE(h_in.dim() == 2, "fastlif: h must be the saved [T, N] membrane, got ", h_in.dim(), " dims");
  const at::Tensor h = h_in.contiguous();
  const int64_t T = h.size(0), N = h.size(1);
  const auto acc = state_type(h.scalar_type());
  check_like(grad_s_in, h, h.sizes(), h.scalar_type(), "grad_s");
  const at::Tensor gs = grad_s_in.contiguous();
  at::Tensor gh, gu;
  if (grad_h.has_value()) {
    check_like(*grad_h, h, h.sizes(), h.scalar_type(), "grad_h");
    gh = grad_h->contiguous();
  }
  if (grad_u.has_value()) {
    check_like(*grad_u, h, {N}, acc, "grad_u");
    gu = grad_u->contiguous();
  }
  at::Tensor gx = at::empty_like(h);
  at::Tensor gv = at::empty({N}, h.options().dtype(acc));
  LifBackwardArgs a{gs.data_ptr(), gh.defined() ? gh.data_ptr() : nullptr, gu.defined() ? gu.data_ptr() : nullptr,
                    h.data_ptr(), gx.data_ptr(), gv.data_ptr(), T, N, dtype_of(h),
                    options(decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset),
                    at::get_num_threads()};
#ifdef WITH_CUDA
  if (h.is_cuda()) {
    const c10::cuda::CUDAGuard guard(h.device());
    lif_backward_cuda(a, at::cuda::getCurrentCUDAStream());
    return {gx, gv};
  }
#endif
  lif_backward_cpu(a);
  return {gx, gv};
}

bool built_with_cuda() {
#ifdef WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace

TORCH_LIBRARY(fastlif, m) {
  m.def("lif_forward(Tensor x, Tensor? v_init, float decay, float threshold, float v_reset, int reset, "
        "int surrogate, float sg_param, bool detach_reset, bool save_h) -> (Tensor, Tensor, Tensor)");
  m.def("lif_backward(Tensor grad_s, Tensor? grad_h, Tensor? grad_u, Tensor h, float decay, float threshold, "
        "float v_reset, int reset, int surrogate, float sg_param, bool detach_reset) -> (Tensor, Tensor)");
  m.def("built_with_cuda() -> bool", &built_with_cuda);
}

TORCH_LIBRARY_IMPL(fastlif, CPU, m) {
  m.impl("lif_forward", &lif_forward);
  m.impl("lif_backward", &lif_backward);
}

#ifdef WITH_CUDA
TORCH_LIBRARY_IMPL(fastlif, CUDA, m) {
  m.impl("lif_forward", &lif_forward);
  m.impl("lif_backward", &lif_backward);
}
#endif

}  // namespace fastlif

// A bare Python module: importing fastlif._C runs the static registrations above; there are no Python-level
// functions to bind (the ops are reached through torch.ops.fastlif).
extern "C" PyMODINIT_FUNC PyInit__C(void) {
  static PyModuleDef def = {PyModuleDef_HEAD_INIT, "_C", "fastlif compiled operators", -1, nullptr};
  return PyModule_Create(&def);
}
