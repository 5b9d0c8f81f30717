"""A pass's mail failures as operators see them: which emails, whether trying again may help, when it is tried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from send_inspection.engine.mail_problems import MAY_PASS, REFUSED, mail_problem
from send_inspection.engine.phase_rows import ensure_phase
from send_inspection.mail.ledger import MailLedger
from send_inspection.mail.smtp import SmtpTransport
from tests.conftest import NOTIFIED
from tests.helpers import Collector, free_port


def _smtp(ctx: EngineContext, port: int) -> None:
    ctx.transport = SmtpTransport("127.0.0.1", port, timeout=5)
    ctx.ledger = MailLedger(ctx._factory, ctx.transport)  # type: ignore[attr-defined]


@pytest.fixture
def refusing() -> Iterator[Collector]:
    """Run a real SMTP server that refuses every recipient for good (550)."""
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    collector.port = port  # type: ignore[attr-defined]
    try:
        yield collector
    finally:
        controller.stop()


def _day2_pass(ctx: EngineContext) -> tuple[str, list[str]]:
    iid = open_inspection(ctx, NOTIFIED, mode="live")
    ensure_phase(ctx, iid, "day2")
    return iid, reconcile_annex_a(ctx, iid, "day2").mail_failures


def test_a_mail_server_that_is_down_is_a_problem_that_may_pass(ctx: EngineContext) -> None:
    """Every day-2 ask refused at connection: the problem may pass and says when the emails are tried again."""
    _smtp(ctx, free_port())  # nothing listens there: connection refused
    iid, failures = _day2_pass(ctx)
    problem = mail_problem(ctx, iid, "day2", failures)
    assert len(problem.emails) == 8 and {e.status for e in problem.emails} == {"failed"}
    assert (problem.may_pass, problem.state_name) == (True, MAY_PASS)
    retry_at = ctx.clock.now() + timedelta(seconds=300)
    message = problem.message(retry_at=retry_at)
    assert message.startswith(f"MAIL PROBLEM in Annex A day 2 ({iid}): 8 email(s) not sent (smtp 127.0.0.1:")
    assert "connection refused" in message and "Trying again at 09:05:00 London time" in message
    markdown = problem.markdown(retry_at=retry_at)
    assert f"| `{iid}:day2:1.1:submit:r1:ask` | failed | 1 |" in markdown


def test_recipients_refused_for_good_are_a_problem_for_a_person(ctx: EngineContext, refusing: Collector) -> None:
    """A server refusing the recipients (550) is not tried again by itself: the message says what to correct."""
    refusing.refuse_rcpt = {address: "550 no such user" for address in (
        "owen.garside@demo-county.example", "ben.hollinshead@demo-county.example")}
    _smtp(ctx, refusing.port)  # type: ignore[attr-defined]
    iid, failures = _day2_pass(ctx)
    problem = mail_problem(ctx, iid, "day2", failures)
    assert problem.emails and {e.status for e in problem.emails} == {"refused"}
    assert (problem.may_pass, problem.state_name) == (False, REFUSED)
    assert "The server refused them: correct the address" in problem.message(retry_at=None)

