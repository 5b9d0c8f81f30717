"""Record the inspectors' feedback at the end of fieldwork and tell only the leadership group (embargoed)."""

from __future__ import annotations

from dataclasses import dataclass

from send_inspection.catalogue.phases import AFTER_FIELDWORK
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.outgoing import send_notice
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.report.outcomes import outcome_words, outcomes_for


class FeedbackRefused(ValueError):
    """The feedback cannot be recorded; the message names the field at fault."""


@dataclass(frozen=True)
class PriorityAction:
    """An area for priority action and the ids of the partners the inspectors named for it."""

    area: str
    partners: tuple[str, ...]


def parse_priority_action(text: str, *, partner_ids: set[str]) -> PriorityAction:
    """Parse 'area: partner-id, partner-id' into a PriorityAction; refuse an unknown partner by name."""
    area, sep, partners = text.rpartition(":")
    if not sep or not area.strip():
        raise FeedbackRefused(f"priority action {text!r}: write it as 'area: partner, partner'")
    ids = tuple(p.strip() for p in partners.split(",") if p.strip())
    if not ids:
        raise FeedbackRefused(f"priority action {area.strip()!r}: name at least one partner")
    unknown = [p for p in ids if p not in partner_ids]
    if unknown:
        raise FeedbackRefused(f"priority action {area.strip()!r}: {', '.join(unknown)} is not a partner id in "
                              f"partnership.yaml report_partners ({', '.join(sorted(partner_ids))})")
    return PriorityAction(area=" ".join(area.split()), partners=ids)


def record_feedback(
    ctx: EngineContext,
    inspection_id: str,
    outcome: int,
    *,
    effective: str,
    improve: str,
    priority_actions: list[PriorityAction],
    recorded_by: str,
) -> None:
    """Record the feedback once, email it to the leadership group only, and start the report phase."""
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        kind = inspection.kind if inspection is not None else "full"
    try:
        words = outcome_words(outcome, kind=kind)
    except ValueError as exc:
        raise FeedbackRefused(f"outcome: {exc}") from exc
    effective, improve = effective.strip(), improve.strip()
    for field, value in (("effective", effective), ("improve", improve)):
        if not value:
            raise FeedbackRefused(f"{field}: say what the inspectors said")
    partners = {p.id: p.name for p in ctx.config.partnership.report_partners}
    group = ctx.config.partnership.leadership_group
    if not group:
        raise FeedbackRefused("leadership_group in partnership.yaml is empty: nobody could read the feedback")
    now = ctx.clock.now()
    with ctx.session() as session:
        if session.get(m.Inspection, inspection_id) is None:
            raise FeedbackRefused(f"no inspection {inspection_id!r}")
        if session.query(m.FeedbackRecord).filter_by(inspection_id=inspection_id).first() is not None:
            raise FeedbackRefused("the feedback of this inspection is already recorded")
        session.add(m.FeedbackRecord(
            inspection_id=inspection_id, outcome=outcome, effective=effective[:8000], improve=improve[:8000],
            priority_actions=[{"area": a.area, "partners": list(a.partners)} for a in priority_actions],
            recorded_by=recorded_by, recorded_at=now))
        session.commit()
    to = [ctx.config.partnership.person(k).email for k in group]
    send_notice(ctx, inspection_id, f"{inspection_id}:{AFTER_FIELDWORK.key}:feedback", "feedback_embargoed", to=to,
                now=now, sender_inbox="comms", outcome=outcome, of=len(outcomes_for(kind)), words=words,
                effective=effective, improve=improve,
                priority=[(a.area, [partners[p] for p in a.partners]) for a in priority_actions])
    ensure_phase(ctx, inspection_id, AFTER_FIELDWORK.key)
