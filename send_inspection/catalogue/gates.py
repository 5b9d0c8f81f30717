"""The gate catalogue: what an item can wait for before its first step is asked, each declared once.

An Annex A row names its gate in register.yaml (`waits_for`); until the gate opens nobody is asked for the row, and
when it opens the row's first step starts then (its reminders and escalations count from that moment). The engine's
check of each gate is in send_inspection/engine/gates.py; tests/catalogue/test_gates.py keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GateSpec:
    """A condition an item waits for: its key (as register.yaml names it) and what people read while it waits."""

    key: str
    # What the item waits for, as the register and the waiting reason say it.
    label: str


TRACKED_CASES_REVIEWED = GateSpec(
    "tracked-cases-reviewed",
    "every tracked child's documents reviewed by the LANO (or the case closed)")

GATES = (TRACKED_CASES_REVIEWED,)
_BY_KEY = {g.key: g for g in GATES}


def gate_spec(key: str) -> GateSpec:
    """Return the gate `key` (KeyError for a gate no entry declares)."""
    return _BY_KEY[key]
