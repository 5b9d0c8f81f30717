"""Describe the machine a benchmark ran on: cores, CPU model, memory and the versions that matter."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path


def machine(*packages: str) -> dict[str, str]:
    """Return cores, CPU model, memory, Python and the versions of `packages` (distribution names; those installed)."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    found = {"cores": str(os.cpu_count()), "cpu": cpu, "memory": memory, "python": platform.python_version(),
             "os": platform.platform()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
