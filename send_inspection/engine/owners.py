"""Say who answers each step of an item, as the step catalogue declares it: the one place that maps steps to people."""

from __future__ import annotations

from send_inspection.catalogue.steps import LEAD, REVIEWER, step_spec
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext


def step_owner(ctx: EngineContext, item: m.RegisterItem, step: str | None = None) -> str:
    """Return the person key of whoever answers `step` (default: the item's current step).

    The item's own owner of the step (register.yaml `answered_by`, frozen when the inspection opened) comes first;
    else the step catalogue's: the item's evidence lead, its accountable lead, or a role of partnership.yaml.
    """
    step = step or item.step
    if step in (item.step_owners or {}):
        return item.step_owners[step]
    field = owner_field(step)
    if field is not None:
        return str(getattr(item, field))
    return ctx.config.partnership.roles.person_for(step_spec(step).answered_by)


def owner_field(step: str) -> str | None:
    """Return the item's field naming who answers `step` ("evidence_lead", "accountable_lead"), None for a role."""
    answered_by = step_spec(step).answered_by
    if answered_by == LEAD:
        return "evidence_lead"
    return "accountable_lead" if answered_by == REVIEWER else None
