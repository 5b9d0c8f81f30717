"""Tests for the sign-off pages: links show, only a button's POST decides, bad tokens change nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.mail.outbox import list_outbox, read_outbox_message
from send_inspection.web import app as app_module
from send_inspection.web.app import create_app
from tests.helpers import ALL_TICKED

TOKEN = re.compile(r"/a/([A-Za-z0-9_-]+)")


class RecordingWaker:
    """Remember every wake-up the app asks for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def wake(self, inspection_id: str, phase: str, *, reason: str) -> None:
        """Record the wake-up."""
        self.calls.append((inspection_id, phase))


def link_for(ctx: EngineContext, person_key: str, ref: str) -> str:
    """Return the token in the newest email to `person_key` about item `ref`."""
    email = ctx.config.partnership.person(person_key).email
    outbox = ctx.transport.folder
    for entry in list_outbox(outbox, recipient=email):
        if f":{ref}:" in entry.key:
            return TOKEN.search(read_outbox_message(outbox, entry.id).text).group(1)
    raise AssertionError(f"no email to {person_key} about {ref}")


def item_state(ctx: EngineContext, item_id: int) -> tuple[str, int, str | None]:
    """Return the item's step, round and outcome."""
    with ctx.session() as session:
        item = session.get(m.RegisterItem, item_id)
        return item.step, item.round, item.outcome


def count(ctx: EngineContext, model: type) -> int:
    """Count rows of a table."""
    with ctx.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def submit_form(item: m.RegisterItem, **extra: object) -> dict[str, object]:
    """Return the hidden fields of the item's submit form, the checklist all ticked, plus `extra`."""
    return {"item_ref": item.ref, "step": "submit", "round": "1", "check": ALL_TICKED, **extra}


def test_get_and_head_never_decide(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """Opening a link (as a mail scanner would, many times, GET and HEAD) changes nothing."""
    _, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    for _ in range(3):
        page = client.get(f"/a/{token}")
        assert page.status_code == 200
        assert client.head(f"/a/{token}").status_code == 200
    assert item.ref in page.text and "Submit evidence" in page.text
    assert "<script" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert item_state(ctx, item.id) == ("submit", 1, None)
    assert count(ctx, m.Decision) == 0


def test_post_records_decision_and_wakes_phase(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """The button's POST records who, when, from where and with which token, advances the item and wakes."""
    iid, item = started
    waker = RecordingWaker()
    client = TestClient(create_app(ctx, waker=waker))
    token = link_for(ctx, item.evidence_lead, item.ref)
    response = client.post(f"/a/{token}", data=submit_form(
        item, outcome="submitted", link_url="https://evidence.demo-county.example/doc",
        check=[c for c in ALL_TICKED if c != "signed"], **{"note-signed": "Not an agreement: nothing to sign"}),
        headers={"user-agent": "pytest-browser"})
    assert response.status_code == 200, response.text
    assert "answer is recorded" in response.text
    assert item_state(ctx, item.id) == ("approve", 1, None)
    with ctx.session() as session:
        decision = session.scalars(select(m.Decision)).one()
        submission = session.scalars(select(m.Submission)).one()
        run = session.scalars(select(m.PhaseRun).where(m.PhaseRun.phase == "day2")).one()
    assert (decision.decided_by, decision.outcome, decision.user_agent) == (item.evidence_lead, "submitted",
                                                                           "pytest-browser")
    assert decision.remote_addr == "testclient" and decision.token_id is not None
    assert decision.decided_at == ctx.clock.now()
    assert submission.kind == "link" and submission.checklist["dated"] and not submission.checklist["signed"]
    assert submission.checklist_notes == {"signed": "Not an agreement: nothing to sign"}
    assert run.changes == 1
    assert waker.calls == [(iid, "day2")]


def test_the_next_ask_goes_before_the_phase_wakes(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """When the POST has answered, the approver's ask is in the outbox with their link, and the phase is woken."""
    iid, item = started
    waker = RecordingWaker()
    client = TestClient(create_app(ctx, waker=waker))
    response = client.post(f"/a/{link_for(ctx, item.evidence_lead, item.ref)}", data=submit_form(
        item, outcome="submitted", link_url="https://evidence.demo-county.example/doc"))
    assert response.status_code == 200, response.text
    asks = [e.key for e in list_outbox(ctx.transport.folder) if e.key.endswith(f":day2:{item.ref}:approve:r1:ask")]
    assert len(asks) == 1
    page = client.get(f"/a/{link_for(ctx, item.accountable_lead, item.ref)}")
    assert page.status_code == 200 and "Approve" in page.text
    assert waker.calls == [(iid, "day2")]
    assert reconcile_annex_a(ctx, iid, "day2").sent == 0


def test_the_next_ask_and_the_wake_go_before_the_submitted_links_are_tried(
    ctx: EngineContext, started: tuple[str, m.RegisterItem], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trying a submission's links may take seconds: the next person's ask and the phase's wake go first."""
    iid, item = started
    order: list[str] = []
    waker = RecordingWaker()
    monkeypatch.setattr(waker, "wake", lambda *args, **kwargs: order.append("wake"))
    monkeypatch.setattr(app_module, "send_next_ask", lambda *args: order.append("ask"))
    monkeypatch.setattr(app_module, "check_submission_links", lambda *args: order.append("links"))
    monkeypatch.setattr(ctx, "check_links", True)
    client = TestClient(create_app(ctx, waker=waker))
    token = link_for(ctx, item.evidence_lead, item.ref)
    response = client.post(f"/a/{token}", data=submit_form(
        item, outcome="submitted", link_url="https://evidence.demo-county.example/doc"))
    assert response.status_code == 200, response.text
    assert order == ["ask", "wake", "links"]


def test_the_reviewer_sees_who_submitted_by_name_and_role(ctx: EngineContext,
                                                          started: tuple[str, m.RegisterItem]) -> None:
    """The accountable lead's page says "Submitted by: Owen Garside (Service Manager, ...)", not the role id."""
    iid, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    assert client.post(f"/a/{token}", data=submit_form(
        item, outcome="submitted", link_url="https://evidence.demo-county.example/doc", check=ALL_TICKED)
    ).status_code == 200
    reconcile_annex_a(ctx, iid, "day2")
    with ctx.session() as session:
        reviewer = session.get(m.RegisterItem, item.id).accountable_lead
    page = client.get(f"/a/{link_for(ctx, reviewer, item.ref)}")
    lead = ctx.config.partnership.person(item.evidence_lead)
    assert f"<dt>Submitted by</dt><dd>{lead.name} ({lead.role})</dd>" in page.text
    assert f"<h1>{item.ref} {item.title}</h1>" in page.text and item.evidence_lead not in page.text


def test_forged_token_refused(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """A made-up token gets a clear page on GET and POST and records nothing."""
    _, item = started
    client = TestClient(create_app(ctx))
    assert client.get("/a/not-a-real-token").status_code == 404
    response = client.post("/a/not-a-real-token", data=submit_form(item, outcome="submitted"))
    assert response.status_code == 404 and "not recognised" in response.text
    assert count(ctx, m.Decision) == 0


def test_expired_token_refused(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """A link past its expiry gets a clear page and records nothing."""
    _, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    ctx.clock.advance(timedelta(days=30))
    response = client.post(f"/a/{token}", data=submit_form(item, outcome="submitted",
                                                            link_url="https://x.demo-county.example/"))
    assert response.status_code == 410 and "expired" in response.text
    assert item_state(ctx, item.id) == ("submit", 1, None)


def test_reused_token_refused(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """A link already used cannot decide again."""
    _, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    form = submit_form(item, outcome="submitted", link_url="https://evidence.demo-county.example/a")
    assert client.post(f"/a/{token}", data=form).status_code == 200
    again = client.post(f"/a/{token}", data=form)
    assert again.status_code == 409 and "already been used" in again.text
    assert count(ctx, m.Decision) == 1


def test_token_for_another_request_refused(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """One person's token cannot answer a different item or step by changing the form."""
    _, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    forged = {"item_ref": "1.3" if item.ref != "1.3" else "1.4", "step": "submit", "round": "1",
              "outcome": "submitted", "link_url": "https://evidence.demo-county.example/a", "check": ALL_TICKED}
    response = client.post(f"/a/{token}", data=forged)
    assert response.status_code == 403 and "different request" in response.text
    escalate = client.post(f"/a/{token}", data={**submit_form(item), "step": "approve", "outcome": "approved"})
    assert escalate.status_code == 403
    assert count(ctx, m.Decision) == 0


def test_return_needs_comment(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """Returning without a comment is refused with the reason and records nothing."""
    _, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    client.post(f"/a/{token}", data=submit_form(item, outcome="submitted",
                                                link_url="https://evidence.demo-county.example/a"))
    reconcile_annex_a(ctx, item.inspection_id, "day2")
    approver = link_for(ctx, item.accountable_lead, item.ref)
    form = {"item_ref": item.ref, "step": "approve", "round": "1", "outcome": "returned", "comment": " "}
    response = client.post(f"/a/{approver}", data=form)
    assert response.status_code == 422 and "say why" in response.text
    assert item_state(ctx, item.id) == ("approve", 1, None)
    form["comment"] = "Needs the 2023 version"
    assert client.post(f"/a/{approver}", data=form).status_code == 200
    assert item_state(ctx, item.id) == ("submit", 2, None)


def test_upload_refused_for_bad_type(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """An executable upload is refused with the reason, nothing stored, the link still usable."""
    _, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    response = client.post(f"/a/{token}", data=submit_form(item, outcome="submitted"),
                           files={"file": ("../../evil.exe", b"MZ...", "application/octet-stream")})
    assert response.status_code == 422 and "not a type we accept" in response.text
    assert count(ctx, m.Submission) == 0
    ok = client.post(f"/a/{token}", data=submit_form(item, outcome="submitted"),
                     files={"file": ("Self evaluation 2023.pdf", b"%PDF-1.7 demo", "application/pdf")})
    assert ok.status_code == 200
    with ctx.session() as session:
        stored = session.scalars(select(m.Submission)).one()
    assert stored.filename == "Self evaluation 2023.pdf" and stored.size_bytes == 13
