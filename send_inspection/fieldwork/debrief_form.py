"""Read the debrief form (Appendix E) as the guidance has it and keep what it says; every missing field is named.

The form asks, of the interviewee or focus group (staff only): name, job title, contact details and service area;
then the guidance's questions in its words, the traffic-light rating with its definitions, and an overall summary.
The kept sheet is named as the guidance says: date, the debriefer's initials, "Summary" (e.g. "15.09.20 LP Summary").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from send_inspection.calendar import to_london
from send_inspection.db import models as m
from send_inspection.engine.decisions import DecisionRefused

# The traffic-light ratings and their definitions, in the words of Appendix E.
RAG = {
    "green": "Interview is judged to have gone well, with no unexpected questions or concerns over answers provided",
    "amber": "Interview judged adequate, with some unexpected or unanticipated questions asked but no serious "
             "concerns",
    "red": "Concerns raised over focus of interview, questions asked or answers provided during interview",
}
RATINGS = tuple(RAG)
# field -> what the form calls it, in Appendix E's order and words. Every one is required; the documents and the
# unexpected questions may say "none" (then how they were answered may be left empty).
FIELDS = {
    "interviewees": "name of interviewee or focus group",
    "job_title": "job title",
    "contact": "contact details",
    "service_area": "service area",
    "focus": "the main focus of the interview: the key topics or issues it concentrated on",
    "evidence_used": "the key evidence and examples drawn upon",
    "documents_provided": "documents provided (one a line, or 'none')",
    "documents_requested": "documents requested (one a line, or 'none')",
    "unexpected_questions": "unexpected or unforeseen questions (or 'none')",
    "how_answered": "how they were answered",
    "points_for_others": "anything others being interviewed should be made aware of",
    "overall_summary": "overall summary",
}
NONE_WORDS = frozenset({"none", "n/a", "-", "no"})
LONG = {"interviewees": 2000, "job_title": 300, "contact": 300, "service_area": 300, "focus": 2000}


@dataclass(frozen=True)
class DebriefAnswers:
    """A debrief as the form gives it."""

    interviewees: str
    job_title: str
    contact: str
    service_area: str
    focus: str
    evidence_used: str
    documents_provided: list[str]
    documents_requested: list[str]
    unexpected_questions: str
    how_answered: str
    points_for_others: str
    rating: str
    overall_summary: str


class DebriefRefused(DecisionRefused):
    """The debrief cannot be accepted; `lines` names every field to complete."""

    def __init__(self, lines: list[str], fields: dict[str, str] | None = None) -> None:
        super().__init__("nothing was recorded: complete the fields below and send the debrief again")
        self.lines = lines
        self.fields = fields or {}


def _documents(text: str) -> list[str]:
    lines = [" ".join(x.split()) for x in text.splitlines()]
    return [x[:500] for x in lines if x and x.lower() not in NONE_WORDS]


def parse_debrief(form: Mapping[str, str]) -> DebriefAnswers:
    """Read the debrief form; raise DebriefRefused naming every missing or wrong field."""
    values = {name: " ".join(str(form.get(name) or "").split()) for name in FIELDS}
    no_questions = values["unexpected_questions"].lower() in NONE_WORDS
    fields = {name: f"{label}: missing" for name, label in FIELDS.items()
              if not values[name] and not (name == "how_answered" and no_questions)}
    rating = str(form.get("rating") or "").strip().lower()
    if rating not in RATINGS:
        fields["rating"] = "rating: choose green, amber or red"
    if fields:
        raise DebriefRefused(list(fields.values()), fields)
    kept = {name: value[:LONG.get(name, 4000)] for name, value in values.items()}
    return DebriefAnswers(
        interviewees=kept["interviewees"], job_title=kept["job_title"], contact=kept["contact"],
        service_area=kept["service_area"], focus=kept["focus"], evidence_used=kept["evidence_used"],
        documents_provided=_documents(str(form.get("documents_provided") or "")),
        documents_requested=_documents(str(form.get("documents_requested") or "")),
        unexpected_questions=kept["unexpected_questions"], how_answered=kept["how_answered"],
        points_for_others=kept["points_for_others"], rating=rating, overall_summary=kept["overall_summary"])


def record_debrief(session: Session, item: m.RegisterItem, answers: DebriefAnswers, *, debriefer: str,
                   now: datetime) -> None:
    """Keep the debrief of the item's slot (the caller commits with the decision)."""
    session.add(m.Debrief(
        inspection_id=item.inspection_id, slot_id=item.ref.removeprefix("debrief-"), debriefer=debriefer,
        interviewees=answers.interviewees, job_title=answers.job_title, contact=answers.contact,
        service_area=answers.service_area, focus=answers.focus, evidence_used=answers.evidence_used,
        documents_provided=answers.documents_provided, documents_requested=answers.documents_requested,
        unexpected_questions=answers.unexpected_questions, how_answered=answers.how_answered,
        points_for_others=answers.points_for_others, rating=answers.rating,
        overall_summary=answers.overall_summary, submitted_at=now))


def initials(name: str) -> str:
    """Return a person's initials as the guidance writes them ("Lucy Penhaligon" -> "LP"; titles left out)."""
    words = [w for w in name.replace("-", " ").split() if w.rstrip(".").lower() not in {"dr", "cllr", "mr", "mrs",
                                                                                          "ms", "miss", "prof"}]
    return "".join(w[0].upper() for w in words if w[0].isalpha())


def sheet_name(debrief: m.Debrief, debriefer_name: str) -> str:
    """Return the name the guidance gives the saved sheet: date, the debriefer's initials, Summary."""
    return f"{to_london(debrief.submitted_at):%d.%m.%y} {initials(debriefer_name)} Summary"
