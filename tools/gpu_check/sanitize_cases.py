"""Small CUDA and Triton LIF calls for compute-sanitizer (memcheck / initcheck), run by devcheck.sh:

    PYTORCH_NO_CUDA_MEMORY_CACHING=1 compute-sanitizer --tool memcheck --error-exitcode 3 \
        python3 tools/gpu_check/sanitize_cases.py

The caching allocator is switched off so that every tensor is its own cudaMalloc and a write past its end is
seen. Every kernel configuration family runs once: scalar and 16-byte-vector paths, ragged and misaligned N,
T below / above the CUDA kernel's 4-step load-ahead and Triton's 8-step unroll, and each set of optional pointers
the op contract produces: a loss on s, h and u (grad_s, grad_h, grad_u, grad_v), on the spikes alone (grad_h and
grad_u null), on h alone (grad_s null: the CUDA op fills its zeros), and streaming inference (no h, u written).
GPU_CHECK_DEVICE=cpu runs the same calls on CPU tensors (lif_calls.py).
"""
import torch

import lif_calls as calls

import fastlif

DEV = calls.DEVICE
W = 1 << 15  # cuda::kMinVectorThreads


def one(backend, dtype, T, N, shift=0, reset="hard", surrogate="sigmoid", loss="all"):
    flat = torch.empty(T * N + shift, device=DEV, dtype=dtype)
    flat[shift:].copy_((torch.randn(T * N, device=DEV) + 0.5).to(dtype))
    x = flat[shift:].view(T, N).detach().requires_grad_()
    v = torch.randn(N, device=DEV, dtype=torch.float64 if dtype == torch.float64 else torch.float32)
    kw = dict(reset=reset, surrogate=surrogate, backend=backend)
    if loss == "spikes":
        s = fastlif.lif_sequence(x, **kw)
        total = (s.float() * torch.randn(T, N, device=DEV)).sum()
    else:
        v.requires_grad_()
        s, h, u = fastlif.lif_sequence(x, v_init=v, return_state=True, **kw)
        total = (h.float() ** 2).sum() if loss == "h" else \
            (s.float() * 0.5).sum() + (h.float() * 0.25).sum() + u.float().sum()
    total.backward()
    calls.forward(backend, x.detach(), v.detach(), save_h=False, save_u=True)  # streaming inference
    if DEV.type == "cuda":
        torch.cuda.synchronize()
    print(f"{backend:6} {str(dtype):14} T={T:<2} N={N:<7} shift={shift} {reset} {surrogate} loss={loss} ok",
          flush=True)


compiled = calls.BACKENDS[0]  # "cuda" ("cpu" in a dry run)
for dt in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
    one(compiled, dt, 1, 1)
    one(compiled, dt, 5, 1001, loss="spikes")
    one(compiled, dt, 7, 129, reset="soft", surrogate="superspike", loss="h")
vec = {torch.float32: 4, torch.float16: 8, torch.bfloat16: 8}
for dt, v in vec.items():
    one(compiled, dt, 6, v * W)                              # 16-byte vectors, T % 4 = 2
    one(compiled, dt, 3, v * W + v, loss="spikes")           # vectors, T < 4
    one(compiled, dt, 5, v * W + 3, reset="soft", loss="h")  # ragged → one neuron per thread
    one(compiled, dt, 5, v * W, shift=1, surrogate="atan")   # misaligned → one neuron per thread
for dt in (torch.float32, torch.bfloat16):
    one("triton", dt, 5, 1001)
    one("triton", dt, 12, 4096, reset="soft", loss="spikes")  # looped kernel, 16-divisible N
    one("triton", dt, 3, 4099, surrogate="triangle", loss="h")
print("sanitize_cases: all calls returned")
