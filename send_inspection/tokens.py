"""Personal links: one random token per person per action, and one-time console sign-in links; only hashes are kept.

This module is the one owner of minting and checking links: staff's action links (`mint_token`, `check_token`,
`revoke_tokens`) and the console's emailed sign-in links (`mint_sign_in_link`, `check_sign_in_link`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from send_inspection.db.models import ActionToken, SignInLink


class TokenStatus(StrEnum):
    """What a presented token turned out to be."""

    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REPLACED = "replaced"


@dataclass(frozen=True)
class TokenCheck:
    """The verdict on a presented token and, when it exists, its stored row."""

    status: TokenStatus
    token: ActionToken | None


@dataclass(frozen=True)
class SignInCheck:
    """The verdict on a presented sign-in link and, when it exists, its stored row."""

    status: TokenStatus
    link: SignInLink | None


def _raw_token() -> str:
    return secrets.token_urlsafe(32)


def _presentable(raw: str) -> bool:
    return bool(raw) and len(raw) <= 128


def hash_token(raw: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def mint_token(
    session: Session,
    inspection_id: str,
    person_key: str,
    *,
    item_id: int,
    step: str,
    round_no: int,
    now: datetime,
    expires_at: datetime,
) -> str:
    """Create a token for one person to answer one step of one round; return the raw token once."""
    raw = _raw_token()
    session.add(
        ActionToken(
            token_hash=hash_token(raw),
            inspection_id=inspection_id,
            person_key=person_key,
            item_id=item_id,
            step=step,
            round=round_no,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return raw


def check_token(session: Session, raw: str, *, now: datetime) -> TokenCheck:
    """Look a presented token up by its hash and say whether it may still be used."""
    if not _presentable(raw):
        return TokenCheck(TokenStatus.UNKNOWN, None)
    token = session.scalars(select(ActionToken).where(ActionToken.token_hash == hash_token(raw))).first()
    if token is None:
        return TokenCheck(TokenStatus.UNKNOWN, None)
    if token.used_at is not None:
        return TokenCheck(TokenStatus.USED, token)
    if token.revoked_at is not None:
        return TokenCheck(TokenStatus.REPLACED, token)
    if now >= token.expires_at:
        return TokenCheck(TokenStatus.EXPIRED, token)
    return TokenCheck(TokenStatus.VALID, token)


def revoke_tokens(session: Session, item_id: int, *, step: str, round_no: int, now: datetime,
                  person_key: str | None = None, keep: tuple[str, ...] = ()) -> int:
    """Stop every unused link to one step of one round of an item (only `person_key`'s, if given), but the raw
    tokens in `keep`; return how many."""
    query = select(ActionToken).where(ActionToken.item_id == item_id, ActionToken.step == step,
                                      ActionToken.round == round_no, ActionToken.used_at.is_(None),
                                      ActionToken.revoked_at.is_(None))
    if person_key is not None:
        query = query.where(ActionToken.person_key == person_key)
    if keep:
        query = query.where(ActionToken.token_hash.not_in([hash_token(raw) for raw in keep]))
    tokens = list(session.scalars(query))
    for token in tokens:
        token.revoked_at = now
    session.flush()
    return len(tokens)


def mint_sign_in_link(session: Session, person_key: str, *, now: datetime, expires_at: datetime) -> str:
    """Create a one-time console sign-in link for a person; return the raw token once."""
    raw = _raw_token()
    session.add(SignInLink(token_hash=hash_token(raw), person_key=person_key, created_at=now, expires_at=expires_at))
    session.flush()
    return raw


def check_sign_in_link(session: Session, raw: str, *, now: datetime) -> SignInCheck:
    """Look a presented sign-in link up by its hash and say whether it may still be used."""
    if not _presentable(raw):
        return SignInCheck(TokenStatus.UNKNOWN, None)
    link = session.scalars(select(SignInLink).where(SignInLink.token_hash == hash_token(raw))).first()
    if link is None:
        return SignInCheck(TokenStatus.UNKNOWN, None)
    if link.used_at is not None:
        return SignInCheck(TokenStatus.USED, link)
    if now >= link.expires_at:
        return SignInCheck(TokenStatus.EXPIRED, link)
    return SignInCheck(TokenStatus.VALID, link)


def close_links(session: Session, inspection_id: str, *, now: datetime) -> int:
    """Make every link of the inspection stop working from `now` (it has finished); return how many were open."""
    result = session.execute(update(ActionToken).where(ActionToken.inspection_id == inspection_id,
                                                       ActionToken.expires_at > now).values(expires_at=now))
    return result.rowcount or 0
