"""The personal link a request to /a/<token> comes with: checked once, by the dependency every such route takes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.tokens import TokenStatus, check_token


@dataclass(frozen=True)
class CheckedLink:
    """A presented link: the raw token, what it turned out to be, its row, and the session it was read in."""

    raw: str
    status: TokenStatus
    token: m.ActionToken | None
    session: Session


class LinkRefused(Exception):
    """The link cannot be used (unknown, expired or already used): the app answers with the page that says so."""

    def __init__(self, status: TokenStatus) -> None:
        super().__init__(status.value)
        self.status = status


def checked_link(raw: str, request: Request) -> Iterator[CheckedLink]:
    """Look the link up once, in a session the route uses until it has answered."""
    ctx: EngineContext = request.app.state.engine
    with ctx.session() as session:
        check = check_token(session, raw, now=ctx.clock.now())
        yield CheckedLink(raw=raw, status=check.status, token=check.token, session=session)


def valid_link(link: Annotated[CheckedLink, Depends(checked_link)]) -> CheckedLink:
    """Return the link if it may still be used for its step; else refuse it (LinkRefused)."""
    if link.status is not TokenStatus.VALID or link.token is None:
        raise LinkRefused(link.status)
    return link


# What a route takes: any presented link (to record a refused attempt), or a link valid for its step.
AnyLink = Annotated[CheckedLink, Depends(checked_link)]
ValidLink = Annotated[CheckedLink, Depends(valid_link)]
