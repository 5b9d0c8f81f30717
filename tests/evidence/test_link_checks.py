"""Links in evidence are tried as a reviewer would: reachable, broken or unverifiable (security: tests/security)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from send_inspection.config.models import LinkChecks
from send_inspection.evidence.link_checks import CHECKS_OFF, TOO_MANY, Resolver, check_links_reachable, system_resolver
from tests.link_server import LinkServer, start_link_server

INTRANET = LinkChecks(intranet_hosts=["policies.demo-county.example"], reason="Our policies are on the intranet.")


@pytest.fixture(scope="module")
def site() -> Iterator[LinkServer]:
    """Serve pages on a free loopback port."""
    server = start_link_server()
    yield server
    server.stop()


def on_intranet(server: LinkServer) -> tuple[str, Resolver]:
    """Return the server's base under the listed intranet name, and a resolver giving loopback for that name."""
    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "policies.demo-county.example" else system_resolver(host, port)

    return f"http://policies.demo-county.example:{server.port}", resolve


def test_links_are_reachable_broken_or_unverifiable(site: LinkServer) -> None:
    """An answering page is reachable, a missing one broken with its status, a name resolving nowhere unverifiable."""
    base, resolve = on_intranet(site)
    urls = [f"{base}/ok", f"{base}/missing", f"{base}/get-only", "https://nowhere.demo-county.example/x"]
    results = check_links_reachable(urls, policy=INTRANET, resolve=resolve)
    assert results == {urls[0]: "reachable", urls[1]: "broken (HTTP 404)", urls[2]: "reachable",
                       urls[3]: "unverifiable"}


def test_redirects_are_followed_a_few_times_at_most(site: LinkServer) -> None:
    """A redirect to a page that answers is reachable; a redirect that points at itself ends as unverifiable."""
    base, resolve = on_intranet(site)
    loop = f"{base}/redirect?to=/redirect%3Fto%3D/redirect"
    results = check_links_reachable([f"{base}/redirect?to={base}/ok", loop], policy=INTRANET, resolve=resolve)
    assert list(results.values()) == ["reachable", "unverifiable"]


def test_too_many_links_are_not_all_tried(site: LinkServer) -> None:
    """Past the limit, links are listed as not checked instead of slowing the check."""
    base, resolve = on_intranet(site)
    results = check_links_reachable([f"{base}/ok?{i}" for i in range(30)], policy=INTRANET, resolve=resolve)
    assert list(results.values()).count(TOO_MANY) == 5


def test_a_partnership_can_turn_link_checks_off(site: LinkServer) -> None:
    """With checks off in partnership.yaml nothing is tried and each link says why."""
    before = len(site.seen)
    off = LinkChecks(check=False, reason="Our firewall logs every outbound request as an alert.")
    base, resolve = on_intranet(site)
    assert check_links_reachable([f"{base}/ok"], policy=off, resolve=resolve) == {f"{base}/ok": CHECKS_OFF}
    assert len(site.seen) == before
