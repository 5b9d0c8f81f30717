"""Sign-off in a real browser: the approve link from the email, a decision picked and submitted, axe on every page."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.mail.outbox import list_outbox, outbox_id_for, read_outbox_message
from tests.browser.axe_check import assert_accessible
from tests.helpers import ALL_TICKED

pytestmark = pytest.mark.browser

LINK = re.compile(r"https?://[^\s]+/a/[A-Za-z0-9_-]+")


def emailed_link(ctx: EngineContext, person_key: str, ref: str) -> str:
    """Return the full personal link in the newest email to `person_key` about item `ref`."""
    email = ctx.config.partnership.person(person_key).email
    for entry in list_outbox(ctx.transport.folder, recipient=email):
        if f":{ref}:" in entry.key:
            return LINK.search(read_outbox_message(ctx.transport.folder, entry.id).text or "").group(0)
    raise AssertionError(f"no email to {person_key} about {ref}")


def sent_ask(ctx: EngineContext, key: str) -> Any:  # noqa: ANN401 - the outbox's view of one message
    """Return the ask with ledger key `key` once the web app has sent it (it does, just after answering the POST)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return read_outbox_message(ctx.transport.folder, outbox_id_for(key))
        except KeyError:
            if time.monotonic() > deadline:
                raise AssertionError(f"no email {key}") from None
            time.sleep(0.1)


def item_state(ctx: EngineContext, item_id: int) -> tuple[str, int, str | None]:
    """Return the item's step, round and outcome."""
    with ctx.session() as session:
        item = session.get(m.RegisterItem, item_id)
        return item.step, item.round, item.outcome


def test_the_accountable_lead_approves_from_the_emailed_link(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                                             web: str, page: Any) -> None:
    """The approve link opens the page, Approve records the decision, the link is spent, the director is asked next."""
    iid, item = started
    submit = emailed_link(ctx, item.evidence_lead, item.ref)
    response = httpx.post(submit, data={"item_ref": item.ref, "step": "submit", "round": "1", "outcome": "submitted",
                                        "link_url": "https://evidence.demo-county.example/sef", "check": ALL_TICKED})
    assert response.status_code == 200, response.text
    sent_ask(ctx, f"{iid}:day2:{item.ref}:approve:r1:ask")  # the web app asks the accountable lead (ADR 0009)
    approve = emailed_link(ctx, item.accountable_lead, item.ref)

    page.goto(approve)
    assert page.get_by_role("heading", level=1).inner_text() == f"{item.ref} {item.title}"
    assert_accessible(page, "the approve page")
    page.get_by_label("Comment (needed to return it)").fill("Checked against the 2023 self-evaluation")
    page.get_by_role("button", name="Approve").click()
    page.get_by_role("heading", name="Thank you: your answer is recorded").wait_for()
    assert "approved" in page.locator("main").inner_text()
    assert_accessible(page, "the confirmation page")
    page.goto(approve)  # the spent link now says so, and records nothing
    page.get_by_role("heading", name="This link has already been used").wait_for()
    assert_accessible(page, "the spent link's page")

    assert item_state(ctx, item.id) == ("check", 1, None)
    with ctx.session() as session:
        decision = session.scalars(select(m.Decision).where(m.Decision.outcome == "approved")).one()
    assert decision.decided_by == item.accountable_lead and "Chrome" in (decision.user_agent or "")
    ask = sent_ask(ctx, f"{iid}:day2:{item.ref}:check:r1:ask")  # the next step's ask, to the director
    assert reconcile_annex_a(ctx, iid, "day2").sent == 0  # the phase's pass finds it sent
    assert LINK.search(ask.text or "").group(0) != approve
