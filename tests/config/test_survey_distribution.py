"""The survey distribution's config: sending mailboxes and limits, and list addresses that cannot be sent to."""

from __future__ import annotations

from pathlib import Path

from tests.config.test_loader import broken, edit, problem_at, problems_of  # noqa: F401 - `broken` is a fixture


def test_a_day_limit_below_one_message_is_reported_at_its_line(broken: Path) -> None:  # noqa: F811
    """recipients_per_day under max_recipients_per_message names the file, the line and the field."""
    line = edit(broken, "partnership.yaml", "  recipients_per_day: 10000", "  recipients_per_day: 400")
    problem = problem_at(problems_of(broken), "survey_distribution.recipients_per_day")
    assert problem.file.endswith("partnership.yaml") and problem.line == line
    assert problem.message == ("400 is fewer than max_recipients_per_message (500): no full message could ever be "
                               "sent")


def test_a_survey_address_that_cannot_be_sent_to_is_reported_at_its_line(broken: Path) -> None:  # noqa: F811
    """An address a mail header could not carry (a quote in it) is refused at load, not left out when sending."""
    line = edit(broken, "partnership.yaml", "      - send-parents-newsletter@demo-county.example",
                '      - "send\\"parents@demo-county.example"')
    problem = problem_at(problems_of(broken), "survey_lists.parents_carers.addresses[1]")
    assert problem.line == line and "cannot be sent to" in problem.message


def test_an_unknown_limit_is_reported_with_its_field(broken: Path) -> None:  # noqa: F811
    """A misspelt limit is an unknown field, named where it is."""
    line = edit(broken, "partnership.yaml", "  messages_per_minute: 30", "  messages_a_minute: 30")
    problem = problem_at(problems_of(broken), "survey_distribution.messages_a_minute")
    assert problem.line == line
