"""Browser fixtures: the real web app served by uvicorn on loopback, Debian's Chromium driven by Playwright, axe-core.

Run with `SEND_INSPECTION_BROWSER_TESTS=1 .venv/bin/pytest tests/browser` after `bash scripts/install-browser.sh`.
Without /usr/bin/chromium the tests are skipped, unless SEND_INSPECTION_BROWSER_TESTS=1 asks for them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from send_inspection.engine.context import EngineContext
from send_inspection.web.app import create_app
from tests.helpers import free_port, wait_until_answering

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("SEND_INSPECTION_BROWSER_TESTS") == "1"
# The flags this machine needs (see the machine notes): no sandbox as root, and no background
# networking, which the closed network would refuse many times at every start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the `browser` marker, which every test here carries."""
    config.addinivalue_line("markers", "browser: drives the web pages in headless Chromium (tests/browser)")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Launch Debian's Chromium headless for the browser tests, or skip when it is absent and not required.

    Package scope: the browser tests run in the same pytest processes as the rest, and Playwright's sync API keeps an
    event loop running while it is open, which makes Prefect's functions behave as if called from async code.
    """
    if not CHROMIUM.exists():
        if REQUIRED:
            pytest.fail(f"SEND_INSPECTION_BROWSER_TESTS=1 but {CHROMIUM} is missing: "
                        "run bash scripts/install-browser.sh")
        pytest.skip(f"{CHROMIUM} is missing (bash scripts/install-browser.sh installs it; "
                    "SEND_INSPECTION_BROWSER_TESTS=1 makes this a failure)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """Return a fresh page in its own browser context (no cookies or history shared between tests)."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def web_port() -> int:
    """Return the loopback port the web app will listen on."""
    return free_port()


@pytest.fixture
def ctx(ctx: EngineContext, web_port: int) -> EngineContext:
    """Return the engine context whose emailed links point at the live web app."""
    ctx.base_url = f"http://127.0.0.1:{web_port}"
    return ctx


@contextmanager
def serving(app: Any, port: int) -> Iterator[str]:
    """Serve `app` with uvicorn on a loopback port in a background thread; yield its URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(f"{url}/healthz", seconds=10, alive=thread.is_alive, what="the web app")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def web(ctx: EngineContext, web_port: int) -> Iterator[str]:
    """Serve the real web app (with the outbox pages) with uvicorn in a background thread; return its URL."""
    with serving(create_app(ctx, outbox_dir=ctx.transport.folder), web_port) as url:
        yield url
