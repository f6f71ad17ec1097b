"""The declared time layout (fastlif/nn/time_layout.py): who declares what, nesting, threads, torch.compile."""
import threading

import pytest
import torch
from torch import nn

from fastlif.nn import Readout, TimeFolded, current_time_layout, direct_encode, seq_apply, time_layout


class Probe(nn.Identity):
    """Identity (a pure per-step layer to seq_apply) that records the layout declared around each of its calls."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(current_time_layout())
        return x


def test_wrappers_declare_the_layout_they_call_with():
    probe = Probe()
    x = torch.rand(3, 2, 4)
    seq_apply(probe, x)
    seq_apply(probe, direct_encode(x[0], 3))     # pure: run once on [B, ...]
    TimeFolded(probe)(x)
    readout = Readout(4, 2)
    readout.fc.register_forward_pre_hook(lambda m, args: probe(args[0]))
    readout(x)
    assert probe.seen == ["folded", "shared", "folded", "sequence"]
    assert current_time_layout() is None


def test_window_snn_declares_once_or_folded():
    from fastlif import models
    model = models.get("window_snn_tiny", num_classes=10).eval()
    seen = []
    model.head.register_forward_pre_hook(lambda m, args: seen.append(current_time_layout()))
    with torch.no_grad():
        model(torch.rand(2, 1, 8, 8), T=3)         # static, eval: one pass for all steps
        model(torch.rand(3, 2, 1, 8, 8))           # a sequence: every frame a pass, folded into the batch
    assert seen == ["once", "folded"]


def test_nesting_errors_and_threads():
    with pytest.raises(ValueError, match="layout"):
        time_layout("time-major")
    with time_layout("sequence"):
        with pytest.raises(RuntimeError):
            with time_layout("folded"):
                assert current_time_layout() == "folded"
                raise RuntimeError
        assert current_time_layout() == "sequence"         # the inner one was popped on the error
        other = []
        thread = threading.Thread(target=lambda: other.append(current_time_layout()))
        thread.start()
        thread.join()
        assert other == [None]                             # declarations are per thread
    assert current_time_layout() is None


def test_declaring_does_not_break_a_fullgraph_compile():
    torch.manual_seed(0)
    layer = TimeFolded(nn.Linear(4, 3))
    x = torch.rand(2, 5, 4)
    compiled = torch.compile(layer, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x), layer(x))
