"""The raw op calls of the GPU checks, written once against today's schemas (csrc/lif_ops.cpp, fastlif/ops.py):

    lif_forward(x, v_init?, decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset, save_h, save_u)
        -> (s, h, u)              h and u are empty [0] tensors unless save_h / save_u
    lif_backward(x?, v_init?, h?, grad_s?, grad_h?, grad_u?, <the same 7 scalars>, need_grad_v) -> (grad_x, grad_v)

(and the *_triton twins with the same schemas), so a schema change is fixed here and not in four scripts.

GPU_CHECK_DEVICE=cpu runs the same argument lists on CPU tensors, as a dry run without a GPU: the compiled op then
dispatches to the CPU kernels, and Triton runs under its interpreter.
"""
import os
import sys
from pathlib import Path

import torch

ROOT = Path.cwd()  # the scripts run from the project root
sys.path.insert(0, str(ROOT))

DEVICE = torch.device(os.environ.get("GPU_CHECK_DEVICE", "cuda"))
if DEVICE.type == "cpu":  # read when the Triton kernels are decorated, so before fastlif.triton is imported
    os.environ.setdefault("TRITON_INTERPRET", "1")

import fastlif  # noqa: E402,F401  (fastlif._C registers the compiled ops)
from fastlif.triton import lif  # noqa: E402,F401  (registers the Triton ops)

# The twins under test (the compiled op runs its CPU kernels in a dry run) and their ops' names.
BACKENDS = ("cuda" if DEVICE.type == "cuda" else "cpu", "triton")
OPS = {"cpu": ("lif_forward", "lif_backward"), "cuda": ("lif_forward", "lif_backward"),
        "triton": ("lif_forward_triton", "lif_backward_triton")}
# decay, threshold, v_reset, reset (0: hard), surrogate (2: sigmoid), sg_param, detach_reset
SCALARS = (0.5, 1.0, 0.0, 0, 2, 4.0, False)


def forward(backend, x, v_init=None, *, save_h, save_u, scalars=SCALARS):
    return getattr(torch.ops.fastlif, OPS[backend][0])(x, v_init, *scalars, save_h, save_u)


def backward(backend, h, grad_s, *, grad_h=None, grad_u=None, need_grad_v=False, scalars=SCALARS):
    """From the stored membrane h (x = None): the one form the CUDA and Triton backwards take."""
    return getattr(torch.ops.fastlif, OPS[backend][1])(None, None, h, grad_s, grad_h, grad_u, *scalars,
                                                       need_grad_v)
