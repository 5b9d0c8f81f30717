"""Rehearsals: the real phase flows on a virtual clock with scripted staff answering through the web app."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from send_inspection.mail.outbox import outbox_id_for, read_outbox_message
from send_inspection.rehearsal.driver import RehearsalReport, rehearse
from send_inspection.rehearsal.scenarios import demo_behaviours
from send_inspection.rehearsal.staff import Behaviour
from tests.conftest import NOTIFIED
from tests.helpers import assert_reads_as_reviewed

GOLDEN = Path(__file__).with_name("demo_county.golden")
INSPECTION = "demo-county-2023-06-26"
DAY2_ITEMS = ["child-level-data", "providers-settings", "1.1", "1.2", "1.3", "1.4", "1.5", "health-template"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the working folder of the demo rehearsal."""
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def demo(prefect_harness: None, demo_dir: Path) -> RehearsalReport:
    """Rehearse the shipped Demo County scenario once."""
    return rehearse(demo_dir, notified_at=NOTIFIED, behaviours=demo_behaviours())


@pytest.fixture(scope="module")
def away_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the working folder of the directors-away rehearsal."""
    return tmp_path_factory.mktemp("away")


@pytest.fixture(scope="module")
def directors_away(prefect_harness: None, away_dir: Path) -> RehearsalReport:
    """Rehearse day 2 with the director doing the final check and his deputy both absent."""
    away = {"deputy-dcs": Behaviour(absent=True), "head-improvement": Behaviour(absent=True)}
    return rehearse(away_dir, notified_at=NOTIFIED, behaviours=away, until=timedelta(days=1, hours=6))


def lines(report: RehearsalReport) -> list[str]:
    """Render the report's emails as golden-file lines: wall time, key without the inspection id, recipients."""
    return [f"{e.at[5:16].replace('T', ' ')}  {e.key.removeprefix(INSPECTION + ':')}  {','.join(e.recipients)}"
            for e in report.emails]


def sent(report: RehearsalReport, key: str) -> list[tuple[str, tuple[str, ...]]]:
    """Return (time, recipients) of each email with this key (without the inspection id)."""
    return [(e.at, e.recipients) for e in report.emails if e.key == f"{INSPECTION}:{key}"]


def test_demo_rehearsal_sends_exactly_the_reviewed_emails(demo: RehearsalReport) -> None:
    """The demo scenario sends exactly the hand-reviewed list of emails, to the same people, at the same times."""
    golden = [line for line in GOLDEN.read_text().splitlines() if line and not line.startswith("#")]
    assert lines(demo) == golden


def test_demo_rehearsal_finishes_day2_on_the_second_morning_and_day5_on_day5(demo: RehearsalReport) -> None:
    """The day-2 uploads asked at 07:30 (not 19:10) end day 2 at 08:15 on day 2; day 5 starts then and ends on day 5
    (the tracked-cases row asked once the LANO has reviewed the last child's documents)."""
    assert {k: v for k, v in demo.phases.items() if not k.startswith("case:")} == {
        "notification": "done", "day2": "done", "day5": "done", "bulletin": "waiting", "kit": "waiting",
        "onsite": "waiting"}
    assert [at for at, _ in sent(demo, "day2:1.2:upload:r1:ask")] == ["2023-06-27T07:30+01:00"]
    assert sent(demo, "day2:phase_complete")[0][0] == "2023-06-27T08:15+01:00"
    assert {at for at, _ in sent(demo, "day5:2.1:submit:r1:ask")} == {"2023-06-27T08:15+01:00"}
    assert sent(demo, "day5:tracked-cases:submit:r1:ask")[0][0] == "2023-06-29T18:30+01:00"
    assert sent(demo, "day5:phase_complete")[0][0] == "2023-06-30T09:40+01:00"
    uploads = {ref for _, _, ref, what, code in demo.answers if what == "upload:confirmed" and code == 200}
    assert len(uploads) == 30 and set(DAY2_ITEMS) <= uploads
    assert not [e for e in demo.emails if e.template == "late_report"]


def test_absent_staff_are_covered_by_their_deputies(demo: RehearsalReport) -> None:
    """An absent evidence lead's deputy is escalated to at the deadline and the deputy's answer is the one recorded."""
    assert sent(demo, "day2:child-level-data:submit:r1:escalate-deputy") == [
        ("2023-06-26T17:00+01:00", ("owen.garside@demo-county.example",))]
    answered = [(at, who) for at, who, ref, what, _ in demo.answers if ref == "child-level-data" and what.startswith(
        "submit")]
    assert answered == [("2023-06-26T17:45+01:00", "owen.garside@demo-county.example")]
    assert not [a for a in demo.answers if a[1] == "ben.hollinshead@demo-county.example"]


def test_a_returned_item_goes_back_to_its_evidence_lead_for_round_two(demo: RehearsalReport) -> None:
    """Returning 1.3 at the accountable step asks its evidence lead again in round 2, then the chain resumes."""
    assert sent(demo, "day2:1.3:submit:r2:ask") == [
        ("2023-06-26T10:25+01:00", ("nadia.pemberton@demo-county.example",))]
    steps = [what for _, _, ref, what, _ in demo.answers if ref == "1.3"]
    assert steps == ["submit:submitted", "approve:returned", "submit:submitted", "approve:approved",
                     "check:approved", "upload:confirmed"]


def test_no_email_is_sent_in_quiet_hours(demo: RehearsalReport, directors_away: RehearsalReport) -> None:
    """Asks, reminders, escalations and notices all go between 07:30 and 19:00 London time: none is urgent here."""
    for report in (demo, directors_away):
        assert report.emails
        assert [e.at for e in report.emails if not "07:30" <= e.at[11:16] < "19:00"] == []


def test_a_missed_check_escalates_to_the_deputy_then_up_the_chain(directors_away: RehearsalReport) -> None:
    """With the director and his deputy away, the check is escalated at 11:00 to the deputy, at 12:00 to the DCS
    (but for the health template's, which the Lead Evidence Officer gives)."""
    assert sent(directors_away, "day2:health-template:check:r1:ask") == [
        ("2023-06-26T10:30+01:00", ("tom.blakeley@demo-county.example",))]
    for ref in DAY2_ITEMS[:-1]:
        assert sent(directors_away, f"day2:{ref}:check:r1:escalate-deputy") == [
            ("2023-06-27T11:00+01:00", ("nadia.pemberton@demo-county.example",))]
        assert sent(directors_away, f"day2:{ref}:check:r1:escalate-up-1") == [
            ("2023-06-27T12:00+01:00", ("helen.ashcombe@demo-county.example",))]


def test_the_phase_deadline_reports_what_is_late_once(directors_away: RehearsalReport, away_dir: Path) -> None:
    """At 12:00 on day 2 one late report names the late items to the coordinator, the LANO and the director."""
    assert sent(directors_away, "day2:late_report") == [
        ("2023-06-27T12:00+01:00", ("leah.marchetti@demo-county.example", "nadia.pemberton@demo-county.example",
                                    "marcus.fenwick@demo-county.example"))]
    # Day 1 waits to remind families of the surveys on Friday; the days before the inspectors arrive go on.
    assert directors_away.phases == {"notification": "waiting", "day2": "done", "day5": "waiting",
                                     "bulletin": "waiting", "kit": "waiting", "onsite": "waiting"}
    assert [at for at, _ in sent(directors_away, "day2:phase_complete")] == ["2023-06-27T14:30+01:00"]
    text = read_outbox_message(away_dir / "outbox", outbox_id_for(f"{INSPECTION}:day2:late_report")).text or ""
    assert_reads_as_reviewed(away_dir / "outbox", f"{INSPECTION}:day2:late_report", kind="late_report",
                             at="2023-06-27T12:00+01:00")
    assert_reads_as_reviewed(away_dir / "outbox", f"{INSPECTION}:day2:1.1:check:r1:escalate-up-1",
                             kind="action-escalate-up-1", at="2023-06-27T12:00+01:00")
    assert len([line for line in text.splitlines() if line.startswith("- ")]) == len(DAY2_ITEMS)
    assert "\n- Child-level data: waiting for the director check (" in text  # its title: the ref is the engine's
    assert "\n- 1.1 Local Area Partnership structure: waiting for the director check (" in text
    assert "Uploaded or explained so far: 0 of 8." in " ".join(text.split())


def test_the_data_leads_lists_become_the_return(demo: RehearsalReport, demo_dir: Path) -> None:
    """The uploaded child-level and providers lists were accepted and turned into returns with counts."""
    for ref, children in (("child-level-data", 300), ("providers-settings", 0)):
        folder = demo_dir / "uploads" / INSPECTION / "child-data" / ref
        assert (folder / f"{ref}-return.xlsx").exists()
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["all"]["children"] == children


def case_steps(report: RehearsalReport) -> dict[str, list[str]]:
    """Return, per tracked case id, the keys of the emails its phase sent (without the phase prefix)."""
    steps: dict[str, list[str]] = {}
    for e in report.emails:
        rest = e.key.removeprefix(f"{INSPECTION}:")
        if rest.startswith("case:"):
            case, _, tail = rest.removeprefix("case:").partition(":")
            steps.setdefault(case, []).append(tail)
    return steps


def test_six_tracked_cases_are_worked_to_the_end_by_day_5(demo: RehearsalReport, demo_dir: Path) -> None:
    """Six cases chosen at 17:00 on day 2 all finish; each document is reviewed by the LANO before 17:00 day 5."""
    cases = [k.removeprefix("case:") for k in demo.phases if k.startswith("case:")]
    assert len(cases) == 6 and all(demo.phases[f"case:{c}"] == "done" for c in cases)
    with sqlite3.connect(demo_dir / "rehearsal.db") as db:
        states = dict(db.execute("select child_id, status from tracked_cases").fetchall())
        ap = [c for (c,) in db.execute("select child_id from tracked_cases where alternative_provision")]
        reviews = db.execute("select count(*), max(d.decided_at) from decisions d join register_items i "
                             "on i.id = d.item_id where d.step = 'review' and d.outcome = 'approved'").fetchone()
    assert set(states.values()) == {"complete"} and len(ap) == 1
    assert reviews[0] == 6 * 6 + 1 and reviews[1] < "2023-06-30 16:00"  # 17:00 on day 5, London
    steps = case_steps(demo)
    first = steps[cases[0]]
    assert first[0] == f"{cases[0]}:practitioners:identify:r1:ask" and first[1].startswith("setting-lead:")
    for case in cases:
        asked = {k.split(":")[1] for k in steps[case] if k.startswith(case)}
        assert {"audit", "chronology", "pen-portrait", "assessments", "plans", "discussions", "briefing",
                "practitioners-meeting"} <= asked
        assert ("commissioning-agreement" in asked) == (case in ap)


def test_a_declining_family_means_records_only_and_no_family_meeting(demo: RehearsalReport) -> None:
    """The family of the last case declines: the LANO records the inspectors' answer and no family meeting is asked."""
    declined = [k.removeprefix("case:") for k in demo.phases if k.startswith("case:")][-1]
    answers = [(ref, what) for _, _, ref, what, _ in demo.answers if ref.startswith(f"{declined}:")]
    assert (f"{declined}:family", "agree:declined") in answers
    assert (f"{declined}:inspectors", "inform:records") in answers
    assert not [k for k in case_steps(demo)[declined] if "family-meeting" in k]
    lano = [r for at, k, r in ((e.at, e.key, e.recipients) for e in demo.emails) if k.endswith(
        f"{declined}:inspectors:inform:r1:ask")]
    assert lano == [("nadia.pemberton@demo-county.example",)]


def test_operators_see_each_case_by_id_and_no_childs_name(demo: RehearsalReport, demo_dir: Path) -> None:
    """Each case has its own table artifact; no artifact holds a name or date of birth from the lists."""
    import pandas as pd
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    keys = {a.key for a in artifacts}
    cases = [k.removeprefix("case:") for k in demo.phases if k.startswith("case:")]
    assert {f"{INSPECTION}-case-{c.lower()}" for c in cases} <= keys
    assert f"{INSPECTION}-tracked-cases" in keys
    secrets: set[str] = set()
    for path in (demo_dir / "child-data").glob("*.csv"):
        frame = pd.read_csv(path, dtype=str)
        first, last, born = (next((c for c in frame.columns if c in names), None) for names in (
            {"Forename", "First Name"}, {"Surname", "Last Name"}, {"DOB", "Date of Birth"}))
        if first and last and born:
            secrets |= set(frame[first] + " " + frame[last]) | set(frame[last]) | set(frame[born])
    assert len(secrets) > 300
    text = " ".join(str(a.data) + " " + str(a.description or "") for a in artifacts)
    assert not [secret for secret in secrets if secret in text]


def test_a_late_practitioner_is_reminded_and_the_case_still_finishes(demo: RehearsalReport) -> None:
    """The practitioner who answers a day late is reminded before each deadline; his case still finishes by day 5."""
    late = "owen.castell@demo-county.example"
    reminders = sorted({e.at for e in demo.emails if late in e.recipients and ":remind-" in e.key})
    assert reminders == ["2023-06-28T14:00+01:00", "2023-06-28T16:00+01:00",
                         "2023-06-29T14:00+01:00", "2023-06-29T16:00+01:00"]
    his = [(at, ref, what) for at, who, ref, what, code in demo.answers if who == late and code == 200]
    assert ("2023-06-28T17:45+01:00", "DC1176263:family", "agree:agreed") in his
    assert {at for at, ref, what in his if what == "submit:submitted"} == {"2023-06-29T17:45+01:00"}
    assert demo.phases["case:DC1176263"] == "done"
