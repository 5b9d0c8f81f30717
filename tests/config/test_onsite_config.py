"""onsite.yaml, the parent carer forum and the survey reminder: each mistake named by file, line and field."""

from __future__ import annotations

from pathlib import Path

from send_inspection.config.models import PartnershipConfig
from tests.config.test_loader import DEMO, broken, demo, edit, problem_at, problems_of  # noqa: F401 - fixtures


def test_the_demo_says_why_each_logistics_task_is_there(demo: PartnershipConfig) -> None:  # noqa: F811
    """Every logistics task of the demo has an owner, a deadline and its reason; the forum is a party by its id."""
    assert [t.id for t in demo.onsite.logistics] == ["set-up-call", "base-room", "parking", "passes", "refreshments",
                                                     "it-equipment", "case-records", "welcome-pack"]
    assert all(t.reason.strip() for t in demo.onsite.logistics)
    forum = demo.partnership.parties()[-1]
    assert (forum.id, forum.email, forum.escalates_to) == ("parent-carer-forum",
                                                           "parent-carer-forum@demo-county.example", "pcf-liaison")


def test_an_unknown_task_owner_is_named_at_its_line(broken: Path) -> None:  # noqa: F811
    """A logistics owner that is not a person id names onsite.yaml's line and the field."""
    line = edit(broken, "onsite.yaml", "owner: facilities-officer", "owner: facilities-oficer")
    problem = problem_at(problems_of(broken), "logistics[1].owner")
    assert (problem.file.endswith("onsite.yaml"), problem.line) == (True, line)
    assert problem.message == "'facilities-oficer' is not a person id (did you mean 'facilities-officer'?)"


def test_a_task_due_at_no_milestone_is_named(broken: Path) -> None:  # noqa: F811
    """A task due at a milestone timeline.yaml does not have is reported at its field, with a suggestion."""
    edit(broken, "onsite.yaml", "due: welcome_pack_due", "due: welcome_pack")
    message = problem_at(problems_of(broken), "logistics[7].due").message
    assert message == "'welcome_pack' is not a milestone (did you mean 'welcome_pack_due'?)"


def test_a_task_without_its_reason_is_named(broken: Path) -> None:  # noqa: F811
    """Every logistics task says why it is there: one without its reason is refused at the task."""
    edit(broken, "onsite.yaml", "    reason: The inspection team develops a welcome pack for the inspectors (Roles).\n",
         "")
    assert problem_at(problems_of(broken), "logistics[7].reason").message == "required field 'reason' is missing"


def test_an_appendix_h_attendee_must_be_a_person_or_the_forum(broken: Path) -> None:  # noqa: F811
    """An attendee who is neither a person nor the forum is named; the forum's id is accepted."""
    line = edit(broken, "onsite.yaml", "icb-ceo, parent-carer-forum,", "icb-ceo, parent-carer-frum,")
    problem = problem_at(problems_of(broken), "opening_meeting.attendees[3]")
    assert problem.line == line
    assert problem.message.startswith("'parent-carer-frum' is not a person id (or the parent carer forum's id)")


def test_the_forum_cannot_take_a_persons_id_and_its_liaison_must_be_one(broken: Path) -> None:  # noqa: F811
    """The forum's id clashing with a person's, and an unknown liaison officer, are named in partnership.yaml."""
    edit(broken, "partnership.yaml", "  id: parent-carer-forum\n", "  id: pcf-liaison\n")
    edit(broken, "partnership.yaml", "  liaison: pcf-liaison\n", "  liaison: pcf-liason\n")
    edit(broken, "onsite.yaml", "icb-ceo, parent-carer-forum,", "icb-ceo, pcf-liaison,")
    problems = problems_of(broken)
    assert "give the forum its own id" in problem_at(problems, "parent_carer_forum.id").message
    assert problem_at(problems, "parent_carer_forum.liaison").message.startswith("'pcf-liason' is not a person id")


def test_turning_the_survey_reminder_on_needs_a_reason_and_a_duration(broken: Path) -> None:  # noqa: F811
    """The reminder to families is off unless turned on with its reason; `before` must be a duration."""
    start = "survey_reminder:\n  send: true\n  before: \"1d\"\n"
    text = (broken / "partnership.yaml").read_text()
    reason = text[text.index(start) + len(start):].split("\n\n")[0]
    edit(broken, "partnership.yaml", start + reason, "survey_reminder:\n  send: true\n  before: \"a day\"\n")
    assert "'a day' is not a duration" in problem_at(problems_of(broken), "survey_reminder.before").message
    edit(broken, "partnership.yaml", "before: \"a day\"", "before: \"1d\"")
    message = problem_at(problems_of(broken), "survey_reminder").message
    assert message == "say why in 'reason': the reminder to families is turned on"
    assert DEMO.is_dir()
