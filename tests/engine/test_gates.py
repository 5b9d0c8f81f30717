"""The Annex A tracked-cases row waits until every tracked child's documents are reviewed, or their case closed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.catalogue.phases import TRACKED_CASE
from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import ensure_phase, get_phase
from send_inspection.engine.tracked_case import reconcile_case, start_tracked_cases
from tests.cases.test_people_form import CASE, select_case

ROW = "tracked-cases"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return a London time in the demo inspection's first week (Monday 26 June 2023 is day 1)."""
    return datetime(2023, 6, 25 + day, hour, minute, tzinfo=LONDON)


def asks_for_row(ctx: EngineContext) -> list[m.EmailRecord]:
    """Return the ledger's asks for the tracked-cases row's first step."""
    with ctx.session() as session:
        return list(session.scalars(select(m.EmailRecord).where(m.EmailRecord.key.like(f"%:day5:{ROW}:submit:%"))))


def answer(ctx: EngineContext, ref: str, outcome: str) -> None:
    """Finish one of the case's items as its owner's answer would."""
    with ctx.session() as session:
        item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == f"{CASE}:{ref}")).one()
        item.outcome, item.done_at = outcome, ctx.clock.now()
        session.commit()


def case_documents(ctx: EngineContext) -> list[str]:
    """Return the refs of the case's document items opened so far."""
    names = {d.id for d in ctx.config.tracked_cases.documents}
    with ctx.session() as session:
        refs = session.scalars(select(m.RegisterItem.ref).where(m.RegisterItem.phase == TRACKED_CASE.phase(CASE)))
        return [r.split(":", 1)[1] for r in refs if r.split(":", 1)[1] in names]


def test_the_tracked_cases_row_is_asked_only_once_every_childs_documents_are_reviewed(ctx: EngineContext) -> None:
    """Before the selection, and while a document waits for the LANO, nobody is asked for the row; the pass after the
    last review asks at once, the step counting from then, and the row's phase was told to look again."""
    ctx.clock.set(at(2, 12))  # type: ignore[attr-defined]
    iid = select_case(ctx)
    ensure_phase(ctx, iid, "day5")
    waiting = reconcile_annex_a(ctx, iid, "day5")
    row = next(s for s in waiting.items if s.ref == ROW)
    assert (row.waits_for, row.outcome) == ("tracked-cases-reviewed", None)
    assert (f"{ROW} waits for every tracked child's documents reviewed by the LANO (or the case closed)"
            in waiting.reason)
    assert asks_for_row(ctx) == []

    start_tracked_cases(ctx, iid)
    reconcile_case(ctx, iid, CASE)
    answer(ctx, "practitioners", "identified")
    reconcile_case(ctx, iid, CASE)
    answer(ctx, "family", "agreed")
    ctx.clock.set(at(4, 10))  # type: ignore[attr-defined]
    reconcile_case(ctx, iid, CASE)
    documents = case_documents(ctx)
    assert len(documents) == 6  # the commissioning agreement only for a child in alternative provision
    for name in documents[:-1]:
        answer(ctx, name, "reviewed")
    reconcile_case(ctx, iid, CASE)
    reconcile_annex_a(ctx, iid, "day5")
    assert asks_for_row(ctx) == []

    ctx.clock.set(at(4, 18, 30))  # type: ignore[attr-defined]
    answer(ctx, documents[-1], "reviewed")
    seen = get_phase(ctx, iid, "day5").changes  # type: ignore[union-attr]
    reconcile_case(ctx, iid, CASE)
    assert get_phase(ctx, iid, "day5").changes == seen + 1  # type: ignore[union-attr]
    with ctx.session() as session:
        case = session.scalars(select(m.TrackedCase)).one()
        assert case.documents_reviewed_at == at(4, 18, 30)
    reconcile_annex_a(ctx, iid, "day5")
    asks = asks_for_row(ctx)
    assert [(a.key.rsplit(":", 1)[-1], a.recipients, a.sent_at) for a in asks] == [
        ("ask", ["fiona.hargreaves@demo-county.example"], at(4, 18, 30))]
    with ctx.session() as session:
        item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == ROW)).one()
    assert (item.waits_for, item.step, item.step_started_at) == (None, "submit", at(4, 18, 30))
    reconcile_case(ctx, iid, CASE)
    assert get_phase(ctx, iid, "day5").changes == seen + 1  # type: ignore[union-attr] - told once


def test_a_closed_case_does_not_hold_the_row_back(ctx: EngineContext) -> None:
    """A child the inspectors replaced has no documents to wait for: closing the case opens the gate."""
    ctx.clock.set(at(2, 18))  # type: ignore[attr-defined]
    iid = select_case(ctx)
    ensure_phase(ctx, iid, "day5")
    start_tracked_cases(ctx, iid)
    reconcile_case(ctx, iid, CASE)
    answer(ctx, "practitioners", "identified")
    reconcile_case(ctx, iid, CASE)
    answer(ctx, "family", "declined")
    reconcile_case(ctx, iid, CASE)
    reconcile_annex_a(ctx, iid, "day5")
    assert asks_for_row(ctx) == []
    answer(ctx, "inspectors", "replace")
    assert reconcile_case(ctx, iid, CASE).done
    reconcile_annex_a(ctx, iid, "day5")
    assert len(asks_for_row(ctx)) == 1
