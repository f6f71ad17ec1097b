// The torch binding: checks tensors once, builds the kernel argument structs, and registers the operators
//   fastlif::lif_forward(x, v_init?, decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset,
//       save_h, save_u, decay_t?, threshold_t?, charge, fire_ge) -> (s, h, u_final)
//   fastlif::lif_backward(x?, v_init?, h?, grad_s?, grad_h?, grad_u?, decay, threshold, v_reset, reset,
//       surrogate, sg_param, detach_reset, need_grad_v, decay_t?, threshold_t?, charge, fire_ge,
//       need_grad_params) -> (grad_x, grad_v_init, grad_decay, grad_threshold)
//   fastlif::cpu_isa() -> str
// for the CPU dispatch key and, when built WITH_CUDA, the CUDA key. The contract they share with the Triton twin
// (fake kernels, autograd, which outputs are written) is fastlif/ops.py's; it is restated here only as checks.
//
// x is `[T, ...]` in any layout that is dense with time outermost (contiguous, channels_last, permuted): the
// kernels see it as `[T, N]` in memory order, and every output has x's strides (u_final and grad_v those of
// x[0]), so no layout is copied. Outputs nobody asked for come back as empty `[0]` tensors, never written.
// decay_t / threshold_t: per-neuron parameters laid out like v_init (one step of x, state dtype), or one element for
// every neuron; when given, the scalar of the same name is ignored. Each one's gradient comes back shaped like it:
// per neuron in v_init's layout, or for a one-element tensor the sum over every neuron and step (reduced inside the
// CPU kernel, in a fixed order; the CUDA kernel's per-neuron sums are reduced here).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <Python.h>
#include <torch/library.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "cpu/lif_cpu.h"
#include "cpu_output_cache.h"
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
                   double sg_param, bool detach_reset, int64_t charge, bool fire_ge) {
  TORCH_CHECK_VALUE(decay >= 0.0 && decay <= 1.0, "fastlif: decay must lie in [0, 1], got ", decay);
  TORCH_CHECK_VALUE(threshold > 0.0, "fastlif: threshold must be > 0, got ", threshold);
  TORCH_CHECK_VALUE(reset >= 0 && reset <= 2, "fastlif: reset must be 0 (hard), 1 (soft) or 2 (subtract_next), "
                    "got ", reset);
  TORCH_CHECK_VALUE(charge == 0 || charge == 1, "fastlif: charge must be 0 (decay) or 1 (scaled input), got ",
                    charge);
  TORCH_CHECK_VALUE(!(charge == 1 && reset == 2), "fastlif: the subtract_next reset takes charge 0 (decay)");
  TORCH_CHECK_VALUE(surrogate >= 0 && surrogate <= 4, "fastlif: surrogate id must lie in 0..4, got ", surrogate);
  TORCH_CHECK_VALUE(sg_param > 0.0, "fastlif: surrogate parameter must be > 0, got ", sg_param);
  return LifOptions{decay, threshold, v_reset, sg_param, int(reset), int(surrogate), detach_reset, int(charge),
                    fire_ge};
}

// Dense with time outermost: the neurons of each step fill N consecutive elements in some order (the same rule as
// fastlif/ops.py's time_major_dense).
bool time_major_dense(const at::Tensor& x) {
  if (x.numel() == 0) return x.dim() >= 1;  // no memory to walk
  std::vector<std::pair<int64_t, int64_t>> inner;  // (stride, size) of the neuron dims that matter
  for (int64_t d = 1; d < x.dim(); ++d) {
    if (x.size(d) != 1) inner.emplace_back(x.stride(d), x.size(d));
  }
  std::sort(inner.begin(), inner.end());
  int64_t expected = 1;
  for (const auto& [stride, size] : inner) {
    if (stride != expected) return false;
    expected *= size;
  }
  return x.dim() >= 1 && (x.size(0) <= 1 || x.stride(0) == expected);
}

// A fresh output on like's device: on the CPU its memory comes from the output cache (cpu_output_cache.cpp: fresh
// pages cost more to fault in than the kernels take to write them), elsewhere from torch's allocator.
at::Tensor empty_output(at::IntArrayRef sizes, at::IntArrayRef strides, const at::Tensor& like,
                        at::ScalarType dtype) {
  if (like.is_cpu()) return cached_empty_strided(sizes, strides, dtype);
  return at::empty_strided(sizes, strides, like.options().dtype(dtype));
}

// A state tensor `[...]` (u_final, grad_v, per-neuron parameter gradients) laid out like one time step of `like`.
at::Tensor empty_state(const at::Tensor& like) {
  return empty_output(like.sizes().slice(1), like.strides().slice(1), like, state_type(like.scalar_type()));
}

// Same sizes and the same strides where a stride matters (dims of size > 1).
bool same_layout(at::IntArrayRef sizes, at::IntArrayRef strides, at::IntArrayRef want_sizes,
                 at::IntArrayRef want_strides) {
  if (sizes != want_sizes) return false;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] != 1 && strides[d] != want_strides[d]) return false;
  }
  return true;
}

// grad_s / grad_h: like x (or h); v_init / grad_u: like one step of it, in the state dtype.
void check_like(const at::Tensor& t, const at::Tensor& like, bool state, const char* name) {
  const auto sizes = state ? like.sizes().slice(1) : like.sizes();
  const auto strides = state ? like.strides().slice(1) : like.strides();
  const auto dtype = state ? state_type(like.scalar_type()) : like.scalar_type();
  TORCH_CHECK_VALUE(same_layout(t.sizes(), t.strides(), sizes, strides), "fastlif: ", name,
                    " must have the shape and layout of ", sizes, " with strides ", strides, ", got ", t.sizes(),
                    " with strides ", t.strides());
  TORCH_CHECK_VALUE(t.device() == like.device(), "fastlif: ", name, " must be on ", like.device(), ", got ",
                    t.device());
  TORCH_CHECK_TYPE(t.scalar_type() == dtype, "fastlif: ", name, " must be ", dtype, ", got ", t.scalar_type());
}

// An output like x: its sizes, strides and dtype (x is dense, so this is empty_like's layout).
at::Tensor fresh_like(const at::Tensor& x) {
  const auto strides = x.is_non_overlapping_and_dense() ? x.strides().vec()
                                                        : at::infer_dense_strides(x.sizes(), x.strides());
  return empty_output(x.sizes(), strides, x, x.scalar_type());
}

int64_t neurons(const at::Tensor& x) { return c10::multiply_integers(x.sizes().slice(1)); }

// decay_t / threshold_t: laid out like one step of `like` in the state dtype (per neuron), or one element read by
// every neuron (stride 0: a per-layer parameter, not expanded).
ParamTensors param_tensors(const std::optional<at::Tensor>& decay_t, const std::optional<at::Tensor>& threshold_t,
                           const at::Tensor& like) {
  ParamTensors p;
  const auto check = [&](const std::optional<at::Tensor>& t, const char* name, const void*& ptr, int64_t& stride) {
    if (!t.has_value()) return;
    if (t->numel() == 1) {
      TORCH_CHECK_VALUE(t->device() == like.device(), "fastlif: ", name, " must be on ", like.device());
      TORCH_CHECK_TYPE(t->scalar_type() == state_type(like.scalar_type()), "fastlif: ", name, " must be ",
                       state_type(like.scalar_type()), ", got ", t->scalar_type());
      stride = 0;
    } else {
      check_like(*t, like, true, name);
    }
    ptr = t->data_ptr();
  };
  check(decay_t, "decay_t", p.decay, p.decay_stride);
  check(threshold_t, "threshold_t", p.threshold, p.threshold_stride);
  return p;
}

const void* ptr_or_null(const std::optional<at::Tensor>& t) { return t.has_value() ? t->data_ptr() : nullptr; }

at::Tensor nothing(const at::Tensor& like, at::ScalarType dtype) { return at::empty({0}, like.options().dtype(dtype)); }

// The gradient of a parameter tensor, shaped like it: per neuron, or one element (the kernels' sum over every
// neuron); nothing without the tensor.
at::Tensor param_grad(const std::optional<at::Tensor>& t, const at::Tensor& like) {
  if (!t.has_value()) return nothing(like, state_type(like.scalar_type()));
  if (t->numel() == 1) return at::empty(t->sizes(), like.options().dtype(state_type(like.scalar_type())));
  return empty_state(like);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> lif_forward(const at::Tensor& x,
                                                           const std::optional<at::Tensor>& v_init, double decay,
                                                           double threshold, double v_reset, int64_t reset,
                                                           int64_t surrogate, double sg_param, bool detach_reset,
                                                           bool save_h, bool save_u,
                                                           const std::optional<at::Tensor>& decay_t,
                                                           const std::optional<at::Tensor>& threshold_t,
                                                           int64_t charge, bool fire_ge) {
  TORCH_CHECK_VALUE(x.dim() >= 1, "fastlif: x must be [T, ...], got a 0-d tensor");
  TORCH_CHECK_VALUE(time_major_dense(x), "fastlif: x must be dense with time outermost (e.g. contiguous or "
                    "channels_last), got strides ", x.strides(), " for shape ", x.sizes());
  const auto opt = options(decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset, charge, fire_ge);
  const auto acc = state_type(x.scalar_type());
  if (v_init.has_value()) check_like(*v_init, x, true, "v_init");
  const ParamTensors params = param_tensors(decay_t, threshold_t, x);
  at::Tensor s = fresh_like(x);
  at::Tensor h = save_h ? fresh_like(x) : nothing(x, x.scalar_type());
  at::Tensor u = save_u ? empty_state(x) : nothing(x, acc);
  const int64_t T = x.size(0), N = neurons(x);
  if (T == 0) {  // no step: the state is where it started
    if (save_u) v_init.has_value() ? u.copy_(*v_init) : u.zero_();
    return {s, h, u};
  }
  LifForwardArgs a{x.data_ptr(), ptr_or_null(v_init), s.data_ptr(), save_h ? h.data_ptr() : nullptr,
                   save_u ? u.data_ptr() : nullptr, T, N, dtype_of(x), opt, at::get_num_threads(), params};
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

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> lif_backward(const std::optional<at::Tensor>& x,
                                                const std::optional<at::Tensor>& v_init,
                                                const std::optional<at::Tensor>& h,
                                                const std::optional<at::Tensor>& grad_s,
                                                const std::optional<at::Tensor>& grad_h,
                                                const std::optional<at::Tensor>& grad_u, double decay,
                                                double threshold, double v_reset, int64_t reset, int64_t surrogate,
                                                double sg_param, bool detach_reset, bool need_grad_v,
                                                const std::optional<at::Tensor>& decay_t,
                                                const std::optional<at::Tensor>& threshold_t, int64_t charge,
                                                bool fire_ge, bool need_grad_params) {
  TORCH_CHECK_VALUE(x.has_value() || h.has_value(), "fastlif: lif_backward takes x (to recompute the membrane) or "
                    "the saved h, got neither");
  TORCH_CHECK_VALUE(!(charge == 1 && (decay_t.has_value() || threshold_t.has_value()) && !x.has_value()),
                    "fastlif: with per-neuron parameters the scaled-input charge's rate gradient reads x: pass x");
  TORCH_CHECK_VALUE(!need_grad_params || decay_t.has_value() || threshold_t.has_value(),
                    "fastlif: need_grad_params asks for the gradients of decay_t / threshold_t, but neither is given");
  const at::Tensor& ref = x.has_value() ? *x : *h;  // the forward's input or its membrane: same shape and layout
  TORCH_CHECK_VALUE(ref.dim() >= 1, "fastlif: x / h must be [T, ...], got a 0-d tensor");
  TORCH_CHECK_VALUE(time_major_dense(ref), "fastlif: x / h must be dense with time outermost, got strides ",
                    ref.strides(), " for shape ", ref.sizes());
  const auto opt = options(decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset, charge, fire_ge);
  if (h.has_value() && x.has_value()) check_like(*h, *x, false, "h");
  if (v_init.has_value()) check_like(*v_init, ref, true, "v_init");
  const ParamTensors params = param_tensors(decay_t, threshold_t, ref);
  if (grad_s.has_value()) check_like(*grad_s, ref, false, "grad_s");
  if (grad_h.has_value()) check_like(*grad_h, ref, false, "grad_h");
  if (grad_u.has_value()) check_like(*grad_u, ref, true, "grad_u");
  at::Tensor gx = fresh_like(ref);
  const auto acc = state_type(ref.scalar_type());
  at::Tensor gv = need_grad_v ? empty_state(ref) : nothing(ref, acc);
  at::Tensor gd = need_grad_params ? param_grad(decay_t, ref) : nothing(ref, acc);
  at::Tensor gt = need_grad_params ? param_grad(threshold_t, ref) : nothing(ref, acc);
  const int64_t T = ref.size(0), N = neurons(ref);
  if (T == 0 || N == 0) {  // no step: dL/dv_init is dL/du_final, and the parameters acted nowhere
    if (need_grad_v) grad_u.has_value() ? gv.copy_(*grad_u) : gv.zero_();
    if (need_grad_params) {
      gd.zero_();
      gt.zero_();
    }
    if (T == 0) return {gx, gv, gd, gt};
  }
  LifBackwardArgs a{ptr_or_null(x), ptr_or_null(v_init), ptr_or_null(h), ptr_or_null(grad_s),
                    ptr_or_null(grad_h), ptr_or_null(grad_u), gx.data_ptr(), need_grad_v ? gv.data_ptr() : nullptr,
                    T, N, dtype_of(ref), opt, at::get_num_threads(), params,
                    gd.numel() ? gd.data_ptr() : nullptr, gt.numel() ? gt.data_ptr() : nullptr};
#ifdef WITH_CUDA
  if (ref.is_cuda()) {
    TORCH_CHECK_VALUE(h.has_value(), "fastlif: the CUDA backward reads the saved membrane h (pass h)");
    // The CUDA kernel always reads grad_s; a loss on h or u alone (rare) gets its zeros here.
    const at::Tensor zeros = grad_s.has_value() ? at::Tensor() : at::zeros_like(ref);
    if (!grad_s.has_value()) a.grad_s = zeros.data_ptr();
    const c10::cuda::CUDAGuard guard(ref.device());
    // The CUDA kernel writes per-neuron sums; a one-element parameter's are reduced by torch afterwards.
    const at::Tensor gd_n = gd.numel() == 1 && N > 1 ? empty_state(ref) : gd;
    const at::Tensor gt_n = gt.numel() == 1 && N > 1 ? empty_state(ref) : gt;
    if (gd.numel()) a.grad_decay = gd_n.data_ptr();
    if (gt.numel()) a.grad_threshold = gt_n.data_ptr();
    lif_backward_cuda(a, at::cuda::getCurrentCUDAStream());
    if (!gd_n.is_same(gd)) gd.copy_(gd_n.sum().reshape(gd.sizes()));
    if (!gt_n.is_same(gt)) gt.copy_(gt_n.sum().reshape(gt.sizes()));
    return {gx, gv, gd, gt};
  }
#endif
  lif_backward_cpu(a);
  return {gx, gv, gd, gt};
}

bool built_with_cuda() {
#ifdef WITH_CUDA
  return true;
#else
  return false;
#endif
}

std::string cpu_isa() { return lif_cpu_isa(); }

}  // namespace

TORCH_LIBRARY(fastlif, m) {
  m.def("lif_forward(Tensor x, Tensor? v_init, float decay, float threshold, float v_reset, int reset, "
        "int surrogate, float sg_param, bool detach_reset, bool save_h, bool save_u, Tensor? decay_t=None, "
        "Tensor? threshold_t=None, int charge=0, bool fire_ge=False) -> (Tensor, Tensor, Tensor)");
  m.def("lif_backward(Tensor? x, Tensor? v_init, Tensor? h, Tensor? grad_s, Tensor? grad_h, Tensor? grad_u, "
        "float decay, float threshold, float v_reset, int reset, int surrogate, float sg_param, bool detach_reset, "
        "bool need_grad_v, Tensor? decay_t=None, Tensor? threshold_t=None, int charge=0, bool fire_ge=False, "
        "bool need_grad_params=False) -> (Tensor, Tensor, Tensor, Tensor)");
  m.def("built_with_cuda() -> bool", &built_with_cuda);
  m.def("cpu_isa() -> str", &cpu_isa);
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
