"""Builds fastlif._C: the CPU kernels always, the CUDA kernels when torch has CUDA and nvcc is found.

FASTLIF_CUDA=1 forces the CUDA build (and fails if it cannot), FASTLIF_CUDA=0 forces CPU-only.
TORCH_CUDA_ARCH_LIST picks the GPU architectures (default "8.0;9.0": A100, H100/H200).
torch is deliberately not in pyproject's build-system.requires: build with `pip install -e . --no-build-isolation`
against the torch already installed, as flash-attn and mamba do.
"""
import glob
import os
import sysconfig

from setuptools import find_packages, setup
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension
import torch


def cuda_wanted() -> bool:
    force = os.environ.get("FASTLIF_CUDA", "")
    possible = torch.version.cuda is not None and CUDA_HOME is not None
    if force == "0":
        return False
    if force == "1" and not possible:
        raise RuntimeError("FASTLIF_CUDA=1, but the installed torch has no CUDA or nvcc was not found (CUDA_HOME)")
    return possible


def cuda_include_dirs() -> list:
    # pip's CUDA torch ships some toolkit headers (cusparse.h, …) under nvidia/cu13/include.
    site = sysconfig.get_paths()["purelib"]
    return [d for d in (os.path.join(site, "nvidia", "cu13", "include"),) if os.path.isdir(d)]


def extension():
    # No -std flag: torch's build helper passes the standard its headers need (torch 2.14's need C++20).
    # -ffp-contract=off: no fused multiply-add, so the charge rounds as the PyTorch reference does.
    # -fno-trapping-math: FP exceptions are never observed, so GCC may if-convert selects and divisions in the
    # kernels' inner loops and vectorise them (results are unchanged).
    cxx = ["-O3", "-fopenmp", "-ffp-contract=off", "-fno-trapping-math"]
    # The CPU kernels once per instruction set (each file selects its own target), lif_cpu.cpp picks at load.
    sources = ["csrc/lif_ops.cpp", "csrc/cpu_output_cache.cpp"] + sorted(glob.glob("csrc/cpu/lif_cpu*.cpp"))
    if not cuda_wanted():
        return CppExtension("fastlif._C", sources, extra_compile_args={"cxx": cxx}, extra_link_args=["-fopenmp"])
    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0")
    system = [arg for d in cuda_include_dirs() for arg in ("-isystem", d)]  # nvcc wants the path as its own arg
    return CUDAExtension(
        "fastlif._C",
        sources + sorted(glob.glob("csrc/cuda/*.cu")),
        define_macros=[("WITH_CUDA", None)],
        extra_compile_args={"cxx": cxx + system, "nvcc": ["-O3"] + system},
        extra_link_args=["-fopenmp"],
    )


setup(
    name="fastlif",
    version="0.1.0",
    description="Fused multi-timestep LIF neurons (CPU, CUDA, Triton) for training spiking neural networks fast",
    packages=find_packages(include=["fastlif", "fastlif.*"]),
    python_requires=">=3.10",
    install_requires=["numpy", "tqdm", "matplotlib", "scikit-learn"],
    extras_require={"test": ["pytest", "hypothesis", "expecttest"], "triton": ["triton"]},
    ext_modules=[extension()],
    cmdclass={"build_ext": BuildExtension.with_options(use_ninja=True)},
    entry_points={"console_scripts": ["fastlif = fastlif.commands.main:main"]},
)
