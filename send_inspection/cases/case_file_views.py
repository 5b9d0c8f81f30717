"""Keep the record of which case files the inspectors open in the case records systems (by case id only)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.cases.selection import CASE_ID_PATTERN
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext

_CASE_ID = re.compile(CASE_ID_PATTERN)


class CaseFileViewRefused(ValueError):
    """The record cannot be kept: `field` names what is wrong (never quoting a value that may be a child's name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class CaseFileOpened:
    """One case file an inspector opened: the case id, whether the case is tracked, the system, who and when."""

    case_id: str
    tracked: bool
    system: str
    inspector: str
    opened_at: datetime


def record_case_file_opened(ctx: EngineContext, inspection_id: str, *, case_id: str, inspector: str, system: str,
                            opened_at: datetime, recorded_by: str) -> CaseFileOpened:
    """Record that an inspector opened the file of case `case_id`; CaseFileViewRefused names a field that is wrong."""
    case_id, inspector, system = case_id.strip(), " ".join(inspector.split()), " ".join(system.split())
    if not _CASE_ID.match(case_id) or len(case_id) > 40:
        raise CaseFileViewRefused("case", "give the council's case id (letters and digits with at least one digit, "
                                          "no spaces, up to 40 characters), never a name")
    if not inspector or len(inspector) > 200:
        raise CaseFileViewRefused("inspector", "give the inspector's name (up to 200 characters)")
    if not system or len(system) > 120:
        raise CaseFileViewRefused("system", "give the case records system the file was opened in")
    now = ctx.clock.now()
    if opened_at.tzinfo is None:
        raise CaseFileViewRefused("opened-at", "give the time with its zone (London time)")
    if opened_at > now:
        raise CaseFileViewRefused("opened-at", "a file cannot be recorded as opened in the future")
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        if inspection is None:
            raise CaseFileViewRefused("inspection", f"no inspection {inspection_id!r}")
        if opened_at < inspection.notified_at:
            raise CaseFileViewRefused("opened-at", "the file was opened before the inspection was notified")
        session.add(m.CaseFileView(inspection_id=inspection_id, case_id=case_id, system=system, inspector=inspector,
                                   opened_at=opened_at, recorded_by=recorded_by, recorded_at=now))
        tracked = _tracked(session, inspection_id)
        session.commit()
    return CaseFileOpened(case_id=case_id, tracked=case_id in tracked, system=system, inspector=inspector,
                          opened_at=opened_at)


def _tracked(session, inspection_id: str) -> set[str]:  # noqa: ANN001
    return set(session.scalars(select(m.TrackedCase.child_id).where(m.TrackedCase.inspection_id == inspection_id)))


def case_files_opened(ctx: EngineContext, inspection_id: str) -> list[CaseFileOpened]:
    """Return every case file recorded as opened, in the order they were opened."""
    with ctx.session() as session:
        tracked = _tracked(session, inspection_id)
        rows = session.scalars(select(m.CaseFileView).where(m.CaseFileView.inspection_id == inspection_id)
                               .order_by(m.CaseFileView.opened_at, m.CaseFileView.id))
        return [CaseFileOpened(case_id=r.case_id, tracked=r.case_id in tracked, system=r.system,
                               inspector=r.inspector, opened_at=r.opened_at) for r in rows]


def opened_by_day(views: list[CaseFileOpened]) -> dict[str, int]:
    """Return how many case files were opened on each London day (a count for operators, no case ids)."""
    return dict(sorted(Counter(f"{to_london(v.opened_at):%a %d %b}" for v in views).items()))
