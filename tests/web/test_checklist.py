"""The Evidence Quality Assurance Checklist enforced: each point ticked or explained; the week-3 concern highlighted."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.checklist import CHECKLIST_IDS, checklist_answers
from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.web.app import create_app
from tests.helpers import ALL_TICKED
from tests.web.test_sign_off import item_state, link_for, submit_form

CONCERN = "The multi-agency panel on Wednesday of week 3 has no health representative confirmed."


def test_a_point_neither_ticked_nor_explained_is_named_beside_it_and_nothing_is_recorded(
        ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """Submitting with two points unticked and only one explained is refused at the other; what was typed stays."""
    _, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    ticked = [c for c in ALL_TICKED if c not in ("signed", "draft-qa")]
    response = client.post(f"/a/{token}", data=submit_form(
        item, outcome="submitted", link_url="https://evidence.demo-county.example/doc", check=ticked,
        **{"note-signed": "Not an agreement"}))
    assert response.status_code == 422
    assert "1 point(s) of the Evidence Quality Assurance Checklist are neither ticked nor explained" in response.text
    assert 'id="note-draft-qa-error"' in response.text and 'id="note-signed-error"' not in response.text
    assert 'value="Not an agreement"' in response.text and 'value="dated" checked' in response.text
    assert item_state(ctx, item.id) == ("submit", 1, None)


def test_an_explanation_needs_no_checklist(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """Explaining why the evidence is not available is recorded with nothing ticked."""
    _, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    response = client.post(f"/a/{token}", data=submit_form(item, outcome="explained", check=[],
                                                           explanation="Not held: the board was formed in May."))
    assert response.status_code == 200


def test_the_week_3_concern_is_highlighted_to_the_accountable_lead(ctx: EngineContext,
                                                                   started: tuple[str, m.RegisterItem]) -> None:
    """The concern written against the week-3 point heads the accountable lead's page; other notes are listed."""
    iid, item = started
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    ticked = [c for c in ALL_TICKED if c != "week3-concerns"]
    assert client.post(f"/a/{token}", data=submit_form(
        item, outcome="submitted", link_url="https://evidence.demo-county.example/doc", check=ticked,
        **{"note-week3-concerns": CONCERN})).status_code == 200
    reconcile_annex_a(ctx, iid, "day2")
    page = client.get(f"/a/{link_for(ctx, item.accountable_lead, item.ref)}").text
    assert "A concern the evidence lead highlights for your sign-off" in page and CONCERN in page
    assert page.index(CONCERN) < page.index("What was submitted")
    with ctx.session() as session:
        assert session.scalars(select(m.Submission.checklist_notes)).one() == {"week3-concerns": CONCERN}


def test_a_note_on_a_ticked_point_is_not_kept() -> None:
    """A ticked point needs no note: only the notes of points left unticked are kept."""
    checklist, notes, missing = checklist_answers(CHECKLIST_IDS, {"dated": "typed by mistake"})
    assert all(checklist.values()) and notes == {} and missing == {}
