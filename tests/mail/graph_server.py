"""A local Microsoft Graph stand-in: an OAuth2 token endpoint and /users/{sender}/sendMail on 127.0.0.1.

It records every request and every accepted message, and can be told to throttle (429 with Retry-After),
to refuse a recipient (400 ErrorInvalidRecipients), or to refuse every token or every send (401).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote

TOKEN_PATH = "/demo-tenant/oauth2/v2.0/token"
GRAPH_PREFIX = "/v1.0"


@dataclass
class Seen:
    """One HTTP request as it arrived."""

    method: str
    path: str
    authorization: str | None


@dataclass
class Script:
    """What the server does next."""

    # (status, Retry-After header or None) answers to give to the next sendMail requests, one each.
    throttle: list[tuple[int, str | None]] = field(default_factory=list)
    # Recipient address -> Graph error code given for any message addressed to it.
    refuse: dict[str, str] = field(default_factory=dict)
    refuse_tokens: bool = False
    refuse_sends: int | None = None  # HTTP status (401 or 403) given to every sendMail
    expires_in: int = 3599


class GraphServer:
    """Serve the token endpoint and sendMail on 127.0.0.1 in a thread; `sent` holds (sender, request body) pairs."""

    def __init__(self, *, client_id: str = "demo-client", client_secret: str = "demo-client-secret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.script = Script()
        self.seen: list[Seen] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.tokens_issued = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="graph-server", daemon=True)

    @property
    def token_url(self) -> str:
        """Return the token endpoint URL."""
        return f"http://127.0.0.1:{self.port}{TOKEN_PATH}"

    @property
    def graph_base(self) -> str:
        """Return the Graph base URL (the /v1.0 root)."""
        return f"http://127.0.0.1:{self.port}{GRAPH_PREFIX}"

    def requests(self) -> list[str]:
        """Return "METHOD path" for every request so far, in order."""
        with self._lock:
            return [f"{seen.method} {seen.path}" for seen in self.seen]

    def start(self) -> GraphServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> GraphServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if (
            self.script.refuse_tokens
            or form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}, {}
        self.tokens_issued += 1
        return 200, {"token_type": "Bearer", "expires_in": self.script.expires_in,
                     "access_token": f"demo-token-{self.tokens_issued}"}, {}

    def _send_mail(self, sender: str, authorization: str | None, *,
                   body: dict[str, Any]) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        if not (authorization or "").startswith("Bearer demo-token-"):
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}}, {}
        if self.script.refuse_sends == 401:
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}}, {}
        if self.script.refuse_sends == 403:
            return 403, {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}, {}
        if self.script.throttle:
            status, retry_after = self.script.throttle.pop(0)
            headers = {} if retry_after is None else {"Retry-After": retry_after}
            return status, {"error": {"code": "ApplicationThrottled", "message": "Too many requests."}}, headers
        message = body.get("message", {})
        for kind in ("toRecipients", "ccRecipients", "bccRecipients"):
            for recipient in message.get(kind, []):
                code = self.script.refuse.get(recipient["emailAddress"]["address"])
                if code:
                    return 400, {"error": {"code": code, "message": "At least one recipient isn't valid."}}, {}
        self.sent.append((sender, body))
        return 202, None, {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                """Keep the test output quiet."""

            def do_POST(self) -> None:  # noqa: N802 - stdlib hook name
                """Answer a token request or a sendMail request."""
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                authorization = self.headers.get("Authorization")
                with server._lock:
                    server.seen.append(Seen("POST", self.path, authorization))
                    parts = self.path.split("/")
                    if self.path == TOKEN_PATH:
                        form = {key: values[0] for key, values in parse_qs(data.decode()).items()}
                        status, payload, headers = server._token(form)
                    elif len(parts) == 5 and parts[1:3] == ["v1.0", "users"] and parts[4] == "sendMail":
                        status, payload, headers = server._send_mail(unquote(parts[3]), authorization,
                                                                     body=json.loads(data))
                    else:
                        status, payload, headers = 404, {"error": {"code": "ResourceNotFound", "message": ""}}, {}
                body = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler
