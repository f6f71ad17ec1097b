"""Test-session set-up shared by every test file."""
import os

import pytest
import torch

# Without a GPU, Triton kernels run under its interpreter; this must be set before triton.jit decorates them.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture
def one_thread():
    """Tiny tensors: OpenMP threads only add synchronisation (10-50x slower on a loaded 2-core box). A test file
    opts in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def keep_threads():
    """For tests that change torch's thread count themselves (``--threads``): restored afterwards."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
