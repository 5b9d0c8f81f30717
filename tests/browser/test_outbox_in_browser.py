"""The outbox pages in a real browser: filter the list, open a message, follow its link to the action page."""

from __future__ import annotations

from typing import Any

import pytest

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from tests.browser.axe_check import assert_accessible

pytestmark = pytest.mark.browser


def test_the_outbox_leads_from_the_list_to_a_message_and_its_action_page(
        ctx: EngineContext, started: tuple[str, m.RegisterItem], web: str, page: Any) -> None:
    """The list filtered by recipient links to the ask, whose personal link opens the evidence lead's page."""
    _, item = started
    page.goto(f"{web}/outbox")
    assert_accessible(page, "the outbox list")

    address = ctx.config.partnership.person(item.evidence_lead).email
    page.get_by_label("Show only messages to").fill(address)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="Show all messages").wait_for()
    assert_accessible(page, "the filtered outbox list")
    page.get_by_role("row").filter(has_text=f"{item.ref} ").get_by_role("link").first.click()

    page.get_by_role("heading", name="Plain text version").wait_for()
    assert address in page.locator("table").first.inner_text()
    assert_accessible(page, "an outbox message")
    page.locator("pre").get_by_role("link").filter(has_text="/a/").first.click()

    page.get_by_role("heading", level=1, name=f"{item.ref} {item.title}").wait_for()
    assert page.get_by_role("button", name="Submit evidence").is_visible()
    assert_accessible(page, "the action page reached from the outbox")
