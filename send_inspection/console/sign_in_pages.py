"""The console's sign-in and sign-out pages: the partnership's identity provider, or an emailed one-time link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from send_inspection.console.email_link import LINK_PATH, look_at_link, send_sign_in_link, use_link
from send_inspection.console.guard import ENDED_WORDS, HEADERS, Pages, actor
from send_inspection.console.identity import Admitted, Refused, admit_claims
from send_inspection.console.oidc import ATTEMPT_VALID, SignInFailed
from send_inspection.console.sessions import EMAIL_LINK, IDENTITY_PROVIDER, SignedIn
from send_inspection.coordinator.audit import record
from send_inspection.tokens import TokenStatus

ATTEMPT_COOKIE = "si_sign_in"
CALLBACK = "/console/sign-in/callback"
LINK_PROBLEMS = {
    TokenStatus.UNKNOWN: (404, "This sign-in link is not recognised",
                          "It may have been copied incompletely. Ask for a new link on the sign-in page."),
    TokenStatus.EXPIRED: (410, "This sign-in link has expired",
                          "Sign-in links work for 15 minutes. Ask for a new one on the sign-in page."),
    TokenStatus.USED: (409, "This sign-in link has already been used",
                       "Each link signs in once. Ask for a new one on the sign-in page."),
}


def _safe_next(target: str | None) -> str:
    """Return where to go after signing in: a console path only, never another site."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"


def sign_in_routes(router: APIRouter, pages: Pages) -> None:
    """Add the sign-in, sign-in link, identity provider and sign-out routes."""
    console = pages.console
    ctx = console.ctx

    def signed_in(request: Request, admitted: Admitted, *, via: str, target: str) -> RedirectResponse:
        cookie = console.sessions.create(admitted.person.id, admitted.role, via=via)
        me = console.sessions.resume(cookie)
        assert isinstance(me, SignedIn)
        how = "an emailed link" if via == EMAIL_LINK else "the partnership's identity provider"
        record(ctx, actor(me), "sign in", f"signed in as {admitted.role} with {how}")
        response = RedirectResponse(_safe_next(target), status_code=303, headers=HEADERS)
        response.set_cookie(console.sessions.cookie_name, cookie, httponly=True, samesite="lax",
                            secure=console.settings.secure, path="/")
        return response

    @router.get("/console/sign-in", response_class=HTMLResponse)
    def sign_in(request: Request, next: str | None = None, ended: str | None = None) -> Response:  # noqa: A002
        """Show how to sign in: the partnership's sign-in, or a form asking for a one-time link by email."""
        return pages.page(request, "sign_in.html.j2", oidc=console.oidc is not None, next=_safe_next(next),
                          ended=ENDED_WORDS.get(ended or ""))

    @router.post("/console/sign-in/email", response_class=HTMLResponse)
    async def ask_for_link(request: Request) -> Response:
        """Email a one-time sign-in link if the address is a console user's; say the same whatever it is."""
        if console.oidc is not None:
            return pages.refuse(request, 404, "Sign in with your partnership account",
                                "Sign-in links by email are off: this console uses your organisation's sign-in.")
        if not pages.same_origin(request):
            return pages.refuse(request, 403, "This form came from another site", "Nothing was sent.")
        form = await request.form()
        send_sign_in_link(ctx, str(form.get("email") or ""))
        return pages.page(request, "link_sent.html.j2")

    @router.get(LINK_PATH + "{raw}", response_class=HTMLResponse)
    def open_link(request: Request, raw: str) -> Response:
        """Show the sign-in button for a link; never sign in on opening (mail scanners open every link)."""
        status = look_at_link(ctx, raw).status
        if status is not TokenStatus.VALID:
            code, title, detail = LINK_PROBLEMS.get(status, LINK_PROBLEMS[TokenStatus.UNKNOWN])
            return pages.refuse(request, code, title, detail, sign_in=True)
        return pages.page(request, "use_link.html.j2", action=LINK_PATH + raw)

    @router.post(LINK_PATH + "{raw}", response_class=HTMLResponse)
    def spend_link(request: Request, raw: str) -> Response:
        """Sign in with a link: once, and only as the role partnership.yaml gives its person now."""
        if not pages.same_origin(request):
            return pages.refuse(request, 403, "This form came from another site", "Nobody was signed in.")
        result = use_link(ctx, raw)
        if isinstance(result, TokenStatus):
            code, title, detail = LINK_PROBLEMS.get(result, LINK_PROBLEMS[TokenStatus.UNKNOWN])
            return pages.refuse(request, code, title, detail, sign_in=True)
        if isinstance(result, Refused):
            return pages.refuse(request, 403, "The console is not open to you", result.reason)
        return signed_in(request, result, via=EMAIL_LINK, target="/console/")

    @router.get("/console/sign-in/start")
    async def start_provider(request: Request, next: str | None = None) -> Response:  # noqa: A002
        """Send the browser to the partnership's sign-in page, remembering the attempt under a cookie of its own."""
        if console.oidc is None:
            return pages.refuse(request, 404, "No organisation sign-in here",
                                "This console signs people in with a link sent by email.", sign_in=True)
        begun = await console.oidc.begin(console.settings.base_url + CALLBACK)
        response = RedirectResponse(begun.url, status_code=302, headers=HEADERS)
        response.set_cookie(ATTEMPT_COOKIE, f"{begun.attempt}|{_safe_next(next)}", httponly=True, samesite="lax",
                            secure=console.settings.secure, path="/console/sign-in",
                            max_age=int(ATTEMPT_VALID.total_seconds()))
        return response

    @router.get(CALLBACK)
    async def provider_returns(request: Request) -> Response:
        """Finish the sign-in the provider sends the browser back from: the attempt, the code, the id_token."""
        if console.oidc is None:
            return pages.refuse(request, 404, "No organisation sign-in here", "Nobody was signed in.", sign_in=True)
        attempt, _, target = (request.cookies.get(ATTEMPT_COOKIE) or "").partition("|")
        try:
            claims = await console.oidc.finish(attempt or None, dict(request.query_params))
        except SignInFailed as exc:
            return pages.refuse(request, 400, "The sign-in did not work", f"{exc} Nobody was signed in.",
                                sign_in=True)
        admitted = admit_claims(ctx.config.partnership, claims)
        if isinstance(admitted, Refused):
            return pages.refuse(request, 403, "The console is not open to you", admitted.reason)
        response = signed_in(request, admitted, via=IDENTITY_PROVIDER, target=target)
        response.delete_cookie(ATTEMPT_COOKIE, path="/console/sign-in")
        return response

    @router.post("/console/sign-out", response_class=HTMLResponse)
    async def sign_out(request: Request) -> Response:
        """End the session for good: a copy of its cookie opens nothing afterwards."""
        checked = await pages.acting(request, viewer_may=True)
        if isinstance(checked, Response):
            return checked
        me, _ = checked
        console.sessions.end(request.cookies.get(console.sessions.cookie_name))
        record(ctx, actor(me), "sign out", "signed out")
        response = RedirectResponse("/console/sign-in?ended=signed%20out", status_code=303, headers=HEADERS)
        response.delete_cookie(console.sessions.cookie_name, path="/")
        return response
