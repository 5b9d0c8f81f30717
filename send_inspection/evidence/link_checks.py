"""Try the links in submitted evidence without letting a link reach inside the council's network.

A link is text a submitter wrote: trying it from the server is a request the server makes on their behalf. So
every connection is decided on the address its name resolves to, and goes to that same address (no second
look-up a rebinding name server could answer differently): loopback, private, link-local (the cloud metadata
address among them), shared, unspecified, multicast and reserved addresses are refused, however the link spells
them (0x7f000001, 2130706433, 127.1, ::ffff:127.0.0.1). Redirects are followed here, a few at most, each one
decided afresh. TLS still checks the certificate against the link's name. A partnership may list intranet hosts
it wants tried (never at a link-local, unspecified or multicast address) and may turn link checks off; both
are in partnership.yaml with their reason.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import httpcore
import httpx

from send_inspection.config.models import LinkChecks

MAX_LINKS = 25
MAX_REDIRECTS = 5
LINK_TIMEOUT = 4.0
INTERNAL = "not checked (internal address)"
TOO_MANY = "not checked (too many links)"
CHECKS_OFF = "not checked (link checks are off for this partnership)"
REDIRECT_CODES = {301, 302, 303, 307, 308}
USER_AGENT = b"SEND inspection evidence link check"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# A name and port to the addresses they resolve to (socket.getaddrinfo by default; tests give their own).
Resolver = Callable[[str, int], list[str]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class InternalAddress(Exception):
    """A link's name resolves to an address the product never connects to."""


def system_resolver(host: str, port: int) -> list[str]:
    """Return every address `host` resolves to, once (the connection then goes to one of these)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refused_address(address: IPAddress, *, intranet: bool) -> bool:
    """Say whether the product must not connect to `address` (an intranet host listed in config may be private)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refused_address(embedded, intranet=intranet)
    never = address.is_link_local or address.is_unspecified or address.is_multicast or (
        address.is_reserved and not address.is_loopback)
    if never or intranet:
        return never
    return address.is_loopback or address.is_private or not address.is_global


def is_intranet_host(host: str, policy: LinkChecks) -> bool:
    """Say whether the partnership listed `host` (exactly, or under a '*.' domain) to be checked."""
    host = host.lower().rstrip(".")
    for listed in policy.intranet_hosts:
        if host == listed or (listed.startswith("*.") and host.endswith(listed[1:])):
            return True
    return False


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolve a name once, refuse it if any of its addresses is internal, and connect to an address it gave."""

    def __init__(self, policy: LinkChecks, resolve: Resolver) -> None:
        self._policy, self._resolve, self._inner = policy, resolve, httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        """Connect to `host` through the address it resolved to, or raise InternalAddress."""
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self._resolve(host, port)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise httpcore.ConnectError(f"{host} could not be resolved: {exc}") from exc
        intranet = is_intranet_host(host, self._policy)
        if not addresses or any(refused_address(a, intranet=intranet) for a in addresses):
            raise InternalAddress(host)
        failure: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(str(address), port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        """Refuse: a link never reaches a local socket."""
        raise InternalAddress(path)


@functools.cache
def _default_tls() -> ssl.SSLContext:
    """Return the TLS context every check shares: reading the CA bundle anew for each submission's links was a
    fifth of the web app's CPU with twenty inspections at once (a context is safe to share between threads)."""
    return httpx.create_ssl_context()


def check_links_reachable(urls: list[str], *, policy: LinkChecks | None = None, resolve: Resolver = system_resolver,
                          ssl_context: ssl.SSLContext | None = None) -> dict[str, str]:
    """Return 'reachable', 'broken (HTTP n)', 'unverifiable' or why it was not checked, for each URL."""
    policy = policy or LinkChecks()
    if not policy.check:
        return dict.fromkeys(urls, CHECKS_OFF)
    pool = httpcore.ConnectionPool(ssl_context=ssl_context or _default_tls(), max_connections=8,
                                   network_backend=_GuardedBackend(policy, resolve))
    try:
        with ThreadPoolExecutor(max_workers=8) as threads:
            tried = urls[:MAX_LINKS]
            results = dict(zip(tried, threads.map(lambda url: _check_one(pool, url), tried), strict=True))
    finally:
        pool.close()
    results.update(dict.fromkeys(urls[MAX_LINKS:], TOO_MANY))
    return results


def _check_one(pool: httpcore.ConnectionPool, url: str) -> str:
    """Ask for one link (HEAD, then GET where HEAD is not allowed), following its redirects here."""
    target = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            parsed = httpx.URL(target)
            if parsed.scheme not in ("http", "https") or not parsed.host:
                return "unverifiable"
            status, location = _ask(pool, parsed, "HEAD")
            if status in (405, 501):
                status, location = _ask(pool, parsed, "GET")
        except InternalAddress:
            return INTERNAL
        except (httpx.InvalidURL, httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
                httpcore.UnsupportedProtocol, OSError, UnicodeError):
            return "unverifiable"
        if status in REDIRECT_CODES and location:
            target = str(parsed.join(location))
            continue
        if status < 400:
            return "reachable"
        if status in (401, 403):
            return "unverifiable"  # needs a login we do not have: a person must look
        return f"broken (HTTP {status})"
    return "unverifiable"  # redirected round and round


def _ask(pool: httpcore.ConnectionPool, url: httpx.URL, method: str) -> tuple[int, str | None]:
    """Send one request without reading its body; return the status and any Location."""
    target = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
    headers = [(b"Host", url.netloc), (b"User-Agent", USER_AGENT), (b"Accept", b"*/*")]
    timeouts = {"connect": LINK_TIMEOUT, "read": LINK_TIMEOUT, "write": LINK_TIMEOUT, "pool": LINK_TIMEOUT}
    with pool.stream(method, target, headers=headers, extensions={"timeout": timeouts}) as response:
        location = dict((k.lower(), v) for k, v in response.headers).get(b"location")
        return response.status, location.decode("latin-1") if location else None
