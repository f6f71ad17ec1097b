"""fastlif/memory/bits.py: spikes as bits round-trip exactly, in every shape, dtype and layout."""
import pytest
import torch
from hypothesis import given, settings, strategies as st

from fastlif.memory import PackedBits, pack_bits, unpack_bits
from fastlif.memory.bits import is_dense
from fastlif.triton import bits
from lif_testing import ptx_facts

DTYPES = [torch.float32, torch.bfloat16, torch.float16, torch.float64]


def _binary(shape, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=gen) > 0.5).to(dtype)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 7), min_size=1, max_size=4), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2**16))
def test_round_trip_any_shape_and_dtype(shape, dtype, seed):
    t = _binary(shape, dtype, seed)
    packed = pack_bits(t)
    assert packed.data.dtype == torch.uint8 and packed.nbytes == -(-t.numel() // 8)
    back = unpack_bits(packed)
    assert back.dtype == dtype and back.shape == t.shape and torch.equal(back, t)


@pytest.mark.parametrize("make", [
    lambda t: t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2),  # channels_last
    lambda t: t.transpose(1, 3),                                        # a dense permutation
    lambda t: t[:, :, 1:, ::2],                                         # a strided (non-dense) slice
])
def test_round_trip_non_contiguous_keeps_dense_strides(make):
    t = make(_binary((3, 5, 7, 9), torch.float32, 0))
    back = unpack_bits(pack_bits(t))
    assert torch.equal(back, t)
    if is_dense(t.shape, t.stride()):
        assert back.stride() == t.stride()
    else:
        assert back.is_contiguous()


def test_odd_sizes_pad_the_last_byte():
    for n in (1, 7, 8, 9, 15, 17):
        t = torch.ones(n)
        packed = pack_bits(t)
        assert packed.nbytes == -(-n // 8)
        assert torch.equal(unpack_bits(packed), t)


def test_bit_order_is_little_endian():
    t = torch.tensor([1.0, 0, 0, 0, 0, 0, 0, 1, 1])
    assert pack_bits(t).data.tolist() == [0b10000001, 0b1]


def test_bad_arguments_name_themselves():
    with pytest.raises(TypeError, match="t must be"):
        pack_bits([1, 0])
    with pytest.raises(TypeError, match="packed must be"):
        unpack_bits(torch.ones(3))
    assert isinstance(pack_bits(torch.ones(3)), PackedBits)


def test_dense_layouts_are_packed_in_memory_order():
    # no transposing copy for channels_last: its bits are those of its memory, read straight through
    t = _binary((2, 3, 4, 5), torch.float32, 1).contiguous(memory_format=torch.channels_last)
    memory = t.permute(0, 2, 3, 1).reshape(-1)
    assert torch.equal(pack_bits(t).data, pack_bits(memory).data)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 20000), dtype=st.sampled_from([torch.float32, torch.bfloat16, torch.float16, torch.bool]),
       seed=st.integers(0, 2**16))
def test_triton_kernels_write_the_torch_bits(n, dtype, seed):
    """fastlif.triton.bits (what pack_bits/unpack_bits run on CUDA tensors; here under Triton's interpreter) packs
    to the same bytes as the torch passes and unpacks them back, for sizes that end mid-byte and span several
    programs (8192 elements each)."""
    g = torch.Generator().manual_seed(seed)
    flat = (torch.rand(n, generator=g) < 0.3).to(dtype)
    data = bits.pack(flat)
    assert torch.equal(data, pack_bits(flat).data)
    assert torch.equal(bits.unpack(data, n, dtype), flat)


def test_pack_bits_runs_triton_on_cuda_tensors_only():
    from fastlif.memory.bits import _triton_bits
    assert _triton_bits(torch.device("cpu")) is None
    if torch.cuda.is_available():
        assert _triton_bits(torch.device("cuda")) is not None


_PTX_PROBE = r"""
import json
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from fastlif.triton import bits

def ptx(kernel, src, dst):
    sig = dict(src_ptr=src, dst_ptr=dst, n="i64", BLOCK="constexpr")
    return triton.compile(ASTSource(kernel, sig, dict(BLOCK=bits.BLOCK)), target=GPUTarget("cuda", 90, 32)).asm["ptx"]

print(json.dumps(dict(
    pack=[".entry" in ptx(bits._pack_kernel, f"*{t}", "*u8") for t in ("fp32", "bf16", "fp16", "i1")],
    unpack=[".entry" in ptx(bits._unpack_kernel, "*u8", f"*{t}") for t in ("fp32", "bf16", "fp16", "i1")])))
"""


def test_triton_kernels_compile_for_gpu():
    """The interpreter does not compile: the kernels also build for sm_90 (Triton's bundled ptxas, no GPU needed)."""
    assert ptx_facts(_PTX_PROBE) == dict(pack=[True] * 4, unpack=[True] * 4)
