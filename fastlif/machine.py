"""What a timing depends on: the CPU model and the instruction set fastlif's CPU kernels dispatched to (used by the
demo's printed header and by bench/ for its results' machine names and headers)."""
from __future__ import annotations

import os
import platform

import torch


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo where there is one, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(device: torch.device) -> str:
    """One line naming the hardware: the GPU, or the CPU with its cores, torch threads, fastlif's CPU kernels and
    the limit of its CPU output cache (which decides whether outputs pay first-touch page faults)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    from . import cpu_cache, cpu_isa  # the package, imported when called: this module is imported while it loads
    isa = cpu_isa()
    threads = torch.get_num_threads()
    kernels = f", fastlif CPU kernels {isa}, output cache {cpu_cache.info()['limit_bytes'] >> 20} MiB" if isa else ""
    return f"{cpu_model()}, {os.cpu_count()} cores, {threads} torch thread{'s' if threads != 1 else ''}{kernels}"
