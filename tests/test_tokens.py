"""Tests for staff's action tokens (valid, unknown, expired, used, replaced) and console sign-in links."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from send_inspection.calendar import LONDON
from send_inspection.clock import VirtualClock
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.tokens import (
    TokenStatus,
    check_sign_in_link,
    check_token,
    hash_token,
    mint_sign_in_link,
    mint_token,
    revoke_tokens,
)
from tests.conftest import NOTIFIED

EXPIRES = datetime(2023, 6, 29, 17, 0, tzinfo=LONDON)


@pytest.fixture
def minted(ctx: EngineContext) -> tuple[str, int]:
    """Open the demo inspection and mint one token for hos-data on item 1.2, submit, round 1; return (raw, item id)."""
    iid = open_inspection(ctx, NOTIFIED)
    with ctx.session() as session:
        item = session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == "1.2")).one()
        raw = mint_token(session, iid, "hos-data", item_id=item.id, step="submit", round_no=1,
                         now=ctx.clock.now(), expires_at=EXPIRES)
        session.commit()
        return raw, item.id


def test_hash_token_is_sha256_hex() -> None:
    """A token is stored under the SHA-256 hex digest of its UTF-8 text."""
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()


def test_minted_token_is_random_and_url_safe(ctx: EngineContext, minted: tuple[str, int]) -> None:
    """A raw token is 43 URL-safe characters (32 random bytes) and two mints differ."""
    raw, item_id = minted
    assert len(raw) == 43
    assert set(raw) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    with ctx.session() as session:
        other = mint_token(session, "demo-county-2023-06-26", "hos-data", item_id=item_id, step="submit",
                           round_no=1, now=ctx.clock.now(), expires_at=EXPIRES)
        session.commit()
    assert other != raw


def test_valid_token(ctx: EngineContext, minted: tuple[str, int]) -> None:
    """A freshly minted token checks as valid and returns its stored row."""
    raw, item_id = minted
    with ctx.session() as session:
        check = check_token(session, raw, now=ctx.clock.now())
    assert check.status is TokenStatus.VALID
    token = check.token
    assert token is not None
    assert (token.inspection_id, token.person_key, token.item_id, token.step, token.round) == (
        "demo-county-2023-06-26", "hos-data", item_id, "submit", 1)
    assert (token.created_at, token.expires_at, token.used_at) == (NOTIFIED, EXPIRES, None)


@pytest.mark.parametrize("raw", ["", "not-a-real-token", "x" * 43, "y" * 129])
def test_unknown_token(ctx: EngineContext, minted: tuple[str, int], raw: str) -> None:
    """A forged, empty or over-long token is unknown and returns no row."""
    with ctx.session() as session:
        check = check_token(session, raw, now=ctx.clock.now())
    assert (check.status, check.token) == (TokenStatus.UNKNOWN, None)


def test_altered_token_is_unknown(ctx: EngineContext, minted: tuple[str, int]) -> None:
    """Changing one character of a real token makes it unknown."""
    raw, _ = minted
    forged = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    with ctx.session() as session:
        assert check_token(session, forged, now=ctx.clock.now()).status is TokenStatus.UNKNOWN


def test_expired_token(ctx: EngineContext, clock: VirtualClock, minted: tuple[str, int]) -> None:
    """A token is valid up to a minute before its expiry and expired from the expiry time on."""
    raw, _ = minted
    clock.set(EXPIRES - timedelta(minutes=1))
    with ctx.session() as session:
        assert check_token(session, raw, now=clock.now()).status is TokenStatus.VALID
    clock.set(EXPIRES)
    with ctx.session() as session:
        check = check_token(session, raw, now=clock.now())
    assert check.status is TokenStatus.EXPIRED
    assert check.token is not None and check.token.person_key == "hos-data"
    clock.advance(timedelta(days=30))
    with ctx.session() as session:
        assert check_token(session, raw, now=clock.now()).status is TokenStatus.EXPIRED


def test_used_token(ctx: EngineContext, clock: VirtualClock, minted: tuple[str, int]) -> None:
    """A token with a used_at is used, and stays 'used' (not 'expired') after its expiry."""
    raw, _ = minted
    with ctx.session() as session:
        token = check_token(session, raw, now=clock.now()).token
        assert token is not None
        token.used_at = clock.now()
        session.commit()
    with ctx.session() as session:
        check = check_token(session, raw, now=clock.now())
    assert check.status is TokenStatus.USED
    assert check.token is not None and check.token.used_at == NOTIFIED
    clock.set(EXPIRES + timedelta(days=1))
    with ctx.session() as session:
        assert check_token(session, raw, now=clock.now()).status is TokenStatus.USED


def test_only_hash_is_stored(ctx: EngineContext, minted: tuple[str, int], tmp_path: Path) -> None:
    """The database row holds the token's hash and nowhere the raw token text."""
    raw, _ = minted
    with ctx.session() as session:
        rows = session.execute(text("SELECT * FROM action_tokens")).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert row["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert all(raw not in str(value) for value in row.values())
    # Nor in the database files themselves (SQLite in WAL mode keeps recent pages in the -wal file).
    for path in tmp_path.glob("engine.db*"):
        assert raw.encode() not in path.read_bytes()


def test_a_revoked_token_says_it_was_replaced(ctx: EngineContext, minted: tuple[str, int]) -> None:
    """Revoking the step's links marks the unused one replaced; a kept one stays valid."""
    raw, item_id = minted
    with ctx.session() as session:
        kept = mint_token(session, "demo-county-2023-06-26", "hos-data", item_id=item_id, step="submit", round_no=1,
                          now=ctx.clock.now(), expires_at=EXPIRES)
        assert revoke_tokens(session, item_id, step="submit", round_no=1, now=ctx.clock.now(), keep=(kept,)) == 1
        session.commit()
        assert check_token(session, raw, now=ctx.clock.now()).status is TokenStatus.REPLACED
        assert check_token(session, kept, now=ctx.clock.now()).status is TokenStatus.VALID


def test_a_sign_in_link_is_valid_once_then_used_expired_or_unknown(ctx: EngineContext, clock: VirtualClock) -> None:
    """A sign-in link is stored as its hash; valid until it expires; used once spent; a forged one is unknown."""
    now = clock.now()
    with ctx.session() as session:
        raw = mint_sign_in_link(session, "inspection-coordinator", now=now, expires_at=now + timedelta(minutes=15))
        session.commit()
        assert session.scalars(select(m.SignInLink.token_hash)).one() == hash_token(raw)
        assert check_sign_in_link(session, raw, now=now).status is TokenStatus.VALID
        assert check_sign_in_link(session, raw, now=now + timedelta(minutes=15)).status is TokenStatus.EXPIRED
        assert check_sign_in_link(session, raw[:-1] + "x", now=now).status is TokenStatus.UNKNOWN
        assert check_sign_in_link(session, "x" * 200, now=now).status is TokenStatus.UNKNOWN
        session.scalars(select(m.SignInLink)).one().used_at = now
        session.commit()
        assert check_sign_in_link(session, raw, now=now).status is TokenStatus.USED
