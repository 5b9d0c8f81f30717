"""What every console page shares: rendering, the sign-in check, the role check, the CSRF and origin checks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from send_inspection.console.oidc import OidcSignIn
from send_inspection.console.sessions import Ended, SessionStore, SignedIn
from send_inspection.console.settings import ConsoleSettings
from send_inspection.coordinator.audit import CONSOLE, Actor
from send_inspection.coordinator.runner import InspectionRunner
from send_inspection.engine.context import EngineContext
from send_inspection.files.storage import MAX_UPLOAD_BYTES

log = logging.getLogger(__name__)

# Console pages carry people's names and the coordinator's buttons: never cached, never framed, no scripts at all.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
ENDED_WORDS = {"idle": "Your session ended because it was not used for a while.",
               "too old": "Your session reached its longest allowed time.",
               "signed out": "You have signed out.",
               "no longer allowed": "Your access to the console has changed."}


@dataclass
class Console:
    """The console's parts, wired once by the web app: settings, sessions, the runner and the sign-in client."""

    ctx: EngineContext
    settings: ConsoleSettings
    runner: InspectionRunner
    has_outbox: bool = False

    def __post_init__(self) -> None:
        self.sessions = SessionStore(self.ctx, self.settings)
        self.oidc = OidcSignIn(self.ctx, self.settings.oidc) if self.settings.oidc is not None else None


class Pages:
    """Render console pages and check who may see or do what."""

    def __init__(self, console: Console, templates: jinja2.Environment) -> None:
        self.console, self.templates = console, templates

    def page(self, request: Request, name: str, *, status: int = 200, me: SignedIn | None = None,
             **context: Any) -> HTMLResponse:
        """Render a console page with the signed-in person (if any) and the console's navigation."""
        html = self.templates.get_template(f"console/{name}").render(
            me=me, path=request.url.path, has_outbox=self.console.has_outbox, **context)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def refuse(self, request: Request, status: int, title: str, detail: str, *, me: SignedIn | None = None,
               sign_in: bool = False) -> HTMLResponse:
        """Say politely why nothing happened."""
        log.warning("console refused %s %s: %s", request.method, request.url.path, title)
        return self.page(request, "refused.html.j2", status=status, me=me, title=title, detail=detail,
                         sign_in=sign_in)

    def who(self, request: Request) -> SignedIn | Ended | None:
        """Return the session the request's cookie names."""
        return self.console.sessions.resume(request.cookies.get(self.console.sessions.cookie_name))

    def to_sign_in(self, request: Request, *, ended: Ended | None = None) -> RedirectResponse:
        """Send the browser to the sign-in page, to come back here after."""
        target = f"/console/sign-in?next={quote(request.url.path)}"
        if ended is not None:
            target += f"&ended={quote(ended.why)}"
        return RedirectResponse(target, status_code=303, headers=HEADERS)

    def viewing(self, request: Request) -> SignedIn | Response:
        """Let a signed-in coordinator or viewer look; send anyone else to sign in."""
        me = self.who(request)
        if isinstance(me, SignedIn):
            return me
        return self.to_sign_in(request, ended=me)

    async def acting(self, request: Request, *, files: bool = False,
                     viewer_may: bool = False) -> tuple[SignedIn, FormData] | Response:
        """Let a signed-in coordinator (or viewer, if `viewer_may`) act with a form from this app carrying their
        session's CSRF token.

        The session is checked before the form is read, so nobody unsigned can make the app read an upload.
        """
        if not self.same_origin(request):
            return self.refuse(request, 403, "This form came from another site",
                               "The console only takes forms sent from its own pages. Nothing was recorded.")
        me = self.who(request)
        if not isinstance(me, SignedIn):
            why = ENDED_WORDS.get(me.why, "Your session has ended.") if isinstance(me, Ended) else \
                "You are not signed in."
            return self.refuse(request, 401, "Please sign in again", f"{why} Nothing was recorded.", sign_in=True)
        if not (me.may_act or viewer_may):
            return self.refuse(request, 403, "Your role lets you look, not change", f"{me.name}, you are a viewer "
                               "of the console: only the inspection's coordinators can do this. Nothing was recorded.",
                               me=me)
        limit = MAX_UPLOAD_BYTES + 1024 * 1024 if files else 1024 * 1024
        if int(request.headers.get("content-length") or 0) > limit:
            return self.refuse(request, 413, "What you sent is too large",
                               f"Files of up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Nothing was recorded.", me=me)
        form = await request.form(max_part_size=MAX_UPLOAD_BYTES if files else 1024 * 1024)
        if not me.csrf_ok(form.get("csrf") if isinstance(form.get("csrf"), str) else None):
            return self.refuse(request, 403, "This form has expired",
                               "The form did not carry this session's security token (it may be from an older "
                               "session, or from another site). Nothing was recorded: go back, reload the page and "
                               "try again.", me=me)
        return me, form

    def same_origin(self, request: Request) -> bool:
        """Say whether a POST came from the app's own pages, as browsers tell: Sec-Fetch-Site and Origin.

        With the pages' no-referrer policy a browser sends `Origin: null` even for the app's own forms, so only
        another site's origin is refused there; Sec-Fetch-Site says same-origin for the app's own forms.
        """
        origin = request.headers.get("origin")
        if origin is not None and origin != "null" and origin != self.console.settings.origin:
            return False
        return request.headers.get("sec-fetch-site") in (None, "same-origin", "none")

    def done(self, path: str) -> RedirectResponse:
        """Go back to a page after an action, which then shows what was done (from the audit log)."""
        return RedirectResponse(f"{path}?done=1", status_code=303, headers=HEADERS)


def actor(me: SignedIn) -> Actor:
    """Return the audit log's actor for a console session."""
    return Actor(key=me.person_key, name=me.name, channel=CONSOLE)
