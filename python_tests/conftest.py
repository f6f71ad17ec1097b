"""Test-session set-up shared by every test file."""
import os

import torch

# Without a GPU, Triton kernels run under its interpreter; this must be set before triton.jit decorates them.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
