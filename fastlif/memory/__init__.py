"""Training memory: what autograd keeps for backward, measured (``saved_bytes``) and made small and exact
(``compact``, ``compact_activations``, ``residual_add``; spikes as bits with ``pack_bits`` / ``unpack_bits``).

    model = fastlif.memory.compact(my_model)      # every forward of my_model keeps spikes as bits, recomputes BNs
    fastlif.memory.compact(model, False)          # off again (fastlif's models are built with it off)
    fastlif.memory.compact(model, min_bytes=0)    # the small tensors too (default: those of >= MIN_BYTES only)
    with fastlif.memory.compact_activations():    # or just for one block of code
        loss = loss_fn(model(x), y)
"""
from .bits import PackedBits, pack_bits, unpack_bits
from .compact import MIN_BYTES, compact, compact_activations, is_compact, residual_add
from .count import saved_bytes

__all__ = ["MIN_BYTES", "compact", "compact_activations", "is_compact", "residual_add", "saved_bytes", "pack_bits",
           "unpack_bits", "PackedBits"]
