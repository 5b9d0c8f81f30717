"""Fieldwork rehearsal, week 3 on a virtual clock: 40 slots, 10 requests, a red debrief, five KIT summaries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from send_inspection.rehearsal.driver import RehearsalReport
from send_inspection.rehearsal.fieldwork import CHANGED_SLOT, RED_SLOT, rehearse_fieldwork
from tests.conftest import NOTIFIED

INSPECTION = "demo-county-2023-06-26"
CORE_GROUP = ("samantha.cole-brierley@demo-county.example", "margaret.quinlan@demo-icb.nhs.example",
              "simon.oduya@demo-icb.nhs.example", "nadia.pemberton@demo-county.example",
              "owen.garside@demo-county.example", "leah.marchetti@demo-county.example",
              "hannah.merriweather@demo-icb.nhs.example", "tom.blakeley@demo-county.example")
STAFF_LISTS = ("all-council-staff@demo-county.example", "all-icb-staff@demo-icb.nhs.example",
               "all-community-health-staff@demo-icb.nhs.example")


@pytest.fixture(scope="module")
def week3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the working folder of the fieldwork rehearsal."""
    return tmp_path_factory.mktemp("week3")


@pytest.fixture(scope="module")
def week3(prefect_harness: None, week3_dir: Path) -> RehearsalReport:
    """Rehearse week 3 of the demo inspection once."""
    return rehearse_fieldwork(week3_dir, notified_at=NOTIFIED)


def emails(report: RehearsalReport, template: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """Return (time, key without the inspection id, recipients) of the emails with `template`."""
    return [(e.at, e.key.removeprefix(f"{INSPECTION}:"), e.recipients) for e in report.emails
            if e.template == template]


def test_every_slot_is_invited_and_the_changed_slot_updates_exactly_its_attendees(week3: RehearsalReport) -> None:
    """40 invitations go at the start; moving one slot on Tuesday sends one update to its two attendees only."""
    invitations = emails(week3, "slot_invitation")
    assert len(invitations) == 41
    assert {at for at, key, _ in invitations if ":s0:" in key} == {"2023-07-10T07:30+01:00"}
    updates = [(at, key, to) for at, key, to in invitations if ":s1:" in key]
    assert updates == [("2023-07-11T08:00+01:00", f"fieldwork:calendar:{CHANGED_SLOT}:s1:REQUEST:cht-therapies,"
                        "hos-participation", ("rebecca.stannard@demo-icb.nhs.example",
                                              "chloe.trevethan@demo-county.example"))]


def test_every_slot_is_debriefed_and_the_red_one_goes_at_once(week3: RehearsalReport) -> None:
    """Each of the 40 debriefers is asked when the slot ends; the red debrief reaches the director and comms once."""
    asks = [key for _, key, _ in emails(week3, "action-ask") if ":debrief:" in key]
    assert len(asks) == 40
    red = emails(week3, "debrief_red")
    assert red == [("2023-07-12T12:35+01:00", f"fieldwork:red:{RED_SLOT}",
                    ("samantha.cole-brierley@demo-county.example", "send-inspection.comms@demo-county.example"))]


def test_ten_requests_are_worked_one_late_one_explained_one_next_day(week3: RehearsalReport, week3_dir: Path) -> None:
    """Eight requests from the inspectors and two from debriefs are all sent; the 16:30 one is due 10:00 next day."""
    assert [k for k in week3.phases if k.startswith("request:")] == [f"request:{n}" for n in range(1, 11)]
    assert all(state == "done" for phase, state in week3.phases.items() if phase != "report")
    assert week3.phases["report"] == "waiting"  # after fieldwork: the draft report is awaited
    with sqlite3.connect(week3_dir / "rehearsal.db") as db:
        rows = db.execute("select r.number, r.source, r.received_at, r.due_at, i.outcome from evidence_requests r "
                          "join register_items i on i.ref = 'request-' || r.number order by r.number").fetchall()
    assert len(rows) == 10 and sum(r[1] == "debrief" for r in rows) == 2
    late_arrival = next(r for r in rows if r[2].startswith("2023-07-10 15:30"))  # 16:30 London
    assert late_arrival[3].startswith("2023-07-11 09:00")  # 10:00 London the next day
    assert sorted(r[4] for r in rows).count("explained") == 1
    assert [key for _, key, _ in emails(week3, "request_late")] == ["request:9:late"]


def test_five_kit_summaries_go_at_1730_to_the_core_group(week3: RehearsalReport) -> None:
    """Each fieldwork day at 17:30 the core group gets one summary; fieldwork ends after Friday's."""
    kits = emails(week3, "kit_summary")
    assert [at for at, _, _ in kits] == [f"2023-07-{d}T17:30+01:00" for d in (10, 11, 12, 13, 14)]
    assert all(to == CORE_GROUP for _, _, to in kits)
    assert week3.phases["fieldwork"] == "done" and week3.finished_at.startswith("2023-07-14T17:3")


def test_the_staff_bulletin_goes_monday_wednesday_and_friday_to_all_staff(week3: RehearsalReport) -> None:
    """Week 3 has three bulletins at 08:30 to the partnership's staff lists, and the phase ends after Friday's."""
    bulletins = emails(week3, "staff_bulletin")
    assert [(at, key) for at, key, _ in bulletins] == [
        (f"2023-07-{d}T08:30+01:00", f"bulletin:2023-07-{d}") for d in (10, 12, 14)]
    assert all(to == STAFF_LISTS for _, _, to in bulletins)
    assert week3.phases["bulletin"] == "done"
