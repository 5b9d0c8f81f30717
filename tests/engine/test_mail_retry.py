"""The mail retry policy: which delays are tried in the process, and when a waiting phase tries again."""

from __future__ import annotations

from datetime import datetime, timedelta

from send_inspection.calendar import LONDON
from send_inspection.engine.mail_retry import MailFailures, MailRetry
from send_inspection.mail.transport import MailTransportError

NOW = datetime(2023, 6, 26, 9, 0, tzinfo=LONDON)


def test_the_settings_delays_are_tried_in_process_but_the_last() -> None:
    """10, 60, 300 seconds: tried again in the process after 10 s and 60 s, then the phase wakes every 300 s."""
    policy = MailRetry.from_seconds((10, 60, 300))
    assert policy.in_process == (timedelta(seconds=10), timedelta(seconds=60))
    assert policy.then_every == timedelta(seconds=300)
    assert MailRetry.from_seconds((5,)) == MailRetry(in_process=(), then_every=timedelta(seconds=5))


def test_only_a_failure_that_may_pass_is_tried_again() -> None:
    """A refused email gives no retry time; a server that is down gives one, the policy's `then_every` later."""
    mail = MailFailures(MailRetry(then_every=timedelta(minutes=2)))
    with mail.guard("demo:day2:1.1:submit:r1:ask"):
        raise MailTransportError("550 no such mailbox", retryable=False)
    assert mail.retry_at(NOW) is None and len(mail.failures) == 1
    with mail.guard("demo:day2:1.2:submit:r1:ask"):
        raise MailTransportError("connection refused", retryable=True)
    assert mail.retry_at(NOW) == NOW + timedelta(minutes=2)
