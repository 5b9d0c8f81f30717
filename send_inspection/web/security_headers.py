"""Put the security headers on every answer the web app gives: its pages, files, and the framework's own errors."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    # Nothing runs, nothing loads from elsewhere, forms post only here, and no other site may frame a page
    # (a framed sign-off button could be clicked by someone who cannot see it).
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-src 'self'; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",  # the same for browsers that predate frame-ancestors
    # Personal links must not leak through the Referer header, caches or search engines.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Sent only when the app's base URL is https: a browser then refuses plain http to it for a year.
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """ASGI middleware: add each header the answer does not set itself (a page may set a stricter policy)."""

    def __init__(self, app: ASGIApp, *, headers: dict[str, str]) -> None:
        self.app, self.headers = app, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and add the headers to the answer's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def headers_for(base_url: str) -> dict[str, str]:
    """Return the headers every answer carries when the app is served at `base_url`."""
    return {**SECURITY_HEADERS, **({"Strict-Transport-Security": HSTS} if base_url.startswith("https://") else {})}


def add_security_headers(app: FastAPI, *, base_url: str) -> None:
    """Send the security headers on every answer of `app`, the framework's own 404, 405, 422 and 500 included."""
    headers = headers_for(base_url)
    app.add_middleware(SecurityHeaders, headers=headers)

    async def server_error(request: Request, exc: Exception) -> PlainTextResponse:
        # Starlette answers an unhandled error outside every middleware, so this answer sets the headers itself.
        return PlainTextResponse("Something went wrong on our side. Please try again in a few minutes; if it "
                                 "happens again, contact the inspection team.",
                                 status_code=500, headers=headers)

    app.add_exception_handler(Exception, server_error)
