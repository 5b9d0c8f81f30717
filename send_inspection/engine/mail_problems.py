"""What a pass's mail failures mean for operators: which emails did not go, and whether trying again may help."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from send_inspection.calendar import to_london
from send_inspection.catalogue.phases import phase_label
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext

# The state name of the failed `mail-problem` task run when trying again may help (server down, busy), and when
# the server refused the emails for good (an address to correct); operators see it on the run.
MAY_PASS = "Mail problem"
REFUSED = "Mail refused"


@dataclass(frozen=True)
class FailedEmail:
    """One email a pass could not send: its ledger key, ledger status, tries so far and the server's answer."""

    key: str
    status: str
    attempts: int
    error: str


@dataclass(frozen=True)
class MailProblem:
    """The emails one pass of a phase could not send."""

    inspection_id: str
    phase: str
    emails: list[FailedEmail]

    @property
    def may_pass(self) -> bool:
        """Say whether trying again may help: some failure was one a server recovers from (not a refusal)."""
        return any(e.status != "refused" for e in self.emails)

    @property
    def state_name(self) -> str:
        """Return the name the failed task run shows."""
        return MAY_PASS if self.may_pass else REFUSED

    def message(self, *, retry_at: datetime | None) -> str:
        """Say in one paragraph what did not go, why, and what happens next."""
        errors = list(dict.fromkeys(e.error for e in self.emails))
        why = "; ".join(errors[:3]) + (f"; and {len(errors) - 3} more" if len(errors) > 3 else "")
        text = f"MAIL PROBLEM in {phase_label(self.phase)} ({self.inspection_id}): {len(self.emails)} email(s) not " \
               f"sent ({why})."
        if self.may_pass and retry_at is not None:
            return f"{text} Trying again at {to_london(retry_at):%H:%M:%S} London time; nothing is lost: each " \
                   f"email goes once, when the server takes it."
        return f"{text} The server refused them: correct the address or the mail settings; the next pass sends " \
               f"them."

    def markdown(self, *, retry_at: datetime | None) -> str:
        """Return the message and a table of the emails (ledger keys: ids only) for an artifact."""
        rows = "\n".join(f"| `{e.key}` | {e.status} | {e.attempts} | {e.error} |" for e in self.emails)
        return f"**{self.message(retry_at=retry_at)}**\n\n| email (ledger key) | status | tries | error |\n" \
               f"|---|---|---|---|\n{rows}\n"


def mail_problem(ctx: EngineContext, inspection_id: str, phase: str, failures: list[str]) -> MailProblem:
    """Read the ledger rows of a pass's failures ("key: error", as the pass reports them)."""
    split = [f.split(": ", 1) for f in failures]
    keys = [parts[0] for parts in split]
    with ctx.session() as session:
        rows = {r.key: r for r in session.scalars(select(m.EmailRecord).where(m.EmailRecord.key.in_(keys)))}
    emails = []
    for key, parts in zip(keys, split, strict=True):
        row = rows.get(key)
        error = parts[1] if len(parts) > 1 else ""
        emails.append(FailedEmail(key=key, status=row.status if row else "failed", attempts=row.attempts if row else 0,
                                  error=error))
    return MailProblem(inspection_id=inspection_id, phase=phase, emails=emails)
