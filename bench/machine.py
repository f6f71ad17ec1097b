"""Who ran a benchmark: a stable machine name, library versions, and the process's resident memory.

Every CSV row carries these fields, so results from different machines and library versions can be concatenated
and still be told apart.
"""
from __future__ import annotations

import os
import re
from importlib import metadata

import torch

from fastlif.machine import cpu_model, describe  # noqa: F401  (describe: re-exported for the bench modules)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def machine_name(device: torch.device) -> str:
    """A folder-friendly name for the hardware, not the host: container host names are random and say nothing.

    ``FASTLIF_BENCH_MACHINE`` overrides it (to keep two runs of the same hardware apart, say).
    """
    override = os.environ.get("FASTLIF_BENCH_MACHINE")
    if override:
        return _slug(override)
    if device.type == "cuda":
        return _slug(torch.cuda.get_device_name(device))
    # Trademark marks and the generic words say nothing: "Intel(R) Xeon(R) Processor" -> "intel-xeon".
    name = re.sub(r"\((R|TM)\)|\b(Processor|CPU)\b", " ", cpu_model(), flags=re.IGNORECASE)
    return f"{_slug(name)}-{os.cpu_count()}c"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def versions() -> dict[str, str]:
    """Versions of everything timed here; an empty string means "not installed"."""
    return {
        "torch": torch.__version__,
        "triton": _version("triton"),
        "fastlif": _version("fastlif") or _fastlif_version(),
        "spikingjelly": _version("spikingjelly"),
        "snntorch": _version("snntorch"),
    }


def _fastlif_version() -> str:
    import fastlif
    return fastlif.__version__


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class PeakRss:
    """Peak resident memory of this process over a block, in MiB above the resident size at its start.

    Linux only: writing 5 to /proc/self/clear_refs resets the high-water mark VmHWM. The figure is approximate
    (the allocator may reuse freed pages without growing the resident set); ``mib`` is None where unsupported.
    """

    def __enter__(self):
        self.start_kb = _status_kb("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.supported = self.start_kb is not None
        except OSError:
            self.supported = False
        self.mib = None
        return self

    def __exit__(self, *exc):
        peak = _status_kb("VmHWM")
        if self.supported and peak is not None:
            self.mib = max(peak - self.start_kb, 0) / 1024
        return False
