"""The audit log of coordinator actions: who did what, when, through which door (the console or the command line)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext

CONSOLE = "console"
COMMAND_LINE = "command line"


@dataclass(frozen=True)
class Actor:
    """Who acts: a person id of partnership.yaml (or an operator's login), their name, and the door they used."""

    key: str
    name: str
    channel: str


def command_line_actor(ctx: EngineContext, by: str | None = None) -> Actor:
    """Return the actor of a command: the person `by` names, else the operator's login on this machine."""
    if by:
        try:
            return Actor(key=by, name=ctx.config.partnership.person(by).name, channel=COMMAND_LINE)
        except KeyError:
            pass
    login = getpass.getuser()
    return Actor(key=f"operator:{login}"[:80], name=f"operator {login}", channel=COMMAND_LINE)


def record(ctx: EngineContext, actor: Actor, action: str, what: str, *, inspection_id: str | None = None) -> None:
    """Write one action to the audit log (what is said in words and ids, never a child's details)."""
    with ctx.session() as session:
        session.add(m.AuditEntry(at=ctx.clock.now(), actor=actor.key, actor_name=actor.name, channel=actor.channel,
                                 action=action, inspection_id=inspection_id, what=what))
        session.commit()


def entries(ctx: EngineContext, *, limit: int = 500) -> list[m.AuditEntry]:
    """Return the latest audit entries, newest first."""
    with ctx.session() as session:
        return list(session.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit)))
