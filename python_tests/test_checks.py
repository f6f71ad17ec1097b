"""The argument checks every Python module uses: TypeError for a wrong type, ValueError for a wrong value, the
argument named first."""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastlif.checks import check_int, check_positive


@given(st.integers(min_value=-5, max_value=5), st.integers(min_value=-2, max_value=3))
def test_check_int_accepts_exactly_the_integers_at_or_above_low(value, low):
    if value >= low:
        assert check_int("n", value, low=low) == value
    else:
        with pytest.raises(ValueError, match=rf"^n: expected an integer >= {low}, got {value}$"):
            check_int("n", value, low=low)


@pytest.mark.parametrize("value", [True, 2.0, "3", None, [1]])
def test_check_int_rejects_other_types_with_type_error(value):
    with pytest.raises(TypeError, match=r"^steps: expected an integer >= 1, got "):
        check_int("steps", value)


def test_check_int_optional_lets_none_through_only():
    assert check_int("limit", None, optional=True) is None
    with pytest.raises(TypeError, match="or None"):
        check_int("limit", "all", optional=True)
    with pytest.raises(ValueError, match="limit"):
        check_int("limit", 0, optional=True)


@pytest.mark.parametrize("value, exc", [(0.0, ValueError), (-1, ValueError), (math.inf, ValueError),
                                        (math.nan, ValueError), (True, TypeError), ("1", TypeError)])
def test_check_positive_rejects(value, exc):
    with pytest.raises(exc, match="^alpha: expected a"):
        check_positive("alpha", value)


def test_check_positive_accepts_ints_and_floats():
    assert check_positive("alpha", 2) == 2.0 and isinstance(check_positive("alpha", 2), float)


@pytest.mark.parametrize("build, exc, message", [
    (lambda: __import__("fastlif.models", fromlist=["x"]).snn5(num_classes=0), ValueError, "num_classes"),
    (lambda: __import__("fastlif.models", fromlist=["x"]).snn5(num_classes=2.0), TypeError, "num_classes"),
    (lambda: __import__("fastlif.models", fromlist=["x"]).spiking_mixer(num_classes=0), ValueError, "num_classes"),
    (lambda: __import__("fastlif.models", fromlist=["x"]).spiking_mixer(T=1.5), TypeError, "T"),
    (lambda: __import__("fastlif.train", fromlist=["x"]).TrainConfig(seed="0").validate(), TypeError, "seed"),
    (lambda: __import__("fastlif.losses", fromlist=["x"]).slt_tet_weights(0), ValueError, "T"),
])
def test_models_and_trainer_share_one_policy(build, exc, message):
    """The CNN zoo and the mixer used to disagree (TypeError vs ValueError) on the same mistake."""
    with pytest.raises(exc, match=f"^{message}: expected"):
        build()
