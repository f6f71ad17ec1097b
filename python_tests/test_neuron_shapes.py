"""LIFSequence's shape errors say what happened and what to call instead of running with a misread shape."""
import pytest
import torch

import fastlif
from fastlif.neuron import LIFSequence


def test_1d_input_is_an_error_not_T_steps_of_one_neuron():
    with pytest.raises(ValueError, match=r"x: LIFSequence takes \[T, \.\.\.\].*1-D tensor of shape \(7,\).*x\[None\]"):
        LIFSequence()(torch.rand(7))


def test_stateful_layer_fed_a_new_batch_size_says_to_reset():
    lif = LIFSequence(stateful=True, backend="reference")
    lif(torch.rand(3, 4, 5))
    with pytest.raises(ValueError, match=r"carries the state of its previous call, shape \(4, 5\), but x has "
                                         r"\(2, 5\).*fastlif.reset_net\(model\)"):
        lif(torch.rand(3, 2, 5))
    fastlif.reset_net(lif)
    assert lif(torch.rand(3, 2, 5)).shape == (3, 2, 5)
