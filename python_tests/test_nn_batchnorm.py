"""Sequence batch norms (fastlif/nn/batchnorm.py): tdBN statistics and α·V_th init, TEBN's per-step scale, BNTT's
per-step statistics, and what happens beyond the built number of steps."""
import math

import pytest
import torch

from fastlif.nn import BNTT2d, RESIDUAL_ALPHA, TdBatchNorm2d, TEBatchNorm2d, make_norm


def _sequence(T=3, B=4, C=2, seed=0):
    torch.manual_seed(seed)
    # A different mean per step and per channel, so batch·time and per-step statistics differ.
    return torch.randn(T, B, C, 5, 5) * 1.5 + torch.arange(T * C, dtype=torch.float32).view(T, 1, C, 1, 1)


def test_tdbn_weight_is_initialised_to_alpha_times_threshold():
    assert RESIDUAL_ALPHA == pytest.approx(1 / math.sqrt(2))
    bn = make_norm("tdbn", 6, alpha=RESIDUAL_ALPHA, threshold=0.5)
    torch.testing.assert_close(bn.weight.detach(), torch.full((6,), 0.5 / math.sqrt(2)))
    torch.testing.assert_close(bn.bias.detach(), torch.zeros(6))
    assert make_norm("tdbn", 3).weight.detach().tolist() == [1.0, 1.0, 1.0]
    # "bn" is the TET/SLT code's plain batch·time BN: alpha and threshold do not touch it.
    assert make_norm("bn", 3, alpha=RESIDUAL_ALPHA, threshold=2.0).weight.detach().tolist() == [1.0, 1.0, 1.0]


def test_tdbn_normalises_over_batch_time_and_scales_by_alpha_vth():
    x = _sequence()
    bn = TdBatchNorm2d(2, alpha=0.5, threshold=3.0)
    y = bn(x)
    mean = x.mean(dim=(0, 1, 3, 4)).view(1, 1, 2, 1, 1)
    var = x.var(dim=(0, 1, 3, 4), unbiased=False).view(1, 1, 2, 1, 1)
    torch.testing.assert_close(y, 1.5 * (x - mean) / torch.sqrt(var + bn.eps), rtol=1e-5, atol=1e-5)
    n = x.numel() // 2
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * var.flatten() * n / (n - 1))
    bn.eval()
    torch.testing.assert_close(bn(x), 1.5 * (x - bn.running_mean.view(1, 1, 2, 1, 1))
                               / torch.sqrt(bn.running_var.view(1, 1, 2, 1, 1) + bn.eps))


def test_tebn_is_shared_statistics_times_a_per_step_scale():
    x = _sequence()
    tebn = TEBatchNorm2d(2, steps=4)
    assert tebn.step_scale.detach().tolist() == [1.0] * 4
    with torch.no_grad():
        tebn.step_scale.copy_(torch.tensor([0.5, 2.0, 3.0, 9.0]))
    shared = TdBatchNorm2d(2)(x)
    torch.testing.assert_close(tebn(x), shared * torch.tensor([0.5, 2.0, 3.0]).view(3, 1, 1, 1, 1))


def test_bntt_normalises_every_step_with_its_own_statistics():
    x = _sequence()
    bntt = BNTT2d(2, steps=3)
    y = bntt(x)
    for t in range(3):
        mean_t = x[t].mean(dim=(0, 2, 3))
        torch.testing.assert_close(y[t].mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-5, rtol=0)
        torch.testing.assert_close(y[t].var(dim=(0, 2, 3), unbiased=False), torch.ones(2), atol=1e-3, rtol=0)
        torch.testing.assert_close(bntt.bns[t].running_mean, 0.1 * mean_t)


def test_bntt_has_no_shift_and_eps_1e4_as_the_bntt_code():
    bntt = BNTT2d(2, steps=3)
    assert all(bn.bias is None and bn.eps == 1e-4 for bn in bntt.bns)
    assert sum(p.numel() for p in bntt.parameters()) == 3 * 2          # one scale per step and channel
    x = _sequence()
    with torch.no_grad():
        bntt.bns[1].weight.fill_(2.0)
    y = bntt(x)
    ref = (x[1] - x[1].mean(dim=(0, 2, 3), keepdim=True)) / torch.sqrt(
        x[1].var(dim=(0, 2, 3), unbiased=False, keepdim=True) + 1e-4)
    torch.testing.assert_close(y[1], 2 * ref)
    assert all(bn.bias is not None for bn in BNTT2d(2, steps=3, bias=True).bns)


@pytest.mark.parametrize("kind", ["tebn", "bntt"])
def test_per_step_norms_refuse_more_steps_than_built_and_accept_fewer(kind):
    norm = make_norm(kind, 2, steps=2)
    assert norm(_sequence(T=1)).shape == (1, 4, 2, 5, 5)
    with pytest.raises(ValueError, match="built for steps = 2"):
        norm(_sequence(T=3))


def test_per_step_norms_are_causal_in_eval_mode():
    x = _sequence(T=3)
    for kind in ("tdbn", "tebn", "bntt"):
        norm = make_norm(kind, 2, steps=3)
        norm(x)  # one training step so the running statistics are not the initial ones
        norm.eval()
        torch.testing.assert_close(norm(x[:2]), norm(x)[:2])


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="norm must be one of"):
        make_norm("layernorm", 2)
    with pytest.raises(ValueError, match="needs steps"):
        make_norm("bntt", 2)
    with pytest.raises(ValueError, match="steps: expected an integer >= 1"):
        make_norm("tebn", 2, steps=0)
    with pytest.raises(TypeError, match="steps: expected an integer"):
        BNTT2d(2, steps=2.0)
    with pytest.raises(ValueError, match="alpha: expected a finite number > 0"):
        TdBatchNorm2d(2, alpha=0.0)
    with pytest.raises(ValueError, match=r"sequence \[T, B, C, H, W\]"):
        TdBatchNorm2d(2)(torch.zeros(4, 2, 5, 5))
    with pytest.raises(ValueError, match="2 channels"):
        BNTT2d(2, steps=2)(torch.zeros(2, 4, 3, 5, 5))
