"""Every answer of the web app carries the security headers: pages, files and the framework's own errors
(issue 22, item 4)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.web.app import create_app
from tests.web.test_sign_off import link_for, submit_form

PDF = b"%PDF-1.7 Demo County self-evaluation"
EXPECTED = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-robots-tag": "noindex, nofollow",
}


def app_with_faults(ctx: EngineContext, outbox: Path) -> FastAPI:
    """Build the real app, plus two routes that make the framework answer 422 and 500 itself."""
    app = create_app(ctx, outbox_dir=outbox)

    @app.get("/test-only/number/{n}")
    def number(n: int) -> dict[str, int]:
        """Answer only for a whole number (anything else is the framework's 422)."""
        return {"n": n}

    @app.get("/test-only/fault")
    def fault() -> None:
        """Fail as a bug would."""
        raise RuntimeError("a bug")

    return app


def answers(ctx: EngineContext, started: tuple[str, m.RegisterItem], tmp_path: Path) -> dict[str, object]:
    """Return one answer of each kind: pages, a file, problems, and the framework's 404, 405, 422 and 500."""
    iid, item = started
    (tmp_path / "outbox").mkdir(exist_ok=True)
    client = TestClient(app_with_faults(ctx, tmp_path / "outbox"), raise_server_exceptions=False)
    submit = link_for(ctx, item.evidence_lead, item.ref)
    got = {
        "home (the console, not served here)": client.get("/"),
        "healthz": client.get("/healthz"),
        "sign-off page": client.get(f"/a/{submit}"),
        "refused answer (422 page)": client.post(f"/a/{submit}", data=submit_form(item, outcome="submitted")),
        "upload recorded": client.post(f"/a/{submit}", data=submit_form(item, outcome="submitted"),
                                       files={"file": ("Self evaluation.pdf", PDF, "application/pdf")}),
    }
    reconcile_annex_a(ctx, iid, "day2")  # asks the accountable lead, who may download the file
    return got | {
        "file download": client.get(f"/a/{link_for(ctx, item.accountable_lead, item.ref)}/file"),
        "unknown link (404 page)": client.get("/a/not-a-real-token"),
        "outbox": client.get("/outbox"),
        "framework 404": client.get("/no/such/page"),
        "framework 405": client.delete("/healthz"),
        "framework 422": client.get("/test-only/number/seven"),
        "framework 500": client.get("/test-only/fault"),
    }


def test_every_answer_carries_the_security_headers(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                                   tmp_path: Path) -> None:
    """Pages, files, problems and the framework's own errors all forbid framing, caching, sniffing and referrers."""
    got = answers(ctx, started, tmp_path)
    statuses = {name: response.status_code for name, response in got.items()}
    assert statuses == {"home (the console, not served here)": 404, "healthz": 200, "sign-off page": 200,
                        "refused answer (422 page)": 422,
                        "upload recorded": 200, "file download": 200, "unknown link (404 page)": 404, "outbox": 200,
                        "framework 404": 404, "framework 405": 405, "framework 422": 422, "framework 500": 500}
    for name, response in got.items():
        headers = {k: response.headers.get(k) for k in EXPECTED}
        assert headers == EXPECTED, name
        policy = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy and "script-src 'none'" in policy or (
            "default-src 'none'" in policy and "frame-ancestors 'none'" in policy), name
        assert "strict-transport-security" not in response.headers, name  # served over plain http here


@pytest.mark.parametrize("path", ["/healthz", "/no/such/page"])
def test_hsts_is_sent_when_the_base_url_is_https(ctx: EngineContext, path: str) -> None:
    """Served at an https address, every answer tells the browser to use https only, errors included."""
    client = TestClient(create_app(replace(ctx, base_url="https://send-inspection.demo-county.example")))
    response = client.get(path)
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["x-frame-options"] == "DENY"
