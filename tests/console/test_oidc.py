"""Signing in through a real OpenID Connect provider on loopback (PKCE, state, nonce; Authlib checks the id_token)."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.config.models import ConsoleAccess
from send_inspection.console.guard import Console
from send_inspection.console.identity import Admitted, Refused, admit_claims
from send_inspection.console.settings import ConsoleSettings, OidcSettings
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.settings import SecretRef
from send_inspection.web.app import create_app
from tests.console.oidc_provider import CLIENT_ID, CLIENT_SECRET, PEOPLE, TENANT, Provider
from tests.coordinator.fake_runner import RecordingRunner

APP_ROLES = {"coordinator": "Inspection.Coordinator", "viewer": "Inspection.Viewer"}


def with_access(ctx: EngineContext, **changes: object) -> None:
    """Give the context's partnership these console settings (tenant, app roles)."""
    partnership = ctx.config.partnership
    access = partnership.console.model_copy(update=changes)
    ctx.config = ctx.config.model_copy(update={"partnership": partnership.model_copy(update={"console": access})})


@pytest.fixture
def client(ctx: EngineContext, runner: RecordingRunner, oidc_provider: Provider) -> TestClient:
    """Return a client of the web app whose console signs in with the provider (tenant and app roles required)."""
    with_access(ctx, tenant_id=TENANT, app_roles=APP_ROLES)
    oidc = OidcSettings(issuer=oidc_provider.issuer, client_id=CLIENT_ID,
                        secret=SecretRef("SEND_INSPECTION_OIDC_CLIENT_SECRET", value=CLIENT_SECRET))
    settings = ConsoleSettings(base_url="http://testserver", secret_key="k" * 40, oidc=oidc)
    return TestClient(create_app(ctx, console=Console(ctx, settings, runner)), follow_redirects=False)


def to_provider_and_back(client: TestClient, sub: str) -> str:
    """Start signing in, choose `sub` on the provider's page as a person would; return the path it sends back to."""
    start = client.get("/console/sign-in/start?next=/console/audit")
    assert start.status_code == 302
    chosen = httpx.post(start.headers["location"], data={"sub": sub}, follow_redirects=False)
    assert chosen.status_code == 302, chosen.text[:300]
    return chosen.headers["location"].removeprefix("http://testserver")


def sessions(ctx: EngineContext) -> list[tuple[str, str, str]]:
    """Return every console session: person, role, how they signed in."""
    with ctx.session() as session:
        return [(s.person_key, s.role, s.via) for s in session.scalars(select(m.ConsoleSession))]


def test_the_coordinator_signs_in_with_the_provider(ctx: EngineContext, client: TestClient) -> None:
    """The provider's answer is verified; Leah is signed in as a coordinator and sent where she was going."""
    response = client.get(to_provider_and_back(client, "leah"))
    assert response.status_code == 303 and response.headers["location"] == "/console/audit"
    assert sessions(ctx) == [("inspection-coordinator", "coordinator", "identity-provider")]
    page = client.get("/console/audit")
    assert "Signed in as Leah Marchetti (coordinator)" in page.text
    assert "signed in as coordinator with the partnership&#39;s identity provider" in page.text


@pytest.mark.parametrize(("sub", "says"), [
    ("catherine", "does not name you"),  # staff, and a role from the provider, but not named in partnership.yaml
    ("nadia", "has not given your account the console"),  # named a coordinator, but without the app role
])
def test_someone_not_allowed_is_refused_politely_with_no_session(ctx: EngineContext, client: TestClient, sub: str,
                                                                 says: str) -> None:
    """A valid sign-in of someone the console does not admit is refused, politely, and no session is made."""
    response = client.get(to_provider_and_back(client, sub))
    assert response.status_code == 403 and says in response.text
    assert sessions(ctx) == []


def test_a_tampered_state_a_replayed_return_or_another_browser_signs_nobody_in(ctx: EngineContext,
                                                                              client: TestClient) -> None:
    """The return must carry this browser's attempt and its state, once: otherwise nobody is signed in."""
    back = to_provider_and_back(client, "leah")
    tampered = back.replace("state=", "state=x")
    assert client.get(tampered).status_code == 400
    other_browser = TestClient(client.app, follow_redirects=False)
    assert other_browser.get(back).status_code == 400
    assert client.get(back).status_code == 303  # the real one, once
    client.cookies.clear()
    client.cookies.set("si_sign_in", "whatever|/console/", path="/console/sign-in")
    assert client.get(back).status_code == 400
    assert sessions(ctx) == [("inspection-coordinator", "coordinator", "identity-provider")]


def test_roles_are_the_lesser_of_the_file_and_the_provider() -> None:
    """A file coordinator with only the viewer app role is a viewer; no role at all, or another tenant, is out."""
    from send_inspection.config.loader import default_config_dir, load_config

    partnership = load_config(default_config_dir()).partnership
    access = ConsoleAccess(coordinators=["inspection-coordinator"], viewers=["sm-performance"], tenant_id=TENANT,
                           app_roles=APP_ROLES, object_ids={"inspection-coordinator": "oid-1"})
    partnership = partnership.model_copy(update={"console": access})
    leah = {"tid": TENANT, "oid": "oid-1", "email": "someone.else@demo-county.example", "roles": ["Inspection.Viewer"]}
    admitted = admit_claims(partnership, leah)
    assert isinstance(admitted, Admitted) and (admitted.person.id, admitted.role) == ("inspection-coordinator",
                                                                                      "viewer")
    assert isinstance(admit_claims(partnership, leah | {"roles": []}), Refused)
    assert isinstance(admit_claims(partnership, leah | {"tid": "another-tenant"}), Refused)
    unverified = PEOPLE["owen"] | {"email_verified": False, "oid": "unknown"}
    assert isinstance(admit_claims(partnership, unverified), Refused)
