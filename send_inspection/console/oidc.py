"""Sign in with the partnership's OpenID Connect provider through Authlib: authorization code flow with PKCE (S256).

What the browser's return must match (state, nonce, the PKCE verifier) is kept in our database under the hash of a
random id the browser holds in a short-lived cookie, never in the cookie itself. The return is checked here (the
cookie's attempt, its state, used once, not too old); Authlib's OpenID client then exchanges the code and validates
the id_token: its signature against the provider's published keys, issuer, audience, expiry and nonce.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from authlib.integrations.starlette_client import OAuth, OAuthError
from sqlalchemy import select, update

from send_inspection.console.settings import OidcSettings
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.tokens import hash_token

# How long someone may take at the provider's sign-in page.
ATTEMPT_VALID = timedelta(minutes=10)


class SignInFailed(Exception):
    """The provider's answer cannot be trusted or used; the message is safe to show. Nobody was signed in."""


@dataclass(frozen=True)
class Begun:
    """Where to send the browser, and the random id its cookie keeps while it is away."""

    url: str
    attempt: str


class OidcSignIn:
    """The console's OpenID Connect client (one per web app)."""

    def __init__(self, ctx: EngineContext, settings: OidcSettings) -> None:
        self.ctx = ctx
        oauth = OAuth()
        self.client = oauth.register(
            name="partnership", client_id=settings.client_id, client_secret=settings.secret.read(),
            server_metadata_url=settings.metadata_url,
            client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256"},
        )

    async def begin(self, redirect_uri: str) -> Begun:
        """Make the provider's authorization URL (state, nonce, PKCE challenge) and remember what must come back."""
        made = await self.client.create_authorization_url(redirect_uri)
        attempt = secrets.token_urlsafe(32)
        with self.ctx.session() as session:
            session.add(m.SignInAttempt(attempt_hash=hash_token(attempt), state=made["state"], nonce=made["nonce"],
                                        code_verifier=made["code_verifier"], redirect_uri=redirect_uri,
                                        created_at=self.ctx.clock.now()))
            session.commit()
        return Begun(url=made["url"], attempt=attempt)

    async def finish(self, attempt: str | None, params: Mapping[str, str]) -> dict[str, object]:
        """Check the browser's return against its attempt, exchange the code, validate the id_token; return claims."""
        if params.get("error"):
            raise SignInFailed("The sign-in was cancelled or refused at your organisation's sign-in page.")
        row = self._spend(attempt, params.get("state"))
        code = params.get("code")
        if not code:
            raise SignInFailed("The sign-in page sent no authorization code back.")
        try:
            token = await self.client.fetch_access_token(redirect_uri=row.redirect_uri, code=code,
                                                         code_verifier=row.code_verifier)
            claims = await self.client.parse_id_token(token, nonce=row.nonce)
        except (OAuthError, ValueError, KeyError) as exc:
            raise SignInFailed("Your organisation's sign-in could not be verified.") from exc
        except Exception as exc:  # joserfc's and httpx's own errors: a token we cannot trust, or no answer
            raise SignInFailed("Your organisation's sign-in could not be verified.") from exc
        if claims is None:
            raise SignInFailed("Your organisation's sign-in sent no id_token.")
        return dict(claims)

    def _spend(self, attempt: str | None, state: str | None) -> m.SignInAttempt:
        """Return the attempt this browser began, once, if the state matches and it is recent; else refuse."""
        now = self.ctx.clock.now()
        with self.ctx.session() as session:
            row = session.scalars(select(m.SignInAttempt).where(
                m.SignInAttempt.attempt_hash == hash_token(attempt or ""))).first() if attempt else None
            if row is None or not state or not hmac.compare_digest(row.state, state):
                raise SignInFailed("This sign-in was not started from this browser, or it was started again since.")
            if now - row.created_at > ATTEMPT_VALID:
                raise SignInFailed("This sign-in took too long. Please start again.")
            spent = session.execute(update(m.SignInAttempt).where(m.SignInAttempt.id == row.id,
                                                                  m.SignInAttempt.used_at.is_(None))
                                    .values(used_at=now))
            session.commit()
            if spent.rowcount != 1:
                raise SignInFailed("This sign-in has already been used. Please start again.")
            return row
