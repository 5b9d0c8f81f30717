"""A real OpenID Connect provider on loopback for the console's tests: oidc-provider-mock run as its own server.

Its people carry Entra-style claims: `oid`, `tid`, `email` and app `roles`. A pytest plugin of the tests (the browser
tests use it too).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.helpers import free_port, wait_until_answering

TENANT = "9f1b2c3d-0000-4000-8000-00000000d0c0"
PEOPLE = {
    # The inspection coordinator, with the coordinator's app role.
    "leah": {"email": "leah.marchetti@demo-county.example", "email_verified": True, "name": "Leah Marchetti",
             "oid": "00000000-0000-4000-8000-000000000001", "tid": TENANT, "roles": ["Inspection.Coordinator"]},
    # A viewer in partnership.yaml, with the viewer's app role.
    "owen": {"email": "owen.garside@demo-county.example", "email_verified": True, "name": "Owen Garside",
             "oid": "00000000-0000-4000-8000-000000000002", "tid": TENANT, "roles": ["Inspection.Viewer"]},
    # Staff, but not named for the console in partnership.yaml (the provider gives them a role all the same).
    "catherine": {"email": "catherine.lowther@demo-county.example", "email_verified": True,
                  "name": "Catherine Lowther", "oid": "00000000-0000-4000-8000-000000000003", "tid": TENANT,
                  "roles": ["Inspection.Coordinator"]},
    # A coordinator in partnership.yaml whom the provider has not given the app role.
    "nadia": {"email": "nadia.pemberton@demo-county.example", "email_verified": True, "name": "Nadia Pemberton",
              "oid": "00000000-0000-4000-8000-000000000004", "tid": TENANT},
}
CLIENT_ID = "send-inspection-console"
CLIENT_SECRET = "console-test-secret"  # noqa: S105 - the mock provider's test client, on loopback only


@dataclass(frozen=True)
class Provider:
    """The running provider: its issuer URL."""

    issuer: str


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    """Run oidc-provider-mock on a free loopback port for the session, with PEOPLE as its predefined users."""
    port = free_port()
    argv = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--host", "127.0.0.1",
            "--require-nonce", "true"]
    for sub, claims in PEOPLE.items():
        argv += ["--user-claims", json.dumps({"sub": sub, **claims})]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    issuer = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{issuer}/.well-known/openid-configuration", seconds=30,
                             alive=lambda: proc.poll() is None, what="the OpenID Connect provider")
    except AssertionError:
        proc.kill()
        raise
    try:
        yield Provider(issuer=issuer)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
