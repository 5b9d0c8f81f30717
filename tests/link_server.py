"""A real HTTP(S) server on loopback that answers link checks and records every request it receives."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    host: str | None


@dataclass
class LinkServer:
    """A running server: its base URL, port and the requests it has received."""

    base: str
    port: int
    seen: list[Seen] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        """Stop serving."""
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


def _handler(record: LinkServer) -> type[BaseHTTPRequestHandler]:
    class Pages(BaseHTTPRequestHandler):
        """/ok is 200, /redirect?to=URL a 302 to it, /get-only 405 to HEAD, anything else 404."""

        def _answer(self) -> None:
            record.seen.append(Seen(self.command, self.path, self.headers.get("Host")))
            url = urlsplit(self.path)
            if url.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", parse_qs(url.query)["to"][0])
            elif url.path == "/get-only" and self.command == "HEAD":
                self.send_response(405)
            else:
                self.send_response(200 if url.path in ("/ok", "/get-only") else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET = _answer  # noqa: N815 - http.server hook names

        def log_message(self, *args: object) -> None:
            """Stay quiet."""

    return Pages


def start_link_server(*, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> LinkServer:
    """Serve on a free port of `host` (HTTPS with `tls`), recording requests and the TLS names asked for."""
    family = ThreadingHTTPServer
    if ":" in host:
        import socket

        family = type("ThreadingHTTPServerV6", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
    record = LinkServer(base="", port=0)
    server = family((host, 0), _handler(record))
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: record.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    record.server, record.port = server, server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    record.base = f"{'https' if tls else 'http'}://{shown}:{record.port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return record


def tls_for(name: str, folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Make a test CA and a certificate for `name`; return the server's TLS context and a client's trusting the CA."""
    now = dt.datetime.now(dt.UTC)

    def cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey, *,
             ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                decipher_only=False), critical=True)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert("Demo County test CA", ca_key, "Demo County test CA", ca_key, ca=True)
    leaf = cert(name, key, "Demo County test CA", ca_key, ca=False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "leaf.pem", folder / "leaf.key")
    client = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    return server, client
