"""Triton kernels of fastlif, one module per op family (the Liger-Kernel layout).

``fastlif.triton.lif`` holds the fused multi-step LIF forward/backward and the ``"triton"`` backend of
``fastlif.lif_sequence``. Importing this package does not import Triton; importing ``lif`` does, and fails with
ImportError where Triton is missing — ``fastlif.dispatch`` turns that into "backend unavailable".
"""
