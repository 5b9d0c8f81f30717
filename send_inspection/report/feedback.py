"""Record the inspectors' feedback at the end of fieldwork; the report phase tells only the leadership group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from send_inspection.catalogue.phases import AFTER_FIELDWORK
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.mail_retry import MailFailures
from send_inspection.engine.outgoing import send_notice
from send_inspection.engine.phase_rows import ensure_phase, note_news
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
    """Record the feedback once and start (or wake) the report phase, which emails it to the leadership group only."""
    with ctx.session() as session:
        inspection = session.get(m.Inspection, inspection_id)
        kind = inspection.kind if inspection is not None else "full"
    try:
        outcome_words(outcome, kind=kind)
    except ValueError as exc:
        raise FeedbackRefused(f"outcome: {exc}") from exc
    effective, improve = effective.strip(), improve.strip()
    for field, value in (("effective", effective), ("improve", improve)):
        if not value:
            raise FeedbackRefused(f"{field}: say what the inspectors said")
    if not ctx.config.partnership.leadership_group:
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
        # A report phase already waiting (fieldwork ended first) looks again at once and sends the feedback.
        note_news(session, inspection_id, AFTER_FIELDWORK.key, now=now)
        session.commit()
    ensure_phase(ctx, inspection_id, AFTER_FIELDWORK.key)


def send_feedback(ctx: EngineContext, inspection_id: str, *, now: datetime, mail: MailFailures) -> int:
    """Email the recorded feedback, embargoed, to the leadership group once; return 1 if it went now.

    The report phase sends it in its pass, so it waits for the quiet hours and is tried again after a failure
    like every other email. Nothing is sent before the feedback is recorded.
    """
    with ctx.session() as session:
        record = session.query(m.FeedbackRecord).filter_by(inspection_id=inspection_id).first()
        inspection = session.get(m.Inspection, inspection_id)
    if record is None or inspection is None:
        return 0
    partners = {p.id: p.name for p in ctx.config.partnership.report_partners}
    to = [ctx.config.partnership.person(k).email for k in ctx.config.partnership.leadership_group]
    key = f"{inspection_id}:{AFTER_FIELDWORK.key}:feedback"
    with mail.guard(key):
        return send_notice(
            ctx, inspection_id, key, "feedback_embargoed", to=to, now=now, sender_inbox="comms",
            outcome=record.outcome, of=len(outcomes_for(inspection.kind)),
            words=outcome_words(record.outcome, kind=inspection.kind), effective=record.effective,
            improve=record.improve,
            priority=[(a["area"], [partners[p] for p in a["partners"]]) for a in record.priority_actions])
    return 0
