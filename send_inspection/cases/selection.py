"""Record the inspectors' choice of children to track and say how it covers what inspectors usually include.

Coverage informs, it never refuses: inspectors choose. Only an id that is not in the accepted lists is refused,
because nothing can be prepared for a child the partnership cannot find. Everything here is counts and case
ids: safe to show in Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import select

from send_inspection.childdata.codes import ALTERNATIVE_PROVISION, BROAD_AREAS, OTHER_AREA
from send_inspection.childdata.importer import ChildData
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext

# What a case id looks like: a case management system's reference, in letters and digits (and - _ / .) with at
# least one digit, no spaces, at most 40 characters. A person's name has no digit: typed in place of an id it is
# refused by the form (Prefect's parameter schema) before Prefect stores it.
CASE_ID_PATTERN = r"^[A-Za-z0-9/_.-]*[0-9][A-Za-z0-9/_.-]*$"
CaseId = Annotated[str, StringConstraints(pattern=CASE_ID_PATTERN, max_length=40)]

# What inspectors usually include in the children they track (area SEND inspection handbook practice).
AT_LEAST_SELECTED = 6
AT_LEAST_SEN_SUPPORT = 2
AT_LEAST_ALTERNATIVE_PROVISION = 1
MEASURED_AREAS = tuple(area for area in BROAD_AREAS if area != OTHER_AREA)


class SelectionRefused(ValueError):
    """The selection names ids the accepted lists do not hold; nothing was recorded."""

    def __init__(self, message: str, *, unknown: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.unknown = tuple(unknown)  # the entries not found (each may be a child's name typed by mistake)


def refused_entries(child_ids: Sequence[str], unknown: Sequence[str]) -> str:
    """Say which entries were not case ids in the lists by position only: one may be a child's name."""
    at = [str(n) for n, i in enumerate(child_ids, start=1) if i.strip() in unknown] or ["?"]
    which = f"entry {at[0]} of {len(child_ids)} is not a case id" if len(at) == 1 else \
        f"entries {', '.join(at[:-1])} and {at[-1]} of {len(child_ids)} are not case ids"
    return (f"{which} in the accepted child-level data lists (what was entered is not repeated here: it may be a "
            "name); check the ids with the inspectors and enter them again (nothing was recorded)")


@dataclass(frozen=True)
class Coverage:
    """How a selection covers the usual mix: counts and gaps, never a child's details."""

    selected: int
    ehc_plans: int
    sen_support: int
    alternative_provision: int
    by_broad_area: dict[str, int]
    gaps: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """Return the coverage as a short markdown report."""
        lines = [f"**{self.selected} children selected**: {self.ehc_plans} with an EHC plan, "
                 f"{self.sen_support} on SEN support, {self.alternative_provision} in alternative provision.", "",
                 "| Broad area of need | Selected |", "|---|---:|"]
        lines += [f"| {area} | {n} |" for area, n in self.by_broad_area.items()]
        lines += ["", "Compared with what inspectors usually include:"]
        lines += [f"- {gap}" for gap in self.gaps] or ["- nothing missing"]
        return "\n".join(lines) + "\n"


def _find(data: ChildData, child_ids: Sequence[str]) -> dict[str, tuple[str, dict]]:
    """Return, for each id found, the list it is on and its checked row."""
    found: dict[str, tuple[str, dict]] = {}
    for kind in ("ehc_plans", "sen_support"):
        frame = data.frame(kind)  # type: ignore[arg-type]
        if frame is None:
            continue
        rows = frame[frame["child_id"].isin(child_ids)]
        for row in rows.to_dict("records"):
            found.setdefault(row["child_id"], (kind, row))
    return found


def assess(data: ChildData, child_ids: Sequence[str]) -> Coverage:
    """Check every id is in the lists and report coverage; raise SelectionRefused naming the unknown ids."""
    ids = list(dict.fromkeys(i.strip() for i in child_ids if i.strip()))
    if not ids:
        raise SelectionRefused("no case ids given")
    found = _find(data, ids)
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise SelectionRefused(f"not in the accepted child-level data lists: {', '.join(unknown)}; "
                               "check the ids with the inspectors (nothing was recorded)", unknown=unknown)
    kinds = [kind for kind, _ in found.values()]
    rows = [row for _, row in found.values()]
    by_area = {area: sum(1 for r in rows if r["broad_area"] == area) for area in BROAD_AREAS}
    ap = sum(1 for r in rows if r["setting_type"] == ALTERNATIVE_PROVISION)
    coverage = Coverage(selected=len(ids), ehc_plans=kinds.count("ehc_plans"), sen_support=kinds.count("sen_support"),
                        alternative_provision=ap, by_broad_area=by_area)
    gaps = coverage.gaps
    if coverage.selected < AT_LEAST_SELECTED:
        gaps.append(f"{coverage.selected} selected; inspectors usually name at least {AT_LEAST_SELECTED}")
    if coverage.sen_support < AT_LEAST_SEN_SUPPORT:
        gaps.append(f"{coverage.sen_support} on SEN support; usually at least {AT_LEAST_SEN_SUPPORT}")
    if ap < AT_LEAST_ALTERNATIVE_PROVISION:
        gaps.append("no child in alternative provision; usually at least one")
    gaps += [f"no child whose primary need is in {area}" for area in MEASURED_AREAS if by_area[area] == 0]
    return coverage


def record_selection(ctx: EngineContext, inspection_id: str, data: ChildData, child_ids: Sequence[str], *,
                     selected_by: str) -> Coverage:
    """Record the selected children by case id (adding to any earlier selection) and return the coverage."""
    coverage = assess(data, child_ids)
    found = _find(data, [i.strip() for i in child_ids])
    now = ctx.clock.now()
    with ctx.session() as session:
        if session.get(m.Inspection, inspection_id) is None:
            raise SelectionRefused(f"no inspection {inspection_id!r}")
        known = set(session.scalars(select(m.TrackedCase.child_id).where(m.TrackedCase.inspection_id == inspection_id)))
        for child_id, (kind, row) in found.items():
            if child_id not in known:
                session.add(m.TrackedCase(inspection_id=inspection_id, child_id=child_id, list_kind=kind,
                                          selected_at=now, selected_by=selected_by,
                                          alternative_provision=row["setting_type"] == ALTERNATIVE_PROVISION))
        session.commit()
    return coverage


def tracked_cases(ctx: EngineContext, inspection_id: str) -> list[str]:
    """Return the case ids selected for tracking, in the order they were chosen."""
    with ctx.session() as session:
        return list(session.scalars(select(m.TrackedCase.child_id).where(m.TrackedCase.inspection_id == inspection_id)
                                    .order_by(m.TrackedCase.id)))


def _stored_lists(ctx: EngineContext, inspection_id: str) -> ChildData | None:
    """Return the inspection's accepted child-level data lists, if there are any yet."""
    from send_inspection.childdata.items import data_folder
    from send_inspection.childdata.store import MANIFEST, load_stored

    folder = data_folder(ctx, inspection_id, "child-level-data")
    return load_stored(folder) if (folder / MANIFEST).exists() else None


def select_from_stored(ctx: EngineContext, inspection_id: str, child_ids: Sequence[str], *,
                       selected_by: str) -> Coverage:
    """Record a selection against the inspection's accepted child-level data lists; refuse if there are none."""
    data = _stored_lists(ctx, inspection_id)
    if data is None:
        raise SelectionRefused(f"{inspection_id}: no accepted child-level data lists yet; "
                               "the data lead uploads them first")
    return record_selection(ctx, inspection_id, data, child_ids, selected_by=selected_by)


def selection_coverage(ctx: EngineContext, inspection_id: str) -> Coverage | None:
    """Return how the children chosen so far cover the usual mix (None before any is chosen or without lists)."""
    chosen = tracked_cases(ctx, inspection_id)
    data = _stored_lists(ctx, inspection_id) if chosen else None
    return assess(data, chosen) if data is not None else None
