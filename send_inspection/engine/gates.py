"""Check the gates items wait for and open them: the engine's side of the gate catalogue (catalogue/gates.py).

An item that waits at a gate is asked nothing. Each pass of its phase looks at the gate again; when it is open the
item's first step starts at that moment, so its ask goes now and its reminders and escalations count from now. What
opens a gate flags the phases with items waiting at one (`flag_gated_phases`), so they look at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from send_inspection.catalogue.gates import TRACKED_CASES_REVIEWED
from send_inspection.db import models as m
from send_inspection.engine.phase_rows import note_news

# A tracked case closed without its documents (the inspectors chose another child): the gate does not wait for it.
CLOSED = frozenset({"replaced"})


def _tracked_cases_reviewed(session: Session, inspection_id: str) -> bool:
    """Say whether the inspectors chose their children and each one's documents are reviewed, or the case closed."""
    cases = list(session.scalars(select(m.TrackedCase).where(m.TrackedCase.inspection_id == inspection_id)))
    return bool(cases) and all(c.documents_reviewed_at is not None or c.status in CLOSED for c in cases)


# Each gate of the catalogue, by key: whether it is open for an inspection.
CHECKS: dict[str, Callable[[Session, str], bool]] = {
    TRACKED_CASES_REVIEWED.key: _tracked_cases_reviewed,
}


def gate_is_open(session: Session, inspection_id: str, gate: str) -> bool:
    """Say whether gate `gate` is open for the inspection."""
    return CHECKS[gate](session, inspection_id)


def open_gates(session: Session, items: list[m.RegisterItem], *, now: datetime) -> list[m.RegisterItem]:
    """Start the first step of each item whose gate has opened, now; return those items (the caller commits)."""
    opened = []
    seen: dict[tuple[str, str], bool] = {}
    for item in items:
        if item.waits_for is None or item.outcome is not None:
            continue
        key = (item.inspection_id, item.waits_for)
        if key not in seen:
            seen[key] = gate_is_open(session, *key)
        if seen[key]:
            item.waits_for, item.step_started_at = None, now
            opened.append(item)
    return opened


def flag_gated_phases(session: Session, inspection_id: str, *, now: datetime) -> None:
    """Make every phase with an item waiting at a gate look again: a gate may have opened (the caller commits)."""
    phases = session.scalars(select(m.RegisterItem.phase).where(
        m.RegisterItem.inspection_id == inspection_id, m.RegisterItem.waits_for.is_not(None)).distinct())
    for phase in list(phases):
        note_news(session, inspection_id, phase, now=now)
