"""Window partition, weighted condense (supplement Algorithm 1), region threshold and membrane fusion."""
import math

import pytest
import torch

from fastlif.mixer import condense, fuse, layout, partition, region_threshold, surface_area


def _map(rows):
    """A [1, H, W, 1] channels-last map from a nested list."""
    return torch.tensor(rows, dtype=torch.float64)[None, :, :, None]


def test_layout_sides_and_overlap():
    assert (layout(16, 16, "plain").mh, layout(16, 16, "plain").overlap) == (8, (0, 0))
    lay = layout(16, 16, "dilated")
    assert (lay.mh, lay.mw, lay.overlap) == (12, 12, (8, 8))  # M = 3L/4, w_o = 2M - L
    assert lay.offsets == ((0, 0), (0, 4), (4, 0), (4, 4))
    assert layout(8, 4, "dilated").offsets == ((0, 0), (0, 1), (2, 0), (2, 1))


def test_plain_partition_takes_the_four_quadrants_and_condense_inverts_it():
    x = torch.arange(16.0).reshape(1, 4, 4, 1)
    g = partition(x, "plain")
    assert g[0][0, :, :, 0].tolist() == [[0, 1], [4, 5]]
    assert g[1][0, :, :, 0].tolist() == [[2, 3], [6, 7]]
    assert g[2][0, :, :, 0].tolist() == [[8, 9], [12, 13]]
    assert g[3][0, :, :, 0].tolist() == [[10, 11], [14, 15]]
    y = torch.randn(2, 6, 8, 3)
    assert torch.equal(condense(partition(y, "plain"), 6, 8, "plain"), y)


def test_dilated_partition_then_condense_is_the_identity():
    # every overlapping pixel averages copies of the same value
    y = torch.randn(2, 8, 12, 3, dtype=torch.float64)
    assert torch.allclose(condense(partition(y, "dilated"), 8, 12, "dilated"), y, rtol=0, atol=1e-15)


def test_condense_averages_overlaps_hand_checked():
    # 4x4 map, dilated: M = 3, windows start at 0 and 1 along each axis; rows/cols 1-2 are shared.
    one, zero = torch.ones(1, 3, 3, 1, dtype=torch.float64), torch.zeros(1, 3, 3, 1, dtype=torch.float64)
    only_g1 = condense([one, zero, zero, zero], 4, 4, "dilated")
    assert torch.equal(only_g1, _map([[1, .5, .5, 0],
                                      [.5, .25, .25, 0],
                                      [.5, .25, .25, 0],
                                      [0, 0, 0, 0]]))
    top_pair = condense([one, one, zero, zero], 4, 4, "dilated")
    assert torch.equal(top_pair, _map([[1, 1, 1, 1],
                                       [.5, .5, .5, .5],
                                       [.5, .5, .5, .5],
                                       [0, 0, 0, 0]]))
    three = condense([one, one, one, zero], 4, 4, "dilated")
    assert torch.equal(three, _map([[1, 1, 1, 1],
                                    [1, .75, .75, .5],
                                    [1, .75, .75, .5],
                                    [1, .5, .5, 0]]))


def _algorithm1(g1, g2, g3, g4, length):
    """Supplement Algorithm 1, literally, on channels-last windows (dim 2 = width, dim 1 = height)."""
    m = 3 * length // 4
    wo = 2 * m - length
    h, f = wo // 2, 3 * wo // 2

    def pair(a, b, dim):
        sl = lambda t, lo, hi: t.narrow(dim, lo, hi - lo)  # noqa: E731
        cover = (sl(a, h, f) + sl(b, 0, wo)) / 2
        return torch.cat([sl(a, 0, h), cover, sl(b, wo, f)], dim=dim)

    return pair(pair(g1, g2, 2), pair(g3, g4, 2), 1)


@pytest.mark.parametrize("length", [4, 8, 16])
def test_condense_matches_algorithm_1(length):
    gen = torch.Generator().manual_seed(length)
    m = 3 * length // 4
    wins = [torch.randint(0, 2, (2, m, m, 3), generator=gen).double() for _ in range(4)]
    assert torch.allclose(condense(wins, length, length, "dilated"), _algorithm1(*wins, length), rtol=0, atol=1e-15)


def test_region_threshold_turns_median_spikes_into_spikes():
    x = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0, 0.05], dtype=torch.float64)
    assert region_threshold(x).tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.05]
    assert region_threshold(x, th_r=0.5).tolist() == [0.0, 0.25, 0.5, 1.0, 1.0, 0.05]


def test_region_threshold_gradient():
    x = torch.tensor([0.0, 0.25, 0.75], requires_grad=True)
    region_threshold(x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]  # straight-through
    x.grad = None
    region_threshold(x, straight_through=False).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0]  # the public code's torch.where


def test_fusion_values_at_special_angles():
    t = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    # theta = 1/4 is the code's 2*sin(pi/4 * m1 * cos(pi/4 * m2))
    assert fuse("sincos", t(1.0), t(0.0)).item() == pytest.approx(math.sqrt(2))
    assert fuse("sincos", t(2.0), t(0.0)).item() == pytest.approx(2.0)
    assert fuse("sincos", t(2 / 3), t(4 / 3)).item() == pytest.approx(2 * math.sin(math.pi / 12))  # cos(pi/3) = 1/2
    assert fuse("sincos", t(1.7), t(2.0)).item() == pytest.approx(0.0, abs=1e-15)  # cos(pi/2) = 0
    assert fuse("sincos", t(1.0), t(0.0), theta=0.5).item() == pytest.approx(2.0)  # 2 sin(pi/2)
    assert fuse("linear", t(0.3), t(0.4)).item() == pytest.approx(0.7)
    assert fuse("mean", t(0.3), t(0.4)).item() == pytest.approx(0.35)
    assert fuse("none", t(0.3), t(0.4)).item() == 0.4


def test_sincos_fusion_stays_below_the_linear_plane_in_the_over_activation_range():
    m = torch.linspace(0.5, 1.0, 11, dtype=torch.float64)
    m1, m2 = torch.meshgrid(m, m, indexing="ij")
    assert bool((fuse("sincos", m1, m2) < fuse("linear", m1, m2)).all())


@pytest.mark.parametrize("theta,table", [(0.1, 0.05), (0.3, 0.16), (0.5, 0.22), (0.7, 0.24), (0.9, 0.20)])
def test_surface_area_matches_supplement_table_1(theta, table):
    # the table truncates to two decimals (Eq. 6 gives 0.058 at theta = 0.1 and 0.228 at 0.5)
    assert table <= surface_area(theta, 0.5) < table + 0.01


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="mode"):
        partition(torch.zeros(1, 4, 4, 1), "shifted")
    with pytest.raises(ValueError, match="height"):
        partition(torch.zeros(1, 5, 4, 1), "plain")
    with pytest.raises(ValueError, match="x"):
        partition(torch.zeros(4, 4, 1), "plain")
    with pytest.raises(ValueError, match="windows"):
        condense([torch.zeros(1, 2, 2, 1)] * 3, 4, 4, "plain")
    with pytest.raises(ValueError, match=r"windows\[1\]"):
        condense([torch.zeros(1, 2, 2, 1), torch.zeros(1, 3, 3, 1)] * 2, 4, 4, "plain")
    with pytest.raises(ValueError, match="fusion"):
        fuse("product", torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError, match="theta"):
        fuse("sincos", torch.zeros(1), torch.zeros(1), theta=-1.0)
    with pytest.raises(ValueError, match="th_r"):
        region_threshold(torch.zeros(1), th_r=1.5)
