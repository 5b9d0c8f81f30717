"""Write a debrief as the Appendix E sheet (.docx), named as the guidance says: date, initials, Summary."""

from __future__ import annotations

import io

from docx import Document
from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import people
from send_inspection.fieldwork.debrief_form import RAG, sheet_name

# The guidance's questions, with the debrief's fields that answer each.
QUESTIONS = (
    ("1. What would you say was the main focus of your interview? In your opinion, what key topics or issues "
     "(e.g. 1 or 2) did the interview concentrate on?", ("focus",)),
    ("2. What key evidence and examples did you draw upon to support your arguments during the interview?",
     ("evidence_used",)),
    ("3. Did you provide any documents and/or did they request any?", ("documents_provided", "documents_requested")),
    ("4. Were you asked any unexpected or unforeseen questions during the interview? If so, what were they, and how "
     "did you answer them?", ("unexpected_questions", "how_answered")),
    ("5. Is there anything that others being interviewed during the inspection should be made aware of?",
     ("points_for_others",)),
)
LABELS = {"documents_provided": "Provided", "documents_requested": "Requested", "unexpected_questions": "Asked",
          "how_answered": "Answered"}


def _text(debrief: m.Debrief, field: str) -> str:
    value = getattr(debrief, field)
    if isinstance(value, list):
        return "; ".join(value) or "none"
    return value or "-"


def debrief_sheet(debrief: m.Debrief, slot: m.FieldworkSlot, debriefer: str) -> bytes:
    """Return the filled-in Appendix E sheet of one debrief as a Word document."""
    document = Document()
    document.add_heading("Ofsted inspection debriefing information", level=1)
    header = document.add_table(rows=0, cols=2)
    header.style = "Table Grid"
    for label, value in (("Name of interviewee/focus group", debrief.interviewees), ("Job title", debrief.job_title),
                         ("Contact details", debrief.contact), ("De-briefer", debriefer),
                         ("Service area", debrief.service_area),
                         ("Date", f"{to_london(debrief.submitted_at):%d/%m/%Y}"),
                         ("Meeting", f"{slot.title} ({to_london(slot.start_at):%a %d %b %H:%M})")):
        cells = header.add_row().cells
        cells[0].text, cells[1].text = label, value
    for question, fields in QUESTIONS:
        document.add_paragraph(question).runs[0].bold = True
        for field in fields:
            prefix = f"{LABELS[field]}: " if field in LABELS else ""
            document.add_paragraph(prefix + _text(debrief, field))
    document.add_paragraph("6. How well the interviewee(s) feel their interview went (traffic light):").runs[0].bold = \
        True
    ratings = document.add_table(rows=1, cols=2)
    ratings.style = "Table Grid"
    ratings.rows[0].cells[0].text, ratings.rows[0].cells[1].text = "Rating", "Please tick"
    for colour, words in RAG.items():
        cells = ratings.add_row().cells
        cells[0].text = f"{colour.upper()}: {words}"
        cells[1].text = "✓" if debrief.rating == colour else ""
    document.add_paragraph("Overall Summary:").runs[0].bold = True
    document.add_paragraph(debrief.overall_summary or "-")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def debrief_sheets(ctx: EngineContext, inspection_id: str) -> list[tuple[str, bytes]]:
    """Return every debrief of the inspection as (file name, .docx), named "<dd.mm.yy> <initials> Summary"."""
    with ctx.session() as session:
        staff = people(session, inspection_id)
        slots = {s.slot_id: s for s in session.scalars(select(m.FieldworkSlot).where(
            m.FieldworkSlot.inspection_id == inspection_id))}
        debriefs = list(session.scalars(select(m.Debrief).where(m.Debrief.inspection_id == inspection_id)
                                        .order_by(m.Debrief.submitted_at, m.Debrief.id)))
    sheets: list[tuple[str, bytes]] = []
    taken: dict[str, int] = {}
    for debrief in debriefs:
        who = staff[debrief.debriefer].name if debrief.debriefer in staff else debrief.debriefer
        name = sheet_name(debrief, who)
        taken[name] = taken.get(name, 0) + 1
        shown = name if taken[name] == 1 else f"{name} ({taken[name]})"
        sheets.append((f"{shown}.docx", debrief_sheet(debrief, slots[debrief.slot_id], who)))
    return sheets
