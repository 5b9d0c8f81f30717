"""The console's pages drive the coordinator's actions: each form's refusal names its field and keeps what was typed;
each success goes back to its page, which shows what was done as the audit log recorded it."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import ensure_phase
from tests.console.conftest import COORDINATOR
from tests.coordinator.fake_runner import RecordingRunner

IID = "demo-county-2023-06-26"
TIMETABLE = b"""Slot,Kind,Title,Date,Start,End,Location,Attendees,Debriefer,Focus
W3-1,leaders-meeting,Meeting with leaders,2023-07-10,10:00,11:00,Demo House,dcs;dir-inclusion,dir-inclusion,
"""


def done(client: TestClient, response) -> str:  # noqa: ANN001
    """Follow an action's redirect and return the 'Done' notice of the page it lands on."""
    assert response.status_code == 303, response.text[:500]
    page = client.get(response.headers["location"])
    found = re.search(r'<div class="notice" role="status"><h2>Done</h2><p>(.*?)</p>', page.text)
    assert found, page.text[:500]
    return found.group(1)


def test_a_coordinator_runs_the_inspection_from_the_pages(ctx: EngineContext, app_client: TestClient,
                                                          runner: RecordingRunner,
                                                          sign_in: Callable[[str], str]) -> None:
    """Start, survey links, a request (refused then recorded), an absence, a fresh link, an owner, the timetable
    (previewed, then confirmed), the library and the feedback: each through its page, each in the audit log."""
    csrf = sign_in(COORDINATOR)
    post = lambda path, **data: app_client.post(path, data={"csrf": csrf, **data})  # noqa: E731
    refused = post("/console/start", notified_at="2023-06-15T09:00", kind="full")
    assert refused.status_code == 422 and "more than a day ago" in refused.text and 'value="2023-06-15T09:00"' in \
        refused.text
    assert "started the full inspection" in done(app_client, post("/console/start", notified_at="2023-06-26T09:00",
                                                                  kind="full"))
    ensure_phase(ctx, IID, "day2")  # as the notification run would, then day 2's run: the asks go
    reconcile_annex_a(ctx, IID, "day2")

    base = f"/console/i/{IID}"
    bad = post(f"{base}/survey-links", children_young_people="not a link", practitioners="https://s.example/w")
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text and "not a link" in bad.text
    assert "gave the survey links" in done(app_client, post(
        f"{base}/survey-links", children_young_people="https://s.example/c", parents_carers="https://s.example/p",
        practitioners="https://s.example/w", closes_at="2023-07-04T12:00"))

    missing = post(f"{base}/requests", asked="", inspector="Ms Example", head_of_service="hos-send")
    assert missing.status_code == 422 and "what the inspector asked for is missing" in missing.text
    assert "recorded additional evidence request 1" in done(app_client, post(
        f"{base}/requests", asked="The SEND strategy action plan", inspector="Ms Example",
        head_of_service="hos-send"))

    backwards = post(f"{base}/away", person="hos-data", from_at="2023-06-27T09:00", until_at="2023-06-26T09:00")
    assert backwards.status_code == 422 and "must come after its start" in backwards.text
    assert "Ben Hollinshead away" in done(app_client, post(f"{base}/away", person="hos-data",
                                                           from_at="2023-06-26T09:00", until_at="2023-06-28T17:00"))
    assert "fresh link to 1.3" in done(app_client, post(f"{base}/fresh-link", item="1.3", person="head-improvement"))
    assert "the evidence lead of 1.1" in done(app_client, post(f"{base}/owner", item="1.1", field="evidence_lead",
                                                              person="hos-education"))

    preview = app_client.post(f"{base}/timetable", data={"csrf": csrf}, files={"file": ("t.csv", TIMETABLE)})
    assert preview.status_code == 200 and "Invitations: 1" in preview.text and "Helen Ashcombe" in preview.text
    with ctx.session() as session:
        assert session.query(m.FieldworkSlot).count() == 0  # a preview saves nothing
    staged = re.search(r'name="staged" value="([^"]+)"', preview.text).group(1)
    digest = re.search(r'name="digest" value="([^"]+)"', preview.text).group(1)
    assert "imported the timetable t.csv" in done(app_client, post(f"{base}/timetable/confirm", staged=staged,
                                                                   digest=digest))

    loaded = app_client.post("/console/library", data={"csrf": csrf, "ref": "1.1"},
                             files={"files": ("structure.txt", b"Partnership structure, June 2023")})
    assert "version 1 of 1.1" in done(app_client, loaded)

    feedback = post(f"{base}/feedback", outcome="2", effective="Joint working", improve="Waiting times",
                    priority="Transitions: nowhere")
    assert feedback.status_code == 422 and "is not a partner id" in feedback.text
    assert "recorded the feedback: outcome 2" in done(app_client, post(f"{base}/feedback", outcome="2",
                                                                        effective="Joint working",
                                                                        improve="Waiting times"))
    assert "Joint working" not in app_client.get(f"{base}/feedback").text  # embargoed: not shown on the console

    with ctx.session() as session:
        actions = [e.action for e in session.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))]
    assert actions == ["sign in", "start inspection", "survey links", "additional request", "away", "fresh link",
                       "change owner", "import timetable", "library", "feedback"]
    audit = app_client.get("/console/audit").text
    assert audit.count("Leah Marchetti") >= len(actions) and "console" in audit
    dashboard = app_client.get(base)
    assert dashboard.status_code == 200 and 'role="img"' in dashboard.text and "<desc id=\"picture-desc\">" in \
        dashboard.text
    assert ("nudge", IID) in runner.calls and ("links", IID) in runner.calls


def test_a_refused_selection_never_shows_what_was_typed(ctx: EngineContext, app_client: TestClient,
                                                        sign_in: Callable[[str], str]) -> None:
    """Entries that are not case ids (perhaps a child's name) are named by position only, and not typed back."""
    csrf = sign_in(COORDINATOR)
    app_client.post("/console/start", data={"csrf": csrf, "notified_at": "2023-06-26T09:00", "kind": "full"})
    response = app_client.post(f"/console/i/{IID}/cases", data={"csrf": csrf, "case_ids": "Jane Smith"})
    assert response.status_code == 422 and "no accepted child-level data lists yet" in response.text
    assert "Jane" not in response.text


def test_a_coordinator_holds_deletion_lifts_the_hold_and_exports_the_record(ctx: EngineContext,
                                                                           app_client: TestClient,
                                                                           sign_in: Callable[[str], str]) -> None:
    """The retention page shows each kind's rule; a hold without a reason is refused at its field, one with a reason
    is placed and listed, then lifted; the record is exported; the audit log never repeats the reason."""
    from send_inspection.engine.inspection import open_inspection
    from tests.conftest import NOTIFIED

    open_inspection(ctx, NOTIFIED, mode="rehearsal")
    csrf = sign_in(COORDINATOR)
    post = lambda path, **data: app_client.post(path, data={"csrf": csrf, **data})  # noqa: E731
    base = f"/console/i/{IID}/retention"
    page = app_client.get(base)
    assert page.status_code == 200 and "20 working days after the final report was published" in page.text
    refused = post(f"{base}/hold", kind="complaint", reason="")
    assert refused.status_code == 422 and 'id="reason-error"' in refused.text and 'aria-invalid' in refused.text
    assert "placed hold 1 (a complaint about the inspection)" in done(
        app_client, post(f"{base}/hold", kind="complaint", reason="The Jones family's complaint of 3 Feb"))
    assert "The Jones family&#39;s complaint of 3 Feb" in app_client.get(base).text
    assert "lifted hold 1" in done(app_client, post(f"{base}/hold/1/lift", lift_reason_1="Answered and closed"))
    assert "exported the inspection&#39;s record (11 files" in done(app_client, post(f"{base}/export"))
    with ctx.session() as session:
        assert not [e for e in session.scalars(select(m.AuditEntry.what)) if "Jones" in e]
