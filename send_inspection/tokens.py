"""Personal action links: one random token per person per action, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from send_inspection.db.models import ActionToken


class TokenStatus(StrEnum):
    """What a presented token turned out to be."""

    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class TokenCheck:
    """The verdict on a presented token and, when it exists, its stored row."""

    status: TokenStatus
    token: ActionToken | None


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
    raw = secrets.token_urlsafe(32)
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
    if not raw or len(raw) > 128:
        return TokenCheck(TokenStatus.UNKNOWN, None)
    token = session.scalars(select(ActionToken).where(ActionToken.token_hash == hash_token(raw))).first()
    if token is None:
        return TokenCheck(TokenStatus.UNKNOWN, None)
    if token.used_at is not None:
        return TokenCheck(TokenStatus.USED, token)
    if now >= token.expires_at:
        return TokenCheck(TokenStatus.EXPIRED, token)
    return TokenCheck(TokenStatus.VALID, token)


def close_links(session: Session, inspection_id: str, *, now: datetime) -> int:
    """Make every link of the inspection stop working from `now` (it has finished); return how many were open."""
    result = session.execute(update(ActionToken).where(ActionToken.inspection_id == inspection_id,
                                                       ActionToken.expires_at > now).values(expires_at=now))
    return result.rowcount or 0
