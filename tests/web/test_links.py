"""The link dependency: every route under /a/<token> refuses an unusable link the same way, recording nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.web.app import create_app
from tests.web.test_sign_off import link_for, submit_form

ROUTES = [("GET", ""), ("HEAD", ""), ("GET", "/file"), ("POST", "")]


def _call(client: TestClient, method: str, path: str, data: dict | None = None):  # noqa: ANN202
    return client.request(method, path, data=data if method == "POST" else None)


@pytest.mark.parametrize(("method", "suffix"), ROUTES)
def test_an_unknown_link_is_refused_alike_on_every_route(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                                         method: str, suffix: str) -> None:
    """A token that was never issued gets the same 404 page from showing, downloading and deciding."""
    _, item = started
    response = _call(TestClient(create_app(ctx)), method, f"/a/not-a-real-token{suffix}",
                     submit_form(item, outcome="submitted"))
    assert response.status_code == 404
    if method != "HEAD":
        assert "This link is not recognised" in response.text


@pytest.mark.parametrize(("method", "suffix"), ROUTES)
def test_a_used_link_is_refused_alike_and_nothing_more_is_recorded(ctx: EngineContext,
                                                                   started: tuple[str, m.RegisterItem],
                                                                   method: str, suffix: str) -> None:
    """Once a link has recorded its answer, each route answers 409 and no second decision is recorded."""
    _, item = started
    raw = link_for(ctx, item.evidence_lead, item.ref)
    client = TestClient(create_app(ctx))
    assert client.post(f"/a/{raw}", data=submit_form(item, outcome="explained", explanation="Not held.")
                       ).status_code == 200
    response = _call(client, method, f"/a/{raw}{suffix}", submit_form(item, outcome="explained",
                                                                      explanation="Again."))
    assert response.status_code == 409
    with ctx.session() as session:
        assert session.scalar(select(func.count()).select_from(m.Decision)) == 1
