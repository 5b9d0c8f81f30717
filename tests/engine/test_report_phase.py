"""After fieldwork: feedback, the restricted draft, merged comments, sign-off, the response, the final report."""

from __future__ import annotations

import email
import email.policy
import io
import re
from datetime import datetime

import pytest
from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.calendar import LONDON
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import milestones, open_inspection
from send_inspection.engine.phase_rows import ensure_phase, get_phase
from send_inspection.engine.report_phase import add_months, reconcile_report
from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.report.feedback import FeedbackRefused, PriorityAction, parse_priority_action, record_feedback
from send_inspection.report.outcomes import FULL_OUTCOMES
from send_inspection.tokens import mint_token
from send_inspection.web.app import create_app
from tests.conftest import NOTIFIED

TOKEN = re.compile(r"/a/([A-Za-z0-9_-]+)")
REVIEWERS = ("dir-inclusion", "hos-send", "icb-send-lead", "icb-commissioning")
SAME = {"paragraph_1": "12", "comment_1": "The share of EHC plans issued within 20 weeks was 61%, not 51%.",
        "evidence_1": "SEN2 return 2023, table 3"}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Return a London wall time in 2023."""
    return datetime(2023, month, day, hour, minute, tzinfo=LONDON)


def link(ctx: EngineContext, iid: str, ref: str, step: str) -> str:
    """Return the personal link in the ask for `ref`'s `step`."""
    message = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:report:{ref}:{step}:r1:ask"))
    return "/a/" + TOKEN.search(message.text or "").group(1)


def answer(client: TestClient, url: str, ref: str, step: str, outcome: str, *,
           files: dict[str, tuple[str, bytes]] | None = None, **fields: str) -> int:
    """Post an answer to a step and return the status code."""
    data = {"item_ref": ref, "step": step, "round": "1", "outcome": outcome, **fields}
    return client.post(url, data=data, files=files).status_code


def items(ctx: EngineContext, iid: str) -> dict[str, m.RegisterItem]:
    """Return the report phase's items by reference."""
    with ctx.session() as session:
        return {i.ref: i for i in session.scalars(select(m.RegisterItem).where(
            m.RegisterItem.inspection_id == iid, m.RegisterItem.phase == "report").order_by(m.RegisterItem.id))}


def accesses(ctx: EngineContext) -> list[tuple[str | None, str, bool, str]]:
    """Return every recorded attempt to open a restricted document: (person, kind, granted, reason)."""
    with ctx.session() as session:
        return [(a.person_key, a.kind, a.granted, a.reason)
                for a in session.scalars(select(m.DocumentAccess).order_by(m.DocumentAccess.id))]


@pytest.fixture
def inspection(ctx: EngineContext) -> str:
    """Open the demo inspection and record outcome 2 at the feedback meeting (Friday 14 July 2023)."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ctx.clock.set(at(7, 14, 16))  # type: ignore[attr-defined]
    record_feedback(ctx, iid, 2, effective="Leaders know the area well.", improve="Timeliness of EHC plans.",
                    priority_actions=[PriorityAction(area="EHC plan timeliness", partners=("council", "icb"))],
                    recorded_by="inspection-coordinator")
    reconcile_report(ctx, iid)  # the report phase's first pass emails the feedback
    return iid


def test_the_feedback_goes_to_the_leadership_group_only_with_the_outcome_in_its_exact_words(
        ctx: EngineContext, inspection: str) -> None:
    """The embargoed email names outcome 2 in the inspectorate's words and goes to the named group only."""
    message = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{inspection}:report:feedback"))
    group = {ctx.config.partnership.person(k).email for k in ctx.config.partnership.leadership_group}
    assert set(message.to) == group
    assert message.subject.startswith("EMBARGOED")
    assert FULL_OUTCOMES[2] in " ".join((message.text or "").split())
    assert "EHC plan timeliness (Demo County Council, Demo Integrated Care Board)" in (message.text or "")
    assert get_phase(ctx, inspection, "report") is not None


def test_bad_feedback_is_refused_naming_the_field(ctx: EngineContext, inspection: str) -> None:
    """An unknown partner in a priority action, a fourth outcome and a second recording are refused."""
    with pytest.raises(FeedbackRefused, match="'nhs-trust' is not a partner id|nhs-trust is not a partner id"):
        parse_priority_action("Waiting times: council, nhs-trust", partner_ids={"council", "icb"})
    with pytest.raises(FeedbackRefused, match="outcome: outcome must be 1, 2 or 3"):
        record_feedback(ctx, inspection, 4, effective="x", improve="y", priority_actions=[], recorded_by="x")
    with pytest.raises(FeedbackRefused, match="already recorded"):
        record_feedback(ctx, inspection, 1, effective="x", improve="y", priority_actions=[], recorded_by="x")


def test_add_months_keeps_the_wall_time_and_clamps_the_day() -> None:
    """Eighteen months after 31 August 2023 10:00 is 28 February 2025 10:00 London (no 31st in February)."""
    assert add_months(at(8, 31, 10), 18) == datetime(2025, 2, 28, 10, 0, tzinfo=LONDON)
    assert add_months(at(1, 15, 9), 18) == datetime(2024, 7, 15, 9, 0, tzinfo=LONDON)


def test_from_the_draft_to_publication_with_a_bank_holiday_in_the_ten_days(ctx: EngineContext, inspection: str,
                                                                           tmp_path) -> None:  # noqa: ANN001
    """The draft is kept restricted, comments merge once, sign-off, the response is due on day 10, publication."""
    client = TestClient(create_app(ctx))
    ctx.clock.set(at(7, 17, 9))  # type: ignore[attr-defined]
    reconcile_report(ctx, inspection)
    assert list(items(ctx, inspection)) == ["draft-report"]
    lano_link = link(ctx, inspection, "draft-report", "receive")
    ctx.clock.set(at(8, 15, 10))  # type: ignore[attr-defined]  # Tuesday 15 August 2023
    assert answer(client, lano_link, "draft-report", "receive", "received") == 422  # no file: refused
    assert answer(client, lano_link, "draft-report", "receive", "received",
                  files={"file": ("Draft report.pdf", b"%PDF-1.4 draft")}) == 200
    reconcile_report(ctx, inspection)
    with ctx.session() as session:
        due = milestones(session, inspection)
    # 10 working days from Tuesday 15 August skip the August bank holiday (Monday 28th): Wednesday 30th, not 29th.
    assert due["draft_response_due"] == at(8, 30, 17)
    assert (due["report_comments_due"], due["report_signoff_due"]) == (at(8, 22, 17), at(8, 25, 17))
    refs = [f"comments-{p}-{r}" for p, r in (("council", "dir-inclusion"), ("council", "hos-send"),
                                              ("icb", "icb-send-lead"), ("icb", "icb-commissioning"))]
    assert [r for r in items(ctx, inspection) if r.startswith("comments-")] == refs

    # Each reviewer opens the draft through their own link; a link in anyone else's hands is refused; all recorded.
    links = {ref: link(ctx, inspection, ref, "comment") for ref in refs}
    page = client.get(links[refs[3]]).text
    assert "For Demo Integrated Care Board, please check these sections: Summary; Health services; " \
           "Joint commissioning." in " ".join(page.split())
    opened = client.get(links[refs[0]] + "/report/draft")
    assert opened.status_code == 200 and opened.content == b"%PDF-1.4 draft"
    with ctx.session() as session:
        stranger = mint_token(session, inspection, "hos-education", item_id=items(ctx, inspection)[refs[0]].id,
                              step="comment", round_no=1, now=at(8, 15, 11), expires_at=at(9, 1, 0))
        session.commit()
    assert client.get(f"/a/{stranger}/report/draft").status_code == 403
    assert client.get("/a/not-a-real-link/report/draft").status_code == 403
    assert accesses(ctx) == [("dir-inclusion", "draft", True, "named reader"),
                             ("hos-education", "draft", False, "not named to read it"),
                             (None, "draft", False, "link not recognised")]

    # A bad row is refused naming its row and field, with what was typed kept.
    refused = client.post(links[refs[0]], data={"item_ref": refs[0], "step": "comment", "round": "1",
                                                "outcome": "commented", "comment_2": "No paragraph given"})
    assert refused.status_code == 422 and "row 2: paragraph is missing" in refused.text
    assert "No paragraph given" in refused.text
    ctx.clock.set(at(8, 17, 12))  # type: ignore[attr-defined]
    for ref in refs[:3]:
        assert answer(client, links[ref], ref, "comment", "commented", **SAME,
                      paragraph_2="3", comment_2=f"Wrong service name ({ref})", evidence_2="") == 200
    assert answer(client, links[refs[3]], refs[3], "comment", "no-comments") == 200
    reconcile_report(ctx, inspection)
    assert {"signoff-council", "signoff-icb"} <= set(items(ctx, inspection))

    # The accountable officers read the merged response: paragraph 12 once, raised by both partners.
    signoff = {p: link(ctx, inspection, f"signoff-{p}", "approve") for p in ("council", "icb")}
    word = client.get(signoff["council"] + "/report/response-docx")
    assert word.status_code == 200
    table = Document(io.BytesIO(word.content)).tables[0]
    rows = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    assert [r[1] for r in rows] == ["3", "3", "3", "12"]
    assert rows[3][2] == SAME["comment_1"] and "Demo County Council" in rows[3][4] \
        and "Demo Integrated Care Board" in rows[3][4]
    assert client.get(signoff["icb"] + "/report/response-xlsx").status_code == 200
    for partner in ("council", "icb"):
        assert answer(client, signoff[partner], f"signoff-{partner}", "approve", "approved") == 200
    reconcile_report(ctx, inspection)
    response = items(ctx, inspection)["response"]
    assert (response.step, response.deadlines) == ("upload", {"upload": "draft_response_due"})
    ctx.clock.set(at(8, 29, 15))  # type: ignore[attr-defined]
    assert answer(client, link(ctx, inspection, "response", "upload"), "response", "upload", "confirmed") == 200

    # The final report: recorded by the LANO, sent to the forum, published by each partner with its link.
    reconcile_report(ctx, inspection)
    ctx.clock.set(at(9, 12, 10))  # type: ignore[attr-defined]
    assert answer(client, link(ctx, inspection, "final-report", "receive"), "final-report", "receive", "received",
                  files={"file": ("Final report.pdf", b"%PDF-1.4 final")}) == 200
    reconcile_report(ctx, inspection)
    forum = read_outbox_message(ctx.transport.folder, outbox_id_for(f"{inspection}:report:final:forum"))
    assert forum.to == ["parent-carer-forum@demo-county.example"]
    raw = email.message_from_bytes((ctx.transport.folder / f"{outbox_id_for(f'{inspection}:report:final:forum')}.eml")
                                   .read_bytes(), policy=email.policy.default)
    assert [part.get_filename() for part in raw.iter_attachments()] == ["Final report.pdf"]
    with ctx.session() as session:
        assert milestones(session, inspection)["report_published_due"] == at(9, 19, 17)
    publish = {p: link(ctx, inspection, f"publish-{p}", "publish") for p in ("council", "icb")}
    assert answer(client, publish["council"], "publish-council", "publish", "published",
                  website_url="www.demo-county.example/report") == 422
    for partner in ("council", "icb"):
        assert answer(client, publish[partner], f"publish-{partner}", "publish", "published",
                      website_url=f"https://www.demo-{partner}.example/send-report") == 200
    # Every outcome: the strategic plan is asked for; outcome 2 records the next full inspection in 36 months.
    waiting = reconcile_report(ctx, inspection)
    assert not waiting.done and items(ctx, inspection)["strategic-plan"].step == "publish"
    with ctx.session() as session:
        due = milestones(session, inspection)
    assert due["strategic_plan_due"] == at(12, 5, 17)  # 60 working days after 12 September 2023
    assert due["next_full_inspection_expected"] == at(9, 12, 10).replace(year=2026)
    assert "monitoring_inspection_expected" not in due and get_phase(ctx, inspection, "action-plan") is None
    assert answer(client, link(ctx, inspection, "strategic-plan", "publish"), "strategic-plan", "publish",
                  "published", website_url="https://www.demo-county.example/send-strategy") == 200
    done = reconcile_report(ctx, inspection)
    assert done.done and done.next_wake_at is None


def test_feedback_recorded_in_the_evening_wakes_a_waiting_report_phase_and_is_emailed_on_monday(
        ctx: EngineContext) -> None:
    """Recorded at 19:30 on a Friday, the feedback wakes the waiting report phase, whose email waits for Monday."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "report")  # fieldwork ended first: the report phase is already there
    ctx.clock.set(at(7, 14, 19, 30))  # type: ignore[attr-defined]
    record_feedback(ctx, iid, 1, effective="Strong leadership.", improve="Nothing urgent.", priority_actions=[],
                    recorded_by="inspection-coordinator")
    run = get_phase(ctx, iid, "report")
    assert run is not None and run.changes > run.seen_changes
    held = reconcile_report(ctx, iid)
    assert held.next_wake_at == at(7, 17, 7, 30)
    with pytest.raises(KeyError):
        read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:report:feedback"))
    ctx.clock.set(at(7, 17, 7, 30))  # type: ignore[attr-defined]
    reconcile_report(ctx, iid)
    assert read_outbox_message(ctx.transport.folder, outbox_id_for(f"{iid}:report:feedback")).subject.startswith(
        "EMBARGOED")
