"""Read the debrief form (Appendix E) and keep what it says; every missing field is named at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from send_inspection.db import models as m
from send_inspection.engine.decisions import DecisionRefused

RATINGS = ("red", "amber", "green")
# field -> what the form calls it (all required; "documents requested" may say "none").
FIELDS = {
    "interviewees": "who was interviewed (roles, not names of children or families)",
    "focus": "the focus of the discussion",
    "evidence_used": "the evidence used",
    "documents_requested": "documents requested (one a line, or 'none')",
    "unexpected_questions": "unexpected questions",
    "points_for_others": "points for others to know",
}


@dataclass(frozen=True)
class DebriefAnswers:
    """A debrief as the form gives it."""

    interviewees: str
    focus: str
    evidence_used: str
    documents_requested: list[str]
    unexpected_questions: str
    points_for_others: str
    rating: str


class DebriefRefused(DecisionRefused):
    """The debrief cannot be accepted; `lines` names every field to complete."""

    def __init__(self, lines: list[str], fields: dict[str, str] | None = None) -> None:
        super().__init__("nothing was recorded: complete the fields below and send the debrief again")
        self.lines = lines
        self.fields = fields or {}


def parse_debrief(form: Mapping[str, str]) -> DebriefAnswers:
    """Read the debrief form; raise DebriefRefused naming every missing or wrong field."""
    values = {name: " ".join(str(form.get(name) or "").split()) for name in FIELDS}
    fields = {name: f"{label}: missing" for name, label in FIELDS.items() if not values[name]}
    rating = str(form.get("rating") or "").strip().lower()
    if rating not in RATINGS:
        fields["rating"] = "rating: choose red, amber or green"
    if fields:
        raise DebriefRefused(list(fields.values()), fields)
    lines = [" ".join(x.split()) for x in str(form.get("documents_requested") or "").splitlines()]
    documents = [x[:500] for x in lines if x and x.lower() not in {"none", "n/a", "-"}]
    return DebriefAnswers(values["interviewees"][:2000], values["focus"][:2000], values["evidence_used"][:4000],
                          documents, values["unexpected_questions"][:4000], values["points_for_others"][:4000], rating)


def record_debrief(session: Session, item: m.RegisterItem, answers: DebriefAnswers, *, debriefer: str,
                   now: datetime) -> None:
    """Keep the debrief of the item's slot (the caller commits with the decision)."""
    session.add(m.Debrief(inspection_id=item.inspection_id, slot_id=item.ref.removeprefix("debrief-"),
                          debriefer=debriefer, interviewees=answers.interviewees, focus=answers.focus,
                          evidence_used=answers.evidence_used, documents_requested=answers.documents_requested,
                          unexpected_questions=answers.unexpected_questions,
                          points_for_others=answers.points_for_others, rating=answers.rating, submitted_at=now))
