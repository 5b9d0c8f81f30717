"""Record a person's answer to a step and move the item along its chain: the only writer of decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.db import models as m

# step -> {outcome: (next step, whether the round restarts)}
TRANSITIONS: dict[str, dict[str, tuple[str, bool]]] = {
    "submit": {"submitted": ("approve", False), "explained": ("approve", False)},
    "approve": {"approved": ("check", False), "returned": ("submit", True)},
    "check": {"approved": ("upload", False), "returned": ("submit", True)},
    "upload": {"confirmed": ("done", False)},
}


class DecisionRefused(Exception):
    """The answer cannot be recorded: the token is not for this step, or the step has moved on."""


@dataclass(frozen=True)
class SubmissionData:
    """What an evidence lead hands in: a stored file, a hyperlink or an explanation, and the checklist."""

    kind: str
    checklist: dict[str, bool]
    filename: str | None = None
    stored_path: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    link_url: str | None = None
    explanation: str | None = None
    machine_checks: dict | None = None


def record_decision(
    session: Session,
    token: m.ActionToken,
    outcome: str,
    *,
    now: datetime,
    comment: str | None = None,
    submission: SubmissionData | None = None,
    remote_addr: str | None = None,
    user_agent: str | None = None,
) -> m.RegisterItem:
    """Record `outcome` for the token's step, advance the item, spend the token, flag the phase; commit."""
    item = session.get(m.RegisterItem, token.item_id, with_for_update=True)
    if item is None:
        raise DecisionRefused("this link is for an item that does not exist")
    if item.outcome is not None or item.step != token.step or item.round != token.round:
        raise DecisionRefused("this request has already been answered and the item has moved on")
    allowed = TRANSITIONS[token.step]
    if outcome not in allowed:
        raise DecisionRefused(f"'{outcome}' is not an answer to this step")
    if outcome == "returned" and not (comment and comment.strip()):
        raise DecisionRefused("say why you are returning it: the comment goes to the evidence lead")
    session.add(
        m.Decision(
            item_id=item.id,
            step=token.step,
            round=token.round,
            outcome=outcome,
            comment=(comment or "").strip() or None,
            decided_by=token.person_key,
            decided_at=now,
            remote_addr=remote_addr,
            user_agent=(user_agent or "")[:500] or None,
            token_id=token.id,
        )
    )
    if submission is not None:
        session.add(
            m.Submission(
                item_id=item.id,
                round=item.round,
                kind=submission.kind,
                filename=submission.filename,
                stored_path=submission.stored_path,
                sha256=submission.sha256,
                size_bytes=submission.size_bytes,
                link_url=submission.link_url,
                explanation=submission.explanation,
                checklist=submission.checklist,
                machine_checks=submission.machine_checks,
                submitted_by=token.person_key,
                submitted_at=now,
            )
        )
    next_step, new_round = allowed[outcome]
    if next_step == "done":
        kind = session.scalar(
            select(m.Submission.kind)
            .where(m.Submission.item_id == item.id)
            .order_by(m.Submission.id.desc())
            .limit(1)
        )
        item.outcome = "explained" if kind == "explanation" else "uploaded"
        item.done_at = now
    else:
        item.step = next_step
        if new_round:
            item.round += 1
    item.step_started_at = now
    token.used_at = now
    run = session.scalars(
        select(m.PhaseRun).where(m.PhaseRun.inspection_id == item.inspection_id, m.PhaseRun.phase == item.phase)
    ).first()
    if run is not None:
        run.changes += 1
        run.updated_at = now
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise DecisionRefused("this request has already been answered") from exc
    return item


def latest_submission(session: Session, item_id: int) -> m.Submission | None:
    """Return the most recent submission for an item."""
    return session.scalars(
        select(m.Submission).where(m.Submission.item_id == item_id).order_by(m.Submission.id.desc()).limit(1)
    ).first()
