"""Sign in without an identity provider: a one-time link emailed to a person whose console role allows it."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from send_inspection.config.models import Person
from send_inspection.console.identity import Admitted, Refused, admit, person_by_email
from send_inspection.console.settings import SIGN_IN_LINK_VALID
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.outgoing import compose, when
from send_inspection.mail.transport import MailTransportError
from send_inspection.tokens import SignInCheck, TokenStatus, check_sign_in_link, mint_sign_in_link

log = logging.getLogger(__name__)

# One link a minute per person at most, so a form cannot be used to flood someone's inbox.
RESEND_AFTER = timedelta(minutes=1)
LINK_PATH = "/console/sign-in/link/"


def send_sign_in_link(ctx: EngineContext, email: str) -> bool:
    """Email a sign-in link if the address is a person the console admits; return whether one went.

    The page says the same either way, so it tells nobody whose address is known.
    """
    person = person_by_email(ctx.config.partnership, email) if email and len(email) <= 254 else None
    if person is None or not isinstance(admit(ctx.config.partnership, person), Admitted):
        log.info("console sign-in link not sent: the address given is not a console user's")
        return False
    now = ctx.clock.now()
    with ctx.session() as session:
        recent = session.scalars(select(m.SignInLink.id).where(m.SignInLink.person_key == person.id,
                                                               m.SignInLink.created_at > now - RESEND_AFTER)).first()
        if recent is not None:
            log.info("console sign-in link for %s not sent: one went less than a minute ago", person.id)
            return False
        raw = mint_sign_in_link(session, person.id, now=now, expires_at=now + SIGN_IN_LINK_VALID)
        session.commit()
    try:
        ctx.transport.send(_message(ctx, person, raw), sent_at=now)
    except MailTransportError as exc:
        log.error("console sign-in link for %s could not be sent: %s", person.id, exc)
        return False
    return True


def _message(ctx: EngineContext, person: Person, raw: str):  # noqa: ANN202
    key = f"console:sign-in:{person.id}:{secrets.token_hex(8)}"
    return compose(ctx, "console_sign_in", key=key, sender_inbox="comms", to=[person.email], person_name=person.name,
                   link=f"{ctx.base_url}{LINK_PATH}{raw}", expires=when(ctx.clock.now() + SIGN_IN_LINK_VALID))


def look_at_link(ctx: EngineContext, raw: str) -> SignInCheck:
    """Say whether a sign-in link may be used, changing nothing (mail scanners open every link)."""
    with ctx.session() as session:
        return check_sign_in_link(session, raw, now=ctx.clock.now())


def use_link(ctx: EngineContext, raw: str) -> Admitted | Refused | TokenStatus:
    """Spend a sign-in link and return whom it admits (as partnership.yaml says now), or why it cannot be used."""
    now = ctx.clock.now()
    with ctx.session() as session:
        check = check_sign_in_link(session, raw, now=now)
        if check.status is not TokenStatus.VALID or check.link is None:
            return check.status
        # Spent only if nobody spent it first: of two presses at once, one signs in.
        spent = session.execute(update(m.SignInLink).where(m.SignInLink.id == check.link.id,
                                                           m.SignInLink.used_at.is_(None)).values(used_at=now))
        session.commit()
        if spent.rowcount != 1:
            return TokenStatus.USED
        person_key = check.link.person_key
    try:
        person = ctx.config.partnership.person(person_key)
    except KeyError:
        person = None
    return admit(ctx.config.partnership, person)
