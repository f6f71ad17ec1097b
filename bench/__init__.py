"""fastlif benchmarks: LIF kernels against the reference loop, torch.compile, SpikingJelly, snnTorch and a plain
device copy (the memory-bandwidth limit), plus training-step throughput of whole models.

Entry points: ``python -m bench.run [--quick]`` (everything that fits the machine), ``python -m bench.plot DIR``,
``python bench/lif_cpu.py`` (CPU kernel table) and ``pytest bench/ --benchmark-only``.
"""
