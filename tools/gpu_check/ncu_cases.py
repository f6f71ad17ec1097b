"""The LIF kernels once each between cudaProfilerStart/Stop, for `ncu --profile-from-start off` (devcheck.sh).

Warm-up (Triton compile and autotune, first launches) happens before the profiled region. T = 8, N = 2^22.
Order of the profiled launches (ncu's ID column), per dtype fp32, bf16:
  cuda fwd h saved; cuda fwd no h (inference); cuda bwd sigmoid grad_h=None (spikes-only loss);
  cuda bwd sigmoid grad_h given (a loss on h); cuda bwd triangle grad_h=None; triton fwd h saved;
  triton bwd sigmoid grad_h=None
GPU_CHECK_DEVICE=cpu runs the same calls on CPU tensors at N = 2^12, without the profiler (lif_calls.py).
"""
import torch

import lif_calls as calls

DEV = calls.DEVICE
T, N = 8, (1 << 22) if DEV.type == "cuda" else (1 << 12)
TRIANGLE = (0.5, 1.0, 0.0, 0, 0, 1.0, False)  # calls.SCALARS with surrogate 0 (triangle), sg_param 1
compiled = calls.BACKENDS[0]  # "cuda" ("cpu" in a dry run)
launches = []
for dtype in (torch.float32, torch.bfloat16):
    x = (torch.randn(T, N, device=DEV) + 0.5).to(dtype)
    gs, gh = (torch.randn(T, N, device=DEV).to(dtype) for _ in range(2))
    h = calls.forward(compiled, x, save_h=True, save_u=False)[1]
    ht = calls.forward("triton", x, save_h=True, save_u=False)[1]
    launches += [
        lambda x=x: calls.forward(compiled, x, save_h=True, save_u=False),
        lambda x=x: calls.forward(compiled, x, save_h=False, save_u=False),
        lambda h=h, gs=gs: calls.backward(compiled, h, gs),
        lambda h=h, gs=gs, gh=gh: calls.backward(compiled, h, gs, grad_h=gh),
        lambda h=h, gs=gs: calls.backward(compiled, h, gs, scalars=TRIANGLE),
        lambda x=x: calls.forward("triton", x, save_h=True, save_u=False),
        lambda ht=ht, gs=gs: calls.backward("triton", ht, gs),
    ]
for launch in launches:  # warm-up: compile, autotune, first launch
    launch()
    launch()
if DEV.type == "cuda":
    torch.cuda.synchronize()
    torch.cuda.profiler.start()
for launch in launches:
    launch()
if DEV.type == "cuda":
    torch.cuda.synchronize()
    torch.cuda.profiler.stop()
print(f"ncu_cases: {len(launches)} profiled launches")
