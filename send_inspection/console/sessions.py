"""Console sessions kept in our database: the browser holds only a random id in a signed cookie.

A session held only in a signed cookie cannot be ended: a copy taken before sign-out would still open the console.
Here the cookie names a row; signing out, the idle timeout and the longest a session may last end the row, and an
ended row opens nothing. Only the id's hash is stored. Each session has its own CSRF token, which every console form
carries and every POST must present (the synchronizer-token pattern, which needs the server-side session this store
is; the double-submit libraries are for sessions without one).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, Signer
from sqlalchemy import select

from send_inspection.console.identity import lesser
from send_inspection.console.settings import ConsoleSettings
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.tokens import hash_token

EMAIL_LINK = "email-link"
IDENTITY_PROVIDER = "identity-provider"


@dataclass(frozen=True)
class SignedIn:
    """The person a live session belongs to, their console role, and the token their forms must carry."""

    person_key: str
    name: str
    role: str
    via: str
    csrf_token: str

    @property
    def may_act(self) -> bool:
        """Say whether the role allows actions (a coordinator), not only looking (a viewer)."""
        return self.role == "coordinator"

    def csrf_ok(self, presented: str | None) -> bool:
        """Say whether a form presented this session's CSRF token."""
        return bool(presented) and hmac.compare_digest(str(presented), self.csrf_token)


@dataclass(frozen=True)
class Ended:
    """A cookie whose session is over, and why (signed out, idle, too old)."""

    why: str


class SessionStore:
    """Create, look up and end console sessions; the cookie's value is a signed random id."""

    def __init__(self, ctx: EngineContext, settings: ConsoleSettings) -> None:
        self.ctx, self.settings = ctx, settings
        self._signer = Signer(settings.secret_key, salt="send-inspection console session")

    @property
    def cookie_name(self) -> str:
        """Return the cookie's name: __Host- prefixed behind https, so no other site or path can set it."""
        return "__Host-si_console" if self.settings.secure else "si_console"

    def create(self, person_key: str, role: str, *, via: str) -> str:
        """Start a session for a person in a role; return the cookie value (shown to nobody else)."""
        raw = secrets.token_urlsafe(32)
        now = self.ctx.clock.now()
        with self.ctx.session() as session:
            session.add(m.ConsoleSession(session_hash=hash_token(raw), person_key=person_key, role=role, via=via,
                                         csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now))
            session.commit()
        return self._signer.sign(raw).decode()

    def resume(self, cookie: str | None) -> SignedIn | Ended | None:
        """Return the live session a cookie names (and note it was used now), Ended if it is over, else None."""
        row = self._row(cookie)
        if row is None:
            return None
        now = self.ctx.clock.now()
        with self.ctx.session() as session:
            row = session.get(m.ConsoleSession, row.id, with_for_update=True)
            assert row is not None
            role = lesser(row.role, self.ctx.config.partnership.console.role_of(row.person_key))
            if row.ended_at is None:
                why = self._expired(row, now) or (None if role else "no longer allowed")
                if why is not None:
                    row.ended_at, row.ended_why = now, why
                else:
                    row.last_seen_at = now
                session.commit()
            if row.ended_at is not None:
                return Ended(why=row.ended_why or "ended")
            assert role is not None
            return SignedIn(person_key=row.person_key, name=self._name(row.person_key), role=role, via=row.via,
                            csrf_token=row.csrf_token)

    def end(self, cookie: str | None, *, why: str = "signed out") -> None:
        """End the session a cookie names, for good."""
        row = self._row(cookie)
        if row is None:
            return
        with self.ctx.session() as session:
            row = session.get(m.ConsoleSession, row.id)
            if row is not None and row.ended_at is None:
                row.ended_at, row.ended_why = self.ctx.clock.now(), why
                session.commit()

    def _row(self, cookie: str | None) -> m.ConsoleSession | None:
        if not cookie or len(cookie) > 200:
            return None
        try:
            raw = self._signer.unsign(cookie).decode()
        except BadSignature:
            return None
        with self.ctx.session() as session:
            return session.scalars(select(m.ConsoleSession).where(
                m.ConsoleSession.session_hash == hash_token(raw))).first()

    def _expired(self, row: m.ConsoleSession, now: datetime) -> str | None:
        if now - row.last_seen_at >= self.settings.idle_timeout:
            return "idle"
        if now - row.created_at >= self.settings.max_age:
            return "too old"
        return None

    def _name(self, person_key: str) -> str:
        try:
            return self.ctx.config.partnership.person(person_key).name
        except KeyError:
            return person_key
