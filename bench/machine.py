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
    if cpuinfo.exists():  # the first processor's model name, family and model (a bare "AMD EPYC" says little)
        fields: dict[str, str] = {}
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        if "model name" in fields:
            cpu = f"{fields['model name']} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"
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
