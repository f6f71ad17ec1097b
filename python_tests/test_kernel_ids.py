"""The reset, charge and surrogate ids are defined once on the Python side (``fastlif.config.RESET_IDS``,
``fastlif.config.CHARGE_IDS``, ``fastlif.surrogate.SURROGATE_IDS``); the C++ enums, the C++ switches, the C++ and Triton range checks and the
Triton kernel's branches are read from their sources here, so renumbering one side alone fails this test."""
import pathlib
import re

import pytest

from fastlif.config import CHARGE_IDS, RESET_IDS
from fastlif.surrogate import SURROGATE_IDS

ROOT = pathlib.Path(__file__).resolve().parents[1]


def source(path: str) -> str:
    file = ROOT / path
    if not file.exists():
        pytest.fail(f"{path} is missing: the ids cannot be checked against it")
    return file.read_text()


def squash(name: str) -> str:
    """One spelling for a C++ enumerator and a Python id name: ``SubtractNext``, ``subtract_next`` -> ``subtractnext``."""
    return name.replace("_", "").lower()


def ids(table: dict) -> dict:
    """A Python id table in squashed spelling."""
    return {squash(k): v for k, v in table.items()}


def cpp_enum(name: str) -> dict:
    """``enum class NAME : int { A = 0, BC = 1 };`` in csrc/lif_math.h -> {"a": 0, "bc": 1}."""
    m = re.search(rf"enum\s+class\s+{name}\s*:\s*int\s*\{{([^}}]*)\}}", source("csrc/lif_math.h"))
    assert m, f"enum class {name} not found in csrc/lif_math.h"
    pairs = re.findall(r"(\w+)\s*=\s*(\d+)", m.group(1))
    return {squash(k): int(v) for k, v in pairs}


def cpp_switch(function: str, enum: str) -> dict:
    """``case N: f(std::integral_constant<ENUM, ENUM::Name>{})`` in csrc/lif_switch.h's ``function``."""
    text = source("csrc/lif_switch.h")
    body = text[text.index(function):]
    body = body[:body.index("default:")]
    return {squash(k): int(v) for v, k in re.findall(rf"case\s+(\d+):[^;]*{enum}::(\w+)", body)}


def triton_branches(function: str, constant: str) -> dict:
    """The ``CONSTANT == N:  # name`` branches of a Triton helper and its final ``else:  # name``."""
    text = source("fastlif/triton/lif.py")
    body = text[text.index(f"def {function}("):]
    body = body[:body.index("\n@triton.jit")]
    ids = {name: int(n) for n, name in re.findall(rf"{constant}\s*==\s*(\d+)\s*:\s*#\s*(\w+)", body)}
    last = re.search(r"else\s*:\s*#\s*(\w+)", body)
    assert last, f"the Triton {function}'s final branch names no {constant.lower()}"
    ids[last.group(1)] = next(i for i in range(len(ids) + 1) if i not in ids.values())
    return ids


def test_python_ids_are_dense_from_zero():
    """Dense ids are what the kernels' range checks (0..N-1) assume."""
    assert sorted(RESET_IDS.values()) == list(range(len(RESET_IDS)))
    assert sorted(SURROGATE_IDS.values()) == list(range(len(SURROGATE_IDS)))


def test_cpp_enums_match():
    assert cpp_enum("Reset") == ids(RESET_IDS)
    assert cpp_enum("Surrogate") == ids(SURROGATE_IDS)
    assert cpp_enum("Charge") == ids(CHARGE_IDS)


def test_cpp_switches_match():
    assert cpp_switch("switch_reset", "Reset") == ids(RESET_IDS)
    assert cpp_switch("switch_surrogate", "Surrogate") == ids(SURROGATE_IDS)


def test_cpp_range_checks_match():
    ops = source("csrc/lif_ops.cpp")
    assert re.search(rf"surrogate\s*<=\s*{max(SURROGATE_IDS.values())}\b", ops), "lif_ops.cpp's surrogate range"
    assert re.search(rf"reset\s*>=\s*0\s*&&\s*reset\s*<=\s*{max(RESET_IDS.values())}\b", ops), "the reset range"
    assert re.search(r"charge\s*==\s*0\s*\|\|\s*charge\s*==\s*1\b", ops) and len(CHARGE_IDS) == 2, "the charge range"


def test_triton_kernel_matches():
    assert triton_branches("_surrogate", "KIND") == SURROGATE_IDS
    assert triton_branches("_reset", "RESET") == RESET_IDS
    assert triton_branches("_charge", "CHARGE") == CHARGE_IDS
    text = source("fastlif/triton/lif.py")
    resets = ", ".join(str(i) for i in sorted(RESET_IDS.values()))
    assert f"reset not in ({resets})" in text, "the Triton reset range check"
    assert re.search(rf"range\({len(SURROGATE_IDS)}\)", text), "the Triton surrogate range check"


def test_a_renumbered_enum_is_caught(monkeypatch):
    """The parser really reads the numbers: a swapped enum no longer matches."""
    swapped = source("csrc/lif_math.h").replace("Triangle = 0, Rectangle = 1", "Triangle = 1, Rectangle = 0")
    monkeypatch.setattr(pathlib.Path, "read_text", lambda self, *a, **k: swapped)
    assert cpp_enum("Surrogate") != ids(SURROGATE_IDS)
