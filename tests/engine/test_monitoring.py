"""Monitoring inspections: the focused areas instead of Annex A, no family survey, two outcomes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.notification import SurveyLinks, send_surveys
from send_inspection.engine.report_phase import reconcile_report
from send_inspection.mail.outbox import list_outbox, outbox_id_for, read_outbox_message
from send_inspection.report.feedback import FeedbackRefused, record_feedback
from send_inspection.report.outcomes import MONITORING_OUTCOMES
from tests.conftest import NOTIFIED

TWO_LINKS = SurveyLinks(children_young_people="https://surveys.example/cyp", practitioners="https://surveys.example/pr")


def test_a_monitoring_inspection_asks_for_the_focused_areas_only(ctx: EngineContext) -> None:
    """Its register is the three focused areas of register.yaml, on the usual sign-off chain and deadlines."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal", kind="monitoring")
    with ctx.session() as session:
        assert session.get(m.Inspection, iid).kind == "monitoring"
        items = list(session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == iid)
                                     .order_by(m.RegisterItem.id)))
    assert [(i.ref, i.phase) for i in items] == [("M1", "day2"), ("M2", "day2"), ("M3", "day5")]
    assert all(set(i.deadlines) == {"submit", "approve", "check", "upload"} for i in items)
    assert items[0].deadlines == {step: ctx.config.step_milestone(ctx.config.annex_a.monitoring_items[0], step)
                                  for step in ("submit", "approve", "check", "upload")}


def test_a_monitoring_inspection_sends_no_family_survey(ctx: EngineContext) -> None:
    """Two survey links are enough: the children's and practitioners' surveys go, the family survey does not."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal", kind="monitoring")
    assert send_surveys(ctx, iid, TWO_LINKS) == 2
    keys = {e.key for e in list_outbox(ctx.transport.folder)}
    assert f"{iid}:notification:survey:parents_carers" not in keys
    assert f"{iid}:notification:survey:practitioners" in keys


def test_a_full_inspection_without_the_family_survey_link_is_refused_by_name(ctx: EngineContext) -> None:
    """A full inspection needs all three links: the missing one is named."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    with pytest.raises(ValueError, match="parents_carers is missing"):
        send_surveys(ctx, iid, TWO_LINKS)


def test_a_monitoring_inspection_has_two_outcomes_in_their_words(ctx: EngineContext) -> None:
    """Outcome 3 is refused; outcome 2 is recorded as 'ineffective action' and goes to the leadership group."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal", kind="monitoring")
    with pytest.raises(FeedbackRefused, match="outcome must be 1 or 2 for a monitoring inspection"):
        record_feedback(ctx, iid, 3, effective="x", improve="y", priority_actions=[], recorded_by="x")
    record_feedback(ctx, iid, 2, effective="Data is used better.", improve="Governance.", priority_actions=[],
                    recorded_by="inspection-coordinator")
    reconcile_report(ctx, iid)  # the report phase's first pass emails the feedback
    text = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:report:feedback")).text or ""
    assert "Outcome 2 of 2:" in text and MONITORING_OUTCOMES[2] in " ".join(text.split())
    assert "ineffective action" in MONITORING_OUTCOMES[2]
