"""Every refusal of the console changes nothing: no session, the wrong role, a missing or wrong CSRF token, an
expired session, a used, expired or forged sign-in link, a form from another site, a signed-out cookie."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from send_inspection.clock import VirtualClock
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.mail.outbox import list_outbox
from tests.console.conftest import COORDINATOR, NOBODY, VIEWER, newest_link
from tests.coordinator.fake_runner import RecordingRunner

START = {"notified_at": "2023-06-26T09:00", "kind": "full"}
TABLES = (m.Inspection, m.AuditEntry, m.ConsoleSession, m.Absence, m.EvidenceRequest, m.PhaseRun, m.SignInLink)


def snapshot(ctx: EngineContext) -> dict[str, int]:
    """Count the rows of every table a console action or sign-in could change, and the ended sessions."""
    with ctx.session() as session:
        counts = {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}
        counts["ended sessions"] = session.scalar(select(func.count()).select_from(m.ConsoleSession)
                                                  .where(m.ConsoleSession.ended_at.is_not(None)))
        counts["used links"] = session.scalar(select(func.count()).select_from(m.SignInLink)
                                              .where(m.SignInLink.used_at.is_not(None)))
    return counts


def test_without_a_session_pages_send_to_sign_in_and_forms_change_nothing(ctx: EngineContext, app_client: TestClient,
                                                                          runner: RecordingRunner) -> None:
    """The home page, the list and a dashboard redirect to sign-in; a start POST is refused 401 and nothing changes."""
    assert app_client.get("/").headers["location"] == "/console/"
    for path in ("/console/", "/console/i/demo-county-2023-06-26", "/console/audit"):
        response = app_client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/sign-in?next=")
    before = snapshot(ctx)
    response = app_client.post("/console/start", data=START | {"csrf": "anything"})
    assert response.status_code == 401 and "Nothing was recorded" in response.text
    assert snapshot(ctx) == before and runner.calls == []


def test_a_viewer_may_look_but_not_act(ctx: EngineContext, app_client: TestClient, runner: RecordingRunner,
                                       sign_in: Callable[[str], str]) -> None:
    """A viewer sees the pages without their forms; a viewer's POST, CSRF token and all, is refused 403."""
    csrf = sign_in(VIEWER)
    page = app_client.get("/console/start")
    assert page.status_code == 200 and "You are a viewer of the console" in page.text and 'action="/console/start"' \
        not in page.text
    before = snapshot(ctx)
    response = app_client.post("/console/start", data=START | {"csrf": csrf})
    assert response.status_code == 403 and "Your role lets you look, not change" in response.text
    assert snapshot(ctx) == before and runner.calls == []


def test_someone_the_console_does_not_name_gets_no_link(ctx: EngineContext, app_client: TestClient) -> None:
    """Asking for a link for staff outside the console (or an unknown address) says the same and sends nothing."""
    for address in (NOBODY, "someone@elsewhere.example"):
        response = app_client.post("/console/sign-in/email", data={"email": address})
        assert response.status_code == 200 and "If that address belongs to someone" in response.text
        assert list(list_outbox(ctx.transport.folder, recipient=address)) == []
    assert snapshot(ctx)["sign_in_links"] == 0


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"])
def test_a_form_without_its_session_token_changes_nothing(ctx: EngineContext, app_client: TestClient,
                                                          runner: RecordingRunner, sign_in: Callable[[str], str],
                                                          csrf: str | None) -> None:
    """A coordinator's POST with no CSRF token, an empty one or another's is refused 403 and changes nothing."""
    sign_in(COORDINATOR)
    before = snapshot(ctx)
    data = START if csrf is None else START | {"csrf": csrf}
    response = app_client.post("/console/start", data=data)
    assert response.status_code == 403 and "security token" in response.text
    assert snapshot(ctx) == before and runner.calls == []


def test_a_form_from_another_site_changes_nothing(ctx: EngineContext, app_client: TestClient,
                                                 sign_in: Callable[[str], str]) -> None:
    """Another origin, or a cross-site fetch, is refused even with the right token."""
    csrf = sign_in(COORDINATOR)
    before = snapshot(ctx)
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = app_client.post("/console/start", data=START | {"csrf": csrf}, headers=headers)
        assert response.status_code == 403
    assert snapshot(ctx) == before


def test_an_idle_session_ends_and_its_forms_change_nothing(ctx: EngineContext, clock: VirtualClock,
                                                          app_client: TestClient, runner: RecordingRunner,
                                                          sign_in: Callable[[str], str]) -> None:
    """After 30 minutes unused the session is over: pages send to sign-in saying why; a POST is refused 401."""
    csrf = sign_in(COORDINATOR)
    clock.set(clock.now() + timedelta(minutes=29))
    assert app_client.get("/console/").status_code == 200  # used: the idle clock starts again
    clock.set(clock.now() + timedelta(minutes=30))
    before = snapshot(ctx)
    response = app_client.post("/console/start", data=START | {"csrf": csrf})
    assert response.status_code == 401 and "not used for a while" in response.text
    after = snapshot(ctx)
    assert after.pop("ended sessions") == before.pop("ended sessions") + 1  # the row is marked ended, nothing else
    assert after == before and runner.calls == []
    redirect = app_client.get("/console/")
    assert redirect.headers["location"] == "/console/sign-in?next=/console/&ended=idle"
    assert "not used for a while" in app_client.get(redirect.headers["location"]).text


def test_a_signed_out_cookie_opens_nothing_afterwards(ctx: EngineContext, app_client: TestClient,
                                                     sign_in: Callable[[str], str]) -> None:
    """A copy of the cookie taken before signing out is refused after it: the session is over in the database."""
    csrf = sign_in(COORDINATOR)
    copy = dict(app_client.cookies)
    response = app_client.post("/console/sign-out", data={"csrf": csrf})
    assert response.status_code == 303
    app_client.cookies.update(copy)
    before = snapshot(ctx)
    assert app_client.get("/console/").status_code == 303
    assert app_client.post("/console/start", data=START | {"csrf": csrf}).status_code == 401
    assert snapshot(ctx) == before


def test_a_forged_or_tampered_cookie_is_no_session(ctx: EngineContext, app_client: TestClient,
                                                  sign_in: Callable[[str], str]) -> None:
    """A cookie whose signature does not match, or a made-up one, opens nothing."""
    sign_in(COORDINATOR)
    value = app_client.cookies["si_console"]
    for forged in (value[:-2] + "xx", "made-up.value"):
        app_client.cookies.set("si_console", forged)
        assert app_client.get("/console/").status_code == 303


def test_a_sign_in_link_works_once_and_not_after_it_expires_or_when_forged(ctx: EngineContext, clock: VirtualClock,
                                                                          app_client: TestClient) -> None:
    """Opening a link changes nothing; its first POST signs in; a second, an expired or a forged one do not."""
    app_client.post("/console/sign-in/email", data={"email": COORDINATOR})
    link = newest_link(ctx, COORDINATOR)
    before = snapshot(ctx)
    assert app_client.get(link).status_code == 200 and snapshot(ctx) == before  # a mail scanner opening it
    assert app_client.post(link).status_code == 303
    app_client.cookies.clear()
    before = snapshot(ctx)
    used = app_client.post(link)
    assert used.status_code == 409 and "already been used" in used.text
    forged = app_client.post(link[:-3] + "abc")
    assert forged.status_code == 404
    clock.set(clock.now() + timedelta(minutes=2))
    app_client.post("/console/sign-in/email", data={"email": COORDINATOR})
    late = newest_link(ctx, COORDINATOR)
    clock.set(clock.now() + timedelta(minutes=16))
    assert app_client.post(late).status_code == 410
    after = snapshot(ctx)
    assert after.pop("sign_in_links") == before.pop("sign_in_links") + 1  # the second link asked for
    assert after == before and "si_console" not in app_client.cookies


def test_a_person_no_longer_named_for_the_console_is_signed_out(ctx: EngineContext, app_client: TestClient,
                                                               sign_in: Callable[[str], str]) -> None:
    """When partnership.yaml stops naming someone, their session ends at its next use."""
    sign_in(COORDINATOR)
    partnership = ctx.config.partnership
    console = partnership.console.model_copy(update={"coordinators": ["head-improvement"]})
    ctx.config = ctx.config.model_copy(update={"partnership": partnership.model_copy(update={"console": console})})
    assert app_client.get("/console/").headers["location"].endswith("ended=no%20longer%20allowed")
