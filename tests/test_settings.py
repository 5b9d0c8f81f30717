"""Settings of the dead-run lease and the mail retry delays: defaults, given values, refusals naming the variable."""

from __future__ import annotations

import pytest

from send_inspection.settings import load_settings, mail_retry_delays


def test_the_lease_and_the_mail_retry_delays_have_defaults() -> None:
    """Without the variables a phase's lease is 90 s, a Pending run's grace five leases, and failed mail is tried
    after 10 s, 60 s, then every 300 s."""
    settings = load_settings({})
    assert (settings.phase_lease, settings.pending_grace) == (90.0, 450.0)
    assert settings.mail_retry_delays == (10.0, 60.0, 300.0)


def test_the_lease_its_pending_grace_and_the_mail_retry_delays_are_read_from_the_environment() -> None:
    """The test stack's short lease, grace and delays are taken as given; the grace follows the lease unless set."""
    settings = load_settings({"SEND_INSPECTION_PHASE_LEASE": "15", "SEND_INSPECTION_MAIL_RETRY_DELAYS": "1, 2,3"})
    assert (settings.phase_lease, settings.pending_grace, settings.mail_retry_delays) == (15.0, 75.0, (1.0, 2.0, 3.0))
    given = load_settings({"SEND_INSPECTION_PHASE_LEASE": "15", "SEND_INSPECTION_PENDING_GRACE": "30"})
    assert given.pending_grace == 30.0
    assert mail_retry_delays({"SEND_INSPECTION_MAIL_RETRY_DELAYS": "5"}) == (5.0,)


@pytest.mark.parametrize(("env", "says"), [
    ({"SEND_INSPECTION_PHASE_LEASE": "2"}, "SEND_INSPECTION_PHASE_LEASE=2: a lease shorter than 3 seconds"),
    ({"SEND_INSPECTION_PHASE_LEASE": "soon"}, "SEND_INSPECTION_PHASE_LEASE='soon': expected a number of seconds"),
    ({"SEND_INSPECTION_PENDING_GRACE": "60"}, "SEND_INSPECTION_PENDING_GRACE=60: shorter than the lease \\(90 s\\)"),
    ({"SEND_INSPECTION_MAIL_RETRY_DELAYS": "10,later"}, "SEND_INSPECTION_MAIL_RETRY_DELAYS='10,later': expected"),
    ({"SEND_INSPECTION_MAIL_RETRY_DELAYS": "10,0"}, "every delay must be more than 0 seconds"),
])
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str], says: str) -> None:
    """A lease too short to tell a live run from a dead one, or delays that are not positive numbers, are refused."""
    with pytest.raises(ValueError, match=says):
        load_settings(env)
