"""Record a person's answer to a step and move the item along its chain: the only writer of decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from send_inspection.catalogue.steps import in_order, step_spec
from send_inspection.db import models as m
from send_inspection.engine.phase_rows import note_news


def item_steps(item: m.RegisterItem) -> list[str]:
    """Return the item's steps in the order they are worked through."""
    return in_order(item.deadlines)


def _final_outcome(session: Session, item: m.RegisterItem, step: str, outcome: str) -> str:
    """Return what a finished item is marked: the evidence's fate for evidence chains, else the answer."""
    finished_as = step_spec(step).finished_as
    if finished_as is None:
        return outcome
    kind = session.scalar(
        select(m.Submission.kind).where(m.Submission.item_id == item.id).order_by(m.Submission.id.desc()).limit(1)
    )
    return "explained" if kind == "explanation" else finished_as


class DecisionRefused(Exception):
    """The answer cannot be recorded: the token is not for this step, or the step has moved on.

    `fields` maps a form field's name to what is wrong with it, so the page can say so beside that field.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.fields: dict[str, str] = {field: message} if field else {}


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
    # Why each point not ticked was not (the week-3 concern among them).
    checklist_notes: dict[str, str] | None = None


@dataclass(frozen=True)
class FormAnswer:
    """What a step's form adds to the button pressed: evidence handed in, the comment, and data for the phase."""

    submission: SubmissionData | None = None
    comment: str | None = None
    # What the form held as data the phase acts on (kept with the decision): a meeting's time and place, the days
    # agreed, the issues raised.
    details: dict | None = None


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
    details: dict | None = None,
) -> m.RegisterItem:
    """Record `outcome` for the token's step, advance the item, spend the token, flag the phase; commit.

    `details` is what the step's form held as data for the phase to act on (kept with the decision).
    """
    item = session.get(m.RegisterItem, token.item_id, with_for_update=True)
    if item is None:
        raise DecisionRefused("this link is for an item that does not exist")
    if item.outcome is not None or item.step != token.step or item.round != token.round:
        raise DecisionRefused("this request has already been answered and the item has moved on")
    button = step_spec(token.step).button(outcome)
    returning = button is not None and button.returns and "submit" in item.deadlines
    if button is None or (button.returns and not returning):
        raise DecisionRefused(f"'{outcome}' is not an answer to this step")
    if button.comment_needed and not (comment and comment.strip()):
        raise DecisionRefused(button.comment_needed, field="comment")
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
            details=details,
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
                checklist_notes=submission.checklist_notes,
                machine_checks=submission.machine_checks,
                submitted_by=token.person_key,
                submitted_at=now,
            )
        )
    steps = item_steps(item)
    if returning:
        item.step, item.round = "submit", item.round + 1
    elif steps.index(token.step) + 1 < len(steps):
        item.step = steps[steps.index(token.step) + 1]
    else:
        item.outcome = _final_outcome(session, item, token.step, outcome)
        item.done_at = now
    item.step_started_at = now
    token.used_at = now
    note_news(session, item.inspection_id, item.phase, now=now)
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
