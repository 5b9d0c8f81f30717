"""Typed text: every text column declared typed or structured; children's names removed from typed text only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, String, Text

from send_inspection.childdata.names import REMOVED, ChildNames
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.report.feedback import PriorityAction, record_feedback
from send_inspection.retention.typed_text import STRUCTURED, TYPED, redact_typed_text
from tests.conftest import NOTIFIED

NAMES = ChildNames.of([("Amelia-Rose", "Hartley", date(2015, 3, 12)), ("Jo", "Bishop", None)])


def test_every_text_column_is_declared_typed_or_structured_once() -> None:
    """A new text column fails here until someone says whether people type into it."""
    columns = {(t.name, c.name) for t in m.Base.metadata.tables.values() for c in t.columns
               if isinstance(c.type, String | Text | JSON)}
    typed = {(t, c) for t, cs in TYPED.items() for c in cs}
    structured = {(t, c) for t, cs in STRUCTURED.items() for c in cs}
    assert not typed & structured
    assert sorted(columns - typed - structured) == []
    assert sorted((typed | structured) - columns) == []


def test_names_and_birth_dates_are_removed_as_whole_words_in_any_case() -> None:
    """First names, last names and every spelling of a birth date go; a word merely containing a name stays."""
    text = "Met amelia-rose HARTLEY (12/03/2015, born 12 March 2015) and Jo; Hartleyford school; jog; 2015-03-12."
    assert NAMES.redact(text) == (f"Met {REMOVED} {REMOVED} ({REMOVED}, born {REMOVED}) and {REMOVED}; "
                                  f"Hartleyford school; jog; {REMOVED}.")
    assert not NAMES.found_in("Hartleyford") and NAMES.found_in("ask Bishop")


def test_the_database_loses_the_names_in_typed_columns_and_keeps_everything_structured(ctx: EngineContext) -> None:
    """The feedback's text and its JSON areas lose the names; a member of staff called Bishop keeps her name."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    record_feedback(ctx, iid, 3, effective="Jo Bishop's plan was exemplary.", improve="Nothing about Amelia-Rose.",
                    priority_actions=[PriorityAction(area="Plans like Hartley's", partners=("council",))],
                    recorded_by="inspection-coordinator")
    with ctx.session() as session:
        session.add(m.Person(inspection_id=iid, person_key="jb", name="Jo Bishop", role="SENCO",
                             email="jo.bishop@demo-county.example"))
        session.commit()
        changed = redact_typed_text(session, NAMES)
        session.commit()
        feedback = session.query(m.FeedbackRecord).one()
        staff = session.query(m.Person).filter_by(person_key="jb").one()
    assert changed == 1  # one row: the feedback
    assert (feedback.effective, feedback.improve) == (f"{REMOVED} {REMOVED}'s plan was exemplary.",
                                                      f"Nothing about {REMOVED}.")
    assert feedback.priority_actions[0]["area"] == f"Plans like {REMOVED}'s"
    assert (staff.name, staff.email) == ("Jo Bishop", "jo.bishop@demo-county.example")
