"""A flow process starts on Prefect's import alone: no flow module imports the data, document or mail libraries."""

from __future__ import annotations

import subprocess
import sys

from send_inspection.catalogue.phases import PHASES

# What a phase imports when it needs it (reading lists or a timetable, writing the response, talking to Exchange).
HEAVY = ("pandas", "numpy", "openpyxl", "docx", "exchangelib", "msal", "python_calamine", "odf")


def test_every_deployed_flow_module_imports_without_the_heavy_libraries() -> None:
    """Each deployment's flow module, imported in a fresh interpreter as a flow-run process does, leaves them out."""
    modules = sorted({d.entrypoint.split(":")[0].removesuffix(".py").replace("/", ".") for d in PHASES.deployments()})
    probe = ("import importlib, sys\n"
             f"for name in {modules!r}:\n    importlib.import_module(name)\n"
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.split() == []
