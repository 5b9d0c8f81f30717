"""Say who answers each step of an item: the one place that maps steps to people."""

from __future__ import annotations

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext

# Steps answered by the item's `evidence_lead` (who provides or does the thing)...
_LEAD_STEPS = frozenset({"submit", "identify", "agree", "inform", "confirm", "arrange", "debrief", "receive",
                         "comment", "publish"})
# ...and steps answered by its `accountable_lead` (who reviews it).
_REVIEW_STEPS = frozenset({"approve", "review"})


def step_owner(ctx: EngineContext, item: m.RegisterItem, step: str | None = None) -> str:
    """Return the person key of whoever answers `step` (default: the item's current step)."""
    step = step or item.step
    field = owner_field(step)
    if field is not None:
        return str(getattr(item, field))
    roles = ctx.config.partnership.roles
    return {"check": roles.director_final_check, "upload": roles.lano}[step]


def owner_field(step: str) -> str | None:
    """Return the item's field naming who answers `step` ("evidence_lead", "accountable_lead"), None for a role."""
    if step in _LEAD_STEPS:
        return "evidence_lead"
    return "accountable_lead" if step in _REVIEW_STEPS else None
