"""The whole inspection on a virtual clock: notification on Mon 13 Nov 2023 to the report published in January."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from send_inspection.calendar import to_london
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.synthetic import generate
from send_inspection.config.loader import calendar_for, default_config_dir, load_config
from send_inspection.engine.send_window import quiet_until
from send_inspection.rehearsal.after_fieldwork import NOTIFIED
from send_inspection.rehearsal.driver import CHILD_LISTS, DEMO_CHILDREN, RehearsalReport, child_data_removed
from send_inspection.rehearsal.email_samples import email_samples, read_samples
from send_inspection.rehearsal.fieldwork import CHANGED_SLOT, RED_SLOT
from send_inspection.rehearsal.privacy_scan import Needles, date_forms, prefect_database_url, scan_files
from send_inspection.rehearsal.whole_inspection import (
    InspectionSummary,
    LateAnswer,
    read_golden,
    rehearse_whole_inspection,
    write_golden,
)

GOLDEN = Path(__file__).with_name("whole_inspection.golden")
# One email of each kind the rehearsal sends, as received, read and reviewed (see test_one_email_of_each_kind...).
EMAILS = Path(__file__).with_name("whole_inspection_emails")

INSPECTION = "demo-county-2023-11-13"
CORE_GROUP = ("samantha.cole-brierley@demo-county.example", "margaret.quinlan@demo-icb.nhs.example",
              "simon.oduya@demo-icb.nhs.example", "nadia.pemberton@demo-county.example",
              "owen.garside@demo-county.example", "leah.marchetti@demo-county.example",
              "hannah.merriweather@demo-icb.nhs.example", "tom.blakeley@demo-county.example")
JASMINE = "jasmine.fairweather@demo-icb.nhs.example"
# The KIT days the scripted core group agrees: Tuesday and Thursday of week 1, Monday, Wednesday, Friday of week 2,
# every day of week 3.
KIT_DAYS = ("11-14", "11-16", "11-20", "11-22", "11-24", "11-27", "11-28", "11-29", "11-30", "12-01")
STAFF_LISTS = ("all-council-staff@demo-county.example", "all-icb-staff@demo-icb.nhs.example",
               "all-community-health-staff@demo-icb.nhs.example")


@pytest.fixture(scope="module")
def whole_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the working folder of the whole-inspection rehearsal."""
    return tmp_path_factory.mktemp("whole")


@pytest.fixture(scope="module")
def whole(prefect_harness: None, whole_dir: Path) -> tuple[RehearsalReport, InspectionSummary]:
    """Rehearse the whole demo inspection once (outcome 2), as `send-inspection rehearse --whole 2` does."""
    with child_data_removed(whole_dir):
        return rehearse_whole_inspection(whole_dir, outcome=2)


@pytest.fixture(scope="module")
def report(whole: tuple[RehearsalReport, InspectionSummary]) -> RehearsalReport:
    """Return what the rehearsal sent and decided."""
    return whole[0]


@pytest.fixture(scope="module")
def summary(whole: tuple[RehearsalReport, InspectionSummary]) -> InspectionSummary:
    """Return the rehearsal's figures."""
    return whole[1]


def emails(report: RehearsalReport, template: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """Return (time, key without the inspection id, recipients) of the emails with `template`."""
    return [(e.at, e.key.removeprefix(f"{INSPECTION}:"), e.recipients) for e in report.emails
            if e.template == template]


def test_every_phase_runs_to_its_end_on_the_real_flows(summary: InspectionSummary, report: RehearsalReport) -> None:
    """All 24 phases end done: day 1, days 2 and 5, keeping in touch, the days before the inspectors arrive, six
    cases, fieldwork, ten requests, the bulletin, the report."""
    assert summary.phases == report.phases
    assert sorted(p.split(":")[0] for p in summary.phases) == sorted(
        ["notification", "day2", "day5", "bulletin", "kit", "onsite", "fieldwork", "report"] + ["case"] * 6
        + ["request"] * 10)
    assert set(summary.phases.values()) == {"done"}
    assert report.finished_at.startswith("2024-01-15")  # the publishers confirm on the day the final report came


def test_the_summary_is_the_reviewed_one(summary: InspectionSummary) -> None:
    """Emails by template, answers by step, late answers and phase ends equal the committed golden summary."""
    assert summary.golden_lines() == read_golden(GOLDEN)


def test_nothing_goes_in_the_quiet_hours_but_the_urgent_red_debrief(report: RehearsalReport) -> None:
    """Of 571 emails only one went between 19:00 and 07:30 or on a day off: the red debrief given at 19:40."""
    config = load_config(default_config_dir())
    rules, calendar = config.timeline.chasing.quiet_hours, calendar_for(config)
    sent_at = [(datetime.fromisoformat(e.at), e) for e in report.emails]
    quiet = [(e.at, e.key.removeprefix(f"{INSPECTION}:")) for moment, e in sent_at
             if quiet_until(moment, rules=rules, calendar=calendar) > moment]
    assert len(report.emails) == 571
    assert quiet == [("2023-11-29T19:40+00:00", f"fieldwork:red:{RED_SLOT}")]
    assert rules.urgent == ["debrief_red"]


def test_one_email_of_each_kind_reads_as_reviewed(report: RehearsalReport, whole_dir: Path) -> None:
    """Each kind's first email (headers, plain text, HTML) is the one read and reviewed in whole_inspection_emails/.

    After a change made on purpose: send-inspection rehearse --whole 2 --write-emails
    tests/rehearsal/whole_inspection_emails, then read every changed file as the person it is for would.
    """
    samples = email_samples(report, whole_dir / "outbox")
    reviewed = read_samples(EMAILS)
    assert sorted(samples) == sorted(reviewed)
    for kind, text in samples.items():
        assert text == reviewed[kind], kind


def test_a_written_golden_reads_back_as_the_summary_lines(tmp_path: Path) -> None:
    """The file the CLI writes reads back as the summary's lines, its header left out."""
    small = InspectionSummary(emails_by_template={"action-ask": 2}, answers_by_step={"submit:submitted": 1},
                              register_items={"day2": 1}, phases={"day2": "done"},
                              late_answers=[LateAnswer(ref="1.1", step="submit", decided_by="hos-send",
                                                       late_by=timedelta(minutes=15))])
    write_golden(small, tmp_path / "summary.golden")
    assert read_golden(tmp_path / "summary.golden") == small.golden_lines() == [
        "email action-ask 2", "answer submit:submitted 1", "items day2 1", "late 1.1 submit hos-send 900s",
        "phase day2 done"]


def test_the_register_holds_thirty_items_six_children_forty_four_meetings_and_ten_requests(
        summary: InspectionSummary) -> None:
    """The figures the rehearsal is built to: 30 Annex A items, 6 tracked children, 44 debriefs (4 in week 2),
    10 requests, and the keeping-in-touch items (the agreement, 8 members, 10 meetings, 4 actions)."""
    items = summary.register_items
    assert items["day2"] + items["day5"] == 30
    # 40 meetings in week 3, and in week 2 the inspectors' three virtual meetings and the forum's
    assert items["fieldwork"] == 44 and items["request"] == 10 and items["kit"] == 1 + 8 + 10 + 4
    assert items["case"] >= 6 * 11  # each tracked child's steps (one declining family adds the records step)
    assert summary.answers_by_step["agree:declined"] == 1 and summary.answers_by_step["inform:records"] == 1


def test_late_and_absent_staff_are_reminded_escalated_and_reported(summary: InspectionSummary) -> None:
    """The absent head of service's deputy is escalated to; late answers are listed with how late they were."""
    sent = summary.emails_by_template
    assert sent["action-escalate-deputy"] >= 5 and sent["action-remind-3h"] >= 1 and sent["action-remind-1h"] >= 1
    late = {(a.ref, a.step) for a in summary.late_answers}
    assert ("request-7", "submit") in late  # the forum liaison answers after 18:00
    assert all(a.late_by.total_seconds() > 0 for a in summary.late_answers)
    assert not any(a.decided_by == "hos-data" for a in summary.late_answers)  # absent: never answers at all
    text = summary.describe()
    assert "answers after their deadline" in text and "Phases: 24 of 24 done" in text


def test_the_timetable_arrives_friday_and_one_slot_moves_on_tuesday(report: RehearsalReport) -> None:
    """4 invitations go when the week-2 timetable is imported on its Monday (the forum's meeting among them) and 40
    when the whole one is, merged (the week-2 slots unchanged, the partnership's own meetings left be); moving one
    slot sends one update to its attendees only."""
    invitations = [e for e in emails(report, "slot_invitation") if e[1].startswith("fieldwork:")]
    assert len(invitations) == 45
    assert sorted({(at, key.split(":")[2][:2]) for at, key, _ in invitations if ":s0:" in key}) == [
        ("2023-11-20T09:00+00:00", "W2"), ("2023-11-24T12:00+00:00", "W3")]
    assert [(at, to) for at, key, to in invitations if "W2-WED-FORUM" in key] == [
        ("2023-11-20T09:00+00:00", ("parent-carer-forum@demo-county.example", "megan.ashdown@demo-county.example",
                                    "chloe.trevethan@demo-county.example"))]
    assert not [key for _, key, _ in emails(report, "slot_invitation") if key.split(":")[-2] == "CANCEL"]
    assert [(at, key) for at, key, _ in invitations if ":s1:" in key] == [
        ("2023-11-28T08:00+00:00", f"fieldwork:calendar:{CHANGED_SLOT}:s1:REQUEST:cht-therapies,hos-participation")]


def test_fieldwork_debriefs_requests_kit_and_bulletins(report: RehearsalReport, whole_dir: Path) -> None:
    """Every slot is debriefed, the red one goes at once, ten requests are worked, and each KIT meeting's summary goes
    once the organiser records it, on the days the core group agreed, to those invited."""
    assert len([k for _, k, _ in emails(report, "action-ask") if ":debrief:" in k]) == 44
    assert [(k, to) for _, k, to in emails(report, "debrief_red")] == [
        (f"fieldwork:red:{RED_SLOT}", ("samantha.cole-brierley@demo-county.example",
                                       "send-inspection.comms@demo-county.example"))]
    with sqlite3.connect(whole_dir / "rehearsal.db") as db:
        rows = db.execute("select r.number, r.source, r.received_at, r.due_at, i.outcome from evidence_requests r "
                          "join register_items i on i.ref = 'request-' || r.number order by r.number").fetchall()
    assert len(rows) == 10 and sum(r[1] == "debrief" for r in rows) == 2
    late_arrival = next(r for r in rows if r[2].startswith("2023-11-27 16:30"))
    assert late_arrival[3].startswith("2023-11-28 10:00")  # asked at 16:30: due at 10:00 the next day
    assert [r[4] for r in rows].count("explained") == 1
    kits = emails(report, "kit_summary")
    assert [at for at, _, _ in kits] == [f"2023-{d}T18:50+00:00" for d in KIT_DAYS]
    assert [to for _, _, to in kits] == [(*CORE_GROUP, JASMINE) if at.startswith("2023-11-22") else CORE_GROUP
                                         for at, _, _ in kits]
    bulletins = emails(report, "staff_bulletin")
    assert [at[:10] for at, _, _ in bulletins] == ["2023-11-15", "2023-11-17", "2023-11-20", "2023-11-22",
                                                   "2023-11-24", "2023-11-27", "2023-11-29", "2023-12-01"]
    assert all(to == STAFF_LISTS for _, _, to in bulletins)


def test_weeks_one_and_two_have_their_meetings_and_people_outside_partnership_yaml_answer(
        summary: InspectionSummary, report: RehearsalReport) -> None:
    """KIT meetings in weeks 1 to 3, the tracked children's briefings and tracking meetings in week 2 beside the
    inspectors' virtual meetings; the representative named from outside partnership.yaml is invited to her meeting
    and answers the action raised there; the SENCo the inspectors named by address is invited."""
    assert summary.meetings == {"kit week 1": 2, "kit week 2": 3, "kit week 3": 5, "case week 2": 17,
                                "timetable week 2": 4, "timetable week 3": 40}
    assert summary.named_people == {"case named": 8, "case invited": 8, "case answered": 5,
                                    "kit named": 1, "kit invited": 1, "kit answered": 1,
                                    "timetable named": 1, "timetable invited": 1, "timetable answered": 0}
    to_jasmine = [(at, key) for at, key, to in ((e.at, e.key.removeprefix(f"{INSPECTION}:"), e.recipients)
                                               for e in report.emails) if JASMINE in to]
    assert sorted(to_jasmine) == [("2023-11-13T12:30+00:00", "kit:calendar:KIT-2023-11-22:s1:REQUEST:kit-1"),
                                  ("2023-11-22T18:50+00:00", "kit:kit-2023-11-22-1:act:r1:ask"),
                                  ("2023-11-22T18:50+00:00", "kit:summary:2023-11-22")]
    assert ("2023-11-22T19:35+00:00", JASMINE, "kit-2023-11-22-1", "act:done", 200) in report.answers
    senco = [key for _, key, to in emails(report, "slot_invitation")
             if "grace.okafor@demo-valley-school.example" in to]
    assert senco == ["fieldwork:calendar:W2-WED-1:s0:REQUEST:hos-inclusion,timetable-1"]
    text = summary.describe()
    assert "Meetings on the timetable: week 1: kit 2; week 2: case 17, kit 3, timetable 4; week 3: kit 5, " \
           "timetable 40" in text
    assert "People named outside partnership.yaml: case 8 (8 invited, 5 answered), kit 1 (1 invited, 1 answered), " \
           "timetable 1 (1 invited, 0 answered)" in text


def test_the_core_group_agrees_its_kit_meetings_and_a_late_action_is_chased(summary: InspectionSummary,
                                                                            report: RehearsalReport) -> None:
    """The coordinator records the day-1 agreement during the meeting; the practitioner who owns a KIT action a day
    late is reminded twice and then whoever named him is asked, who does it."""
    assert ("2023-11-13T11:45+00:00", "leah.marchetti@demo-county.example", "core-group-agreement",
            "settle:settled", 200) in report.answers
    chased = [(at, key.split(":")[-1], to) for at, key, to in emails(report, "action-ask") +
              emails(report, "action-remind-3h") + emails(report, "action-remind-1h") +
              emails(report, "action-escalate-up-1") if ":kit-2023-11-14-2:" in key]
    assert sorted(chased) == [
        ("2023-11-14T18:50+00:00", "ask", ("owen.castell@demo-county.example",)),
        ("2023-11-15T13:00+00:00", "remind-3h", ("owen.castell@demo-county.example",)),
        ("2023-11-15T15:00+00:00", "remind-1h", ("owen.castell@demo-county.example",)),
        ("2023-11-15T17:00+00:00", "escalate-up-1", ("fiona.hargreaves@demo-county.example",))]
    assert summary.kit == {"meetings": 10, "summaries": 10, "representatives": 1, "actions": 4, "actions open": 0,
                           "action chasers": 3}


def test_the_tracked_cases_row_goes_only_after_the_last_childs_documents_are_reviewed(
        summary: InspectionSummary) -> None:
    """Nobody is asked for the Annex A tracked-cases row before the LANO reviewed the last child's documents (Thursday
    of week 1, 18:30): it is asked then, and uploaded by the director at 09:40 the next morning (the steps after the
    submission fall in the quiet hours and wait for 07:30)."""
    row = summary.tracked_cases_row
    assert row == {"last-review": "2023-11-16T18:30+00:00", "asked": "2023-11-16T18:30+00:00",
                   "uploaded": "2023-11-17T09:40+00:00"}
    assert "Annex A tracked-cases row: last-review 2023-11-16T18:30+00:00, asked 2023-11-16T18:30+00:00" \
        in summary.describe()


def test_the_new_tasks_reach_prefect_by_id_and_role_only(whole: tuple[RehearsalReport, InspectionSummary]) -> None:
    """The keeping-in-touch artifacts show refs, owner ids, roles and figures; no issue raised, no note, and nobody
    named outside partnership.yaml (by name or address) is in any artifact or any of Prefect's tables."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from send_inspection.rehearsal.privacy_scan import flush_prefect, scan_artifacts, scan_database

    keys = [f"{INSPECTION}-kit-{part}" for part in ("meetings", "asks", "status")]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    assert sorted({a.key for a in found}) == sorted(keys)
    rows = json.loads(next(a for a in found if a.key.endswith("-kit-asks")).data)
    assert rows and {tuple(row) for row in rows} == {("ref", "asks", "owner", "due", "state")}
    assert [row["ref"] for row in rows] == [f"kit-2023-11-{ref}" for ref in ("14-1", "14-2", "22-1", "28-1")]
    assert {row["owner"] for row in rows} == {"—"} and {row["state"] for row in rows} == {"done"}  # all done
    secrets = [(text, label) for label, texts in {
        "issue": ["Send the therapies caseload note", "Book the week-3 base room",
                  "briefing notes to the practitioners"],
        "notes": ["Everyone is well"],
        "named": ["Jasmine Fairweather", "jasmine.fairweather@", "Grace Okafor", "grace.okafor@", "Owen Castell",
                  "owen.castell@", "Priya Nandakumar", "Helen Garside"]}.items() for text in texts]
    needles = Needles(secrets)
    flush_prefect()
    hits = [*scan_artifacts(needles).hits, *scan_database(prefect_database_url(), needles).hits]
    assert [str(h) for h in hits] == []


def test_after_fieldwork_the_response_and_publication_follow_the_feedback(report: RehearsalReport,
                                                                        whole_dir: Path) -> None:
    """Feedback goes embargoed on the Friday; the response is due 4 Jan 2024; the forum gets the final report."""
    assert [(at, k) for at, k, _ in emails(report, "feedback_embargoed")] == [
        ("2023-12-01T16:00+00:00", "report:feedback")]
    assert [(at, to) for at, _, to in emails(report, "final_report_forum")] == [
        ("2024-01-15T10:00+00:00", ("parent-carer-forum@demo-county.example",))]
    with sqlite3.connect(whole_dir / "rehearsal.db") as db:
        due = dict(db.execute("select name, due_at from milestones").fetchall())
    assert due["draft_response_due"].startswith("2024-01-04 17:00")
    assert due["next_full_inspection_expected"].startswith("2027-01-15")  # outcome 2: three years on
    assert "monitoring_inspection_expected" not in due


def test_the_rehearsal_leaves_no_childs_list_behind(whole: tuple[RehearsalReport, InspectionSummary], whole_dir: Path,
                                                   demo_child_data: ChildDataConfig, tmp_path: Path) -> None:
    """When it ends, the rehearsal's children's lists and the returns made from them are gone: no fictional child's
    full name or date of birth is in any file it leaves; its emails and its database stay."""
    assert (whole_dir / "outbox").is_dir() and (whole_dir / "rehearsal.db").is_file()
    assert not (whole_dir / CHILD_LISTS).exists()
    assert list((whole_dir / "uploads").glob("*/child-data")) == []
    # The same fictional lists again (the same seed), for the names and birth dates to look for.
    lists = generate(tmp_path, children=DEMO_CHILDREN, seed=1, as_of=to_london(NOTIFIED).date(), config=demo_child_data)
    needles: list[tuple[str, str]] = []
    for kind in ("ehc_plans", "sen_support"):
        heads = demo_child_data.columns(kind)  # type: ignore[arg-type]
        with dict(lists)[kind].open(encoding="utf-8") as handle:  # type: ignore[index]
            for row in csv.DictReader(handle):
                child = row[heads["child_id"]]
                needles.append((f"{row[heads['first_name']]} {row[heads['last_name']]}", f"{child} name"))
                born = datetime.strptime(row[heads["date_of_birth"]], "%d/%m/%Y").date()
                needles += [(form, f"{child} date of birth") for form in date_forms(born) if len(form) >= 10]
    assert len(needles) > DEMO_CHILDREN
    assert scan_files(tmp_path, Needles(needles)).hits  # the needles find the children in lists like those
    scan = scan_files(whole_dir, Needles(needles), store="the rehearsal's folder")
    assert scan.scanned["the rehearsal's folder:files"] > 400
    assert [str(hit) for hit in scan.hits] == []


def test_the_days_before_the_inspectors_arrive_are_done_one_late_task_escalated(summary: InspectionSummary,
                                                                                report: RehearsalReport) -> None:
    """Every logistics task, headline, attendee, the presentation, the list and the forum's views are done before
    day 11; the parking, left by its owner, goes to his deputy after its deadline and is done late."""
    tasks = {t.ref: t for t in summary.onsite}
    arrival = datetime(2023, 11, 27, 9, 0, tzinfo=to_london(tasks["logistics-parking"].due_at).tzinfo)
    assert len(tasks) == 27 and all(t.done_at < arrival for t in tasks.values())
    late = [t for t in summary.onsite if t.done_at > t.due_at]
    assert [(t.ref, t.decided_by, t.escalated) for t in late] == [("logistics-parking", "business-delivery", True)]
    assert tasks["attend-dir-family"].outcome == "representative"
    assert [(at, to) for at, _, to in emails(report, "opening_presentation")] == [
        ("2023-11-14T07:30+00:00", ("helen.ashcombe@demo-county.example", "elaine.fairbrother@demo-icb.nhs.example"))]
    text = summary.describe()
    assert "logistics-parking done by business-delivery" in text and "after escalation" in text
    assert "Appendix H: 10 attendees (1 represented)" in text and "met the inspectors Wed 22 Nov 10:00" in text


def test_the_forum_cascades_the_survey_and_families_are_reminded_before_it_closes(report: RehearsalReport) -> None:
    """The forum is sent the family survey with the links, and families and the forum a reminder the Friday before
    the Monday close."""
    assert [(at, k) for at, k, _ in emails(report, "survey_forum")] == [
        ("2023-11-13T10:00+00:00", "notification:survey-forum"),
        ("2023-11-17T09:00+00:00", "notification:survey-forum:reminder")]
    assert sorted(k for _, k, _ in emails(report, "survey_reminder")) == [
        "notification:survey-reminder:children_young_people", "notification:survey-reminder:parents_carers"]
    assert {at[:16] for at, _, _ in emails(report, "survey_reminder")} == {"2023-11-17T09:00"}
