"""Console fixtures: the web app with its console on the test database, a recording runner, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from send_inspection.console.guard import Console
from send_inspection.console.settings import ConsoleSettings
from send_inspection.engine.context import EngineContext
from send_inspection.mail.outbox import list_outbox, read_outbox_message
from send_inspection.web.app import create_app
from tests.coordinator.fake_runner import RecordingRunner

SIGN_IN_LINK = re.compile(r"https?://[^\s/]+(/console/sign-in/link/[A-Za-z0-9_-]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
COORDINATOR = "leah.marchetti@demo-county.example"  # inspection-coordinator
VIEWER = "owen.garside@demo-county.example"  # sm-performance
NOBODY = "catherine.lowther@demo-county.example"  # hos-send: staff, but not named for the console


@pytest.fixture
def console_settings() -> ConsoleSettings:
    """Return the console's settings for the test server: email links, a 30-minute idle timeout."""
    return ConsoleSettings(base_url="http://testserver", secret_key="k" * 40, idle_timeout=timedelta(minutes=30),
                           prefect_ui_url="http://127.0.0.1:4200")


@pytest.fixture
def app_client(ctx: EngineContext, runner: RecordingRunner, console_settings: ConsoleSettings) -> TestClient:
    """Return a client of the web app with the console and the outbox pages."""
    console = Console(ctx, console_settings, runner, has_outbox=True)
    return TestClient(create_app(ctx, outbox_dir=ctx.transport.folder, console=console), follow_redirects=False)


def newest_link(ctx: EngineContext, address: str) -> str:
    """Return the path of the newest sign-in link emailed to `address` (read from the outbox)."""
    for entry in list_outbox(ctx.transport.folder, recipient=address):
        found = SIGN_IN_LINK.search(read_outbox_message(ctx.transport.folder, entry.id).text or "")
        if found:
            return found.group(1)
    raise AssertionError(f"no sign-in link emailed to {address}")


@pytest.fixture
def sign_in(ctx: EngineContext, app_client: TestClient) -> Callable[[str], str]:
    """Return a function that signs the client in as the person with an address; it returns their CSRF token."""

    def signed_in(address: str) -> str:
        assert app_client.post("/console/sign-in/email", data={"email": address}).status_code == 200
        path = newest_link(ctx, address)
        response = app_client.post(path)
        assert response.status_code == 303, response.text[:300]
        page = app_client.get("/console/")
        assert page.status_code == 200, page.text[:300]
        return CSRF.search(page.text).group(1)

    return signed_in
