"""After fieldwork on a virtual clock, once per outcome: who was asked for what, when, in working days."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from send_inspection.rehearsal.after_fieldwork import rehearse_after_fieldwork
from send_inspection.rehearsal.driver import RehearsalReport

INSPECTION = "demo-county-2023-11-13"
LANO = ("nadia.pemberton@demo-county.example",)


@pytest.fixture(scope="module", params=[("full", 1), ("full", 2), ("full", 3), ("monitoring", 2)],
                ids=["outcome-1", "outcome-2", "outcome-3", "monitoring-ineffective"])
def after(request: pytest.FixtureRequest, prefect_harness: None,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int, RehearsalReport, Path]:
    """Rehearse feedback to publication for one outcome of a full or a monitoring inspection."""
    kind, outcome = request.param
    workdir = tmp_path_factory.mktemp(f"after-{kind}-{outcome}")
    return kind, outcome, rehearse_after_fieldwork(workdir, outcome=outcome, kind=kind), workdir


def asks(report: RehearsalReport, step: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """Return (time, item ref, recipients) of the first asks for `step` in the report phases."""
    found = []
    for e in report.emails:
        parts = e.key.removeprefix(f"{INSPECTION}:").split(":")
        if e.template == "action-ask" and len(parts) == 5 and parts[2] == step and parts[4] == "ask":
            found.append((e.at, parts[1], e.recipients))
    return found


def test_the_response_is_due_ten_working_days_after_the_draft_over_christmas(
        after: tuple[str, int, RehearsalReport, Path]) -> None:
    """Draft on Mon 18 Dec: comments asked at once, the response due Thu 4 Jan 2024 (25, 26 Dec and 1 Jan skipped)."""
    _, _, report, _ = after
    assert asks(report, "receive")[0][:2] == ("2023-12-01T16:00+00:00", "draft-report")
    comments = asks(report, "comment")
    assert [ref for _, ref, _ in comments] == ["comments-council-dir-inclusion", "comments-council-hos-send",
                                               "comments-icb-icb-send-lead", "comments-icb-icb-commissioning"]
    assert {at for at, _, _ in comments} == {"2023-12-18T10:00+00:00"}
    signoffs = asks(report, "approve")
    assert [(ref, to) for _, ref, to in signoffs[:2]] == [
        ("signoff-council", ("helen.ashcombe@demo-county.example",)),
        ("signoff-icb", ("elaine.fairbrother@demo-icb.nhs.example",))]
    [(_, ref, to)] = [a for a in asks(report, "upload") if a[1] == "response"]
    assert to == LANO
    answered = {ref: at for at, _, ref, what, code in report.answers if code == 200}
    assert answered["response"] < "2024-01-04T17:00"


def test_the_final_report_goes_to_the_forum_and_each_partner_publishes_it(
        after: tuple[str, int, RehearsalReport, Path]) -> None:
    """On Mon 15 Jan the final report is recorded, the forum gets it, both publishers are asked and confirm."""
    _, _, report, _ = after
    forum = [e for e in report.emails if e.template == "final_report_forum"]
    assert [(e.at, e.recipients) for e in forum] == [("2024-01-15T10:00+00:00",
                                                      ("parent-carer-forum@demo-county.example",))]
    publish = asks(report, "publish")
    assert [(ref, to) for _, ref, to in publish] == [
        ("publish-council", ("imran.qureshi@demo-county.example",)),
        ("publish-icb", ("hannah.merriweather@demo-icb.nhs.example",)),
        ("strategic-plan", LANO)]  # the improvement lead is the LANO in Demo County
    assert report.phases["report"] == "done"


def test_each_outcome_has_its_follow_up(after: tuple[str, int, RehearsalReport, Path]) -> None:
    """Outcome 3 (or a monitoring inspection's ineffective action) starts the priority action plan; others do not."""
    kind, outcome, report, _ = after
    plans = [a for a in asks(report, "submit") if a[1].startswith("action-")]
    if outcome == (2 if kind == "monitoring" else 3):
        assert [ref for _, ref, _ in plans] == ["action-1", "action-2"]
        assert report.phases["action-plan"] == "done"
    else:
        assert not plans and "action-plan" not in report.phases
    feedback = [e for e in report.emails if e.template == "feedback_embargoed"]
    assert len(feedback) == 1 and "nadia.pemberton@demo-county.example" in feedback[0].recipients


def test_the_deadlines_and_the_next_inspection_are_recorded_in_working_days_and_months(
        after: tuple[str, int, RehearsalReport, Path]) -> None:
    """Milestones: response Thu 4 Jan, publication Mon 22 Jan, and the next inspection by outcome (18/36/60 months)."""
    kind, outcome, _, workdir = after
    with sqlite3.connect(workdir / "rehearsal.db") as db:
        due = dict(db.execute("select name, due_at from milestones").fetchall())
    assert due["draft_response_due"].startswith("2024-01-04 17:00")
    assert due["report_comments_due"].startswith("2023-12-27 17:00")  # 5 working days: 19-22, 27 Dec
    assert due["report_published_due"].startswith("2024-01-22 17:00")
    if kind == "monitoring":  # what follows is for the inspectorate's letter to say
        assert not {"next_full_inspection_expected", "monitoring_inspection_expected"} & set(due)
        return
    expected = {1: ("next_full_inspection_expected", "2029-01-15 10:00"),
                2: ("next_full_inspection_expected", "2027-01-15 10:00"),
                3: ("monitoring_inspection_expected", "2025-07-15 09:00")}[outcome]  # BST in July
    assert due[expected[0]].startswith(expected[1])
