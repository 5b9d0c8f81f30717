"""Trying the links in submitted evidence never reaches inside the council's network (issue 22, item 1)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from send_inspection.config.models import LinkChecks
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.evidence.link_checks import INTERNAL, check_links_reachable, system_resolver
from send_inspection.web.app import create_app
from tests.evidence.test_document_checks import make_docx
from tests.link_server import LinkServer, start_link_server, tls_for
from tests.web.test_sign_off import link_for, submit_form

INTRANET = LinkChecks(intranet_hosts=["policies.demo-county.example", "*.intranet.demo-county.example"],
                      reason="Our policies library is on the intranet.")


@pytest.fixture
def inside() -> Iterator[LinkServer]:
    """Serve on loopback: a service inside the network that must receive no request."""
    server = start_link_server()
    yield server
    server.stop()


@pytest.fixture
def inside_v6() -> Iterator[LinkServer | None]:
    """Serve on IPv6 loopback too, where the machine has it."""
    try:
        server = start_link_server(host="::1")
    except OSError:
        yield None
        return
    yield server
    server.stop()


def resolving(names: dict[str, list[str]]):  # noqa: ANN201
    """Return a resolver that answers `names` itself and counts each look-up, asking the system for any other."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return names[host] if host in names else system_resolver(host, port)

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


def spellings(port: int, port_v6: int | None) -> list[str]:
    """Return links to this machine spelt every way a submitter might hide it."""
    urls = [f"http://{host}:{port}/ok" for host in (
        "127.0.0.1", "localhost", "LocalHost", "127.1", "0x7f000001", "2130706433", "017700000001", "0.0.0.0",
        "[::ffff:127.0.0.1]", "127.0.0.1.nip.demo-county.example@127.0.0.1")]
    if port_v6 is not None:
        urls += [f"http://[::1]:{port_v6}/ok", f"http://[0:0:0:0:0:0:0:1]:{port_v6}/ok"]
    return urls


def test_a_document_linking_inside_makes_no_request(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                                   tmp_path: Path, inside: LinkServer,
                                                   inside_v6: LinkServer | None) -> None:
    """A .docx whose links point at this machine, however spelt, reaches no server; the reviewer sees why."""
    _, item = started
    ctx.check_links = True
    urls = spellings(inside.port, inside_v6.port if inside_v6 else None)
    path = make_docx(tmp_path / "Strategy.docx", modified=datetime(2023, 6, 1), links=tuple(urls))
    client = TestClient(create_app(ctx))
    response = client.post(f"/a/{link_for(ctx, item.evidence_lead, item.ref)}", data=submit_form(
        item, outcome="submitted"), files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert response.status_code == 200
    with ctx.session() as session:
        checks = session.scalars(select(m.Submission)).one().machine_checks
    assert checks["links"] == dict.fromkeys(urls, INTERNAL)
    assert inside.seen == [] and (inside_v6 is None or inside_v6.seen == [])


@pytest.mark.parametrize("address", [
    "10.1.2.3", "172.16.5.4", "192.168.0.10", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.251",
    "255.255.255.255", "fc00::5", "fd12:3456::1", "fe80::1", "::", "ff02::1", "::ffff:10.0.0.1", "64:ff9b::a00:1",
    "2002:c0a8:1::1"])
def test_a_name_resolving_to_an_internal_address_is_not_tried(address: str, inside: LinkServer) -> None:
    """A public-looking name that resolves to a private, link-local, metadata or multicast address is refused."""
    resolve = resolving({"evidence.demo-county.example": [address]})
    url = f"http://evidence.demo-county.example:{inside.port}/ok"
    assert check_links_reachable([url], policy=INTRANET, resolve=resolve) == {url: INTERNAL}
    assert inside.seen == []


def test_a_name_with_one_internal_address_among_public_ones_is_not_tried(inside: LinkServer) -> None:
    """A name answering both a public and a loopback address is refused before any connection."""
    resolve = resolving({"evidence.demo-county.example": ["203.0.113.7", "127.0.0.1"]})
    url = f"http://evidence.demo-county.example:{inside.port}/ok"
    assert check_links_reachable([url], policy=INTRANET, resolve=resolve) == {url: INTERNAL}
    assert inside.seen == []


def test_the_connection_goes_to_the_address_that_was_checked(inside: LinkServer) -> None:
    """A listed intranet name is looked up once per connection and reached at that address, with its own Host."""
    resolve = resolving({"policies.demo-county.example": ["127.0.0.1"]})
    url = f"http://policies.demo-county.example:{inside.port}/ok"
    assert check_links_reachable([url], policy=INTRANET, resolve=resolve) == {url: "reachable"}
    # The system cannot resolve a .example name: the request arrived only because it went to the checked address.
    with pytest.raises(OSError):
        socket.getaddrinfo("policies.demo-county.example", inside.port)
    assert resolve.asked == ["policies.demo-county.example"]
    assert [(s.method, s.path, s.host) for s in inside.seen] == [
        ("HEAD", "/ok", f"policies.demo-county.example:{inside.port}")]


def test_every_redirect_is_decided_again() -> None:
    """A listed intranet page redirecting to an unlisted loopback address is refused there; that server sees nothing."""
    listed, hidden = start_link_server(), start_link_server()
    try:
        resolve = resolving({"policies.demo-county.example": ["127.0.0.1"]})
        url = f"http://policies.demo-county.example:{listed.port}/redirect?to=http://localhost:{hidden.port}/ok"
        assert check_links_reachable([url], policy=INTRANET, resolve=resolve) == {url: INTERNAL}
        assert len(listed.seen) == 1 and hidden.seen == []
    finally:
        listed.stop()
        hidden.stop()


def test_tls_names_the_link_s_host_and_checks_its_certificate(tmp_path: Path) -> None:
    """Over HTTPS the server is asked for the link's name (SNI) and its certificate must be for that name."""
    server_tls, client_tls = tls_for("policies.demo-county.example", tmp_path)
    site = start_link_server(tls=server_tls)
    try:
        resolve = resolving({"policies.demo-county.example": ["127.0.0.1"],
                             "records.intranet.demo-county.example": ["127.0.0.1"]})
        good = f"https://policies.demo-county.example:{site.port}/ok"
        wrong_name = f"https://records.intranet.demo-county.example:{site.port}/ok"
        results = check_links_reachable([good, wrong_name], policy=INTRANET, resolve=resolve, ssl_context=client_tls)
        assert results == {good: "reachable", wrong_name: "unverifiable"}
        assert sorted(site.server_names) == ["policies.demo-county.example", "records.intranet.demo-county.example"]
        assert [s.host for s in site.seen] == [f"policies.demo-county.example:{site.port}"]
    finally:
        site.stop()


def test_listed_hosts_and_turning_checks_off_need_a_reason() -> None:
    """partnership.yaml must say why it lists intranet hosts or turns link checks off."""
    with pytest.raises(ValidationError, match="say why in 'reason'"):
        LinkChecks(check=False)
    with pytest.raises(ValidationError, match="say why in 'reason'"):
        LinkChecks(intranet_hosts=["policies.demo-county.example"])
    with pytest.raises(ValidationError, match="is not a host name"):
        LinkChecks(intranet_hosts=["http://policies.demo-county.example/"], reason="The policies library.")
