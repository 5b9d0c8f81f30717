"""The coordinator's actions: each does its engine's work, asks the runner to act now, and writes one audit line;
a refused one changes nothing and writes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from send_inspection.cases.selection import SelectionRefused
from send_inspection.childdata.importer import ChildData, ImportedList
from send_inspection.childdata.items import data_folder
from send_inspection.childdata.reading import ROW
from send_inspection.childdata.store import store_lists
from send_inspection.clock import VirtualClock
from send_inspection.coordinator import actions
from send_inspection.coordinator.audit import COMMAND_LINE, CONSOLE, Actor, command_line_actor, entries
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.notification import SurveyLinks
from send_inspection.engine.start_time import NotificationTimeRefused
from send_inspection.report.feedback import FeedbackRefused
from tests.conftest import NOTIFIED
from tests.coordinator.fake_runner import RecordingRunner

LEAH = Actor(key="inspection-coordinator", name="Leah Marchetti", channel=CONSOLE)
IID = "demo-county-2023-06-26"
TIMETABLE = """Slot,Kind,Title,Date,Start,End,Location,Attendees,Debriefer,Focus
W3-1,leaders-meeting,Meeting with leaders,2023-07-10,10:00,11:00,Demo House,dcs;dir-inclusion,dir-inclusion,
W3-2,staff-meeting,Practitioners,2023-07-10,14:00,15:00,Teams,hos-send;hos-education,hos-send,
"""


def audit(ctx: EngineContext) -> list[tuple[str, str, str, str]]:
    """Return the audit log, oldest first: who, door, action, what."""
    return [(e.actor, e.channel, e.action, e.what) for e in reversed(entries(ctx))]


@pytest.fixture
def iid(ctx: EngineContext, runner: RecordingRunner) -> str:
    """Start the demo inspection through the action, at the time of the call."""
    return actions.start_inspection(ctx, runner, LEAH, notified_at=NOTIFIED).inspection_id


def test_starting_opens_the_inspection_starts_its_run_and_is_audited(ctx: EngineContext, runner: RecordingRunner,
                                                                     iid: str) -> None:
    """The inspection is opened at once, its notification run started once, and the start is in the audit log."""
    assert iid == IID and actions.inspection_exists(ctx, IID)
    assert runner.calls == [("start", IID)]
    assert audit(ctx) == [("inspection-coordinator", CONSOLE, "start inspection",
                           "started the full inspection notified at Mon 26 Jun 2023 09:00")]


def test_a_start_eleven_days_back_is_refused_and_changes_nothing(ctx: EngineContext, runner: RecordingRunner) -> None:
    """Without `deliberate` nothing is opened, started or audited; with it, the audit says it was deliberate."""
    with pytest.raises(NotificationTimeRefused):
        actions.start_inspection(ctx, runner, LEAH, notified_at=NOTIFIED - timedelta(days=11))
    assert (runner.calls, audit(ctx), actions.inspection_exists(ctx, "demo-county-2023-06-15")) == ([], [], False)
    actions.start_inspection(ctx, runner, LEAH, notified_at=NOTIFIED - timedelta(days=11), deliberate=True)
    assert audit(ctx)[0][3].endswith("(deliberately back- or forward-dated)")


def test_survey_links_with_the_inspectors_close_time_move_the_close(ctx: EngineContext, runner: RecordingRunner,
                                                                   iid: str) -> None:
    """The links are kept, the `surveys_close` milestone takes the inspectors' time, the run is given them."""
    closes = NOTIFIED.replace(month=7, day=4, hour=12)
    links = SurveyLinks(children_young_people="https://s.example/c", parents_carers="https://s.example/p",
                        practitioners="https://s.example/w", closes_at=closes.replace(tzinfo=None))
    actions.give_survey_links(ctx, runner, LEAH, iid, links)
    with ctx.session() as session:
        close = session.scalars(select(m.Milestone.due_at).where(m.Milestone.name == "surveys_close")).one()
        kept = session.get(m.Inspection, iid).survey_links
    assert close == closes and "closes_at" not in kept
    assert runner.calls[-1] == ("links", iid)
    assert audit(ctx)[-1][3] == ("gave the survey links (children_young_people, parents_carers, practitioners); "
                                 "the surveys close Tue 04 Jul 12:00")


@pytest.mark.parametrize(("family", "closes", "says"), [
    ("https://s.example/p", NOTIFIED - timedelta(days=1), "closes_at: the surveys cannot close before the"),
    (None, None, "parents_carers: a full inspection has the survey for parents and carers too"),
])
def test_links_that_cannot_be_used_are_refused(ctx: EngineContext, runner: RecordingRunner, iid: str,
                                               family: str | None, closes: object, says: str) -> None:
    """A close before the call, or a full inspection without the family survey: refused naming the field; nothing
    is kept and the run is not given them."""
    links = SurveyLinks(children_young_people="https://s.example/c", parents_carers=family,
                        practitioners="https://s.example/w", closes_at=closes)
    with pytest.raises(ValueError, match=says):
        actions.give_survey_links(ctx, runner, LEAH, iid, links)
    assert ("links", iid) not in runner.calls
    with ctx.session() as session:
        assert session.get(m.Inspection, iid).survey_links is None


def test_selecting_cases_starts_them_and_audits_ids_only(ctx: EngineContext, runner: RecordingRunner, iid: str) -> None:
    """Known case ids become tracked cases whose phases start; an unknown entry refuses the lot, unaudited."""
    frames = {kind: pd.DataFrame({ROW: [2, 3], "child_id": ids, "broad_area": ["cognition and learning"] * 2,
                                  "setting_type": ["mainstream school"] * 2, "out_of_area": [False, False]})
              for kind, ids in (("ehc_plans", ["E1", "E2"]), ("sen_support", ["S1", "S2"]))}
    data = ChildData(date(2023, 6, 26), {k: ImportedList(k, f"{k}.csv", f, []) for k, f in frames.items()})
    store_lists(data, data_folder(ctx, iid, "child-level-data"))
    with pytest.raises(SelectionRefused):
        actions.select_cases(ctx, runner, LEAH, iid, ["E1", "Jane Doe"])
    assert [a for _, _, a, _ in audit(ctx)] == ["start inspection"]
    selection = actions.select_cases(ctx, runner, LEAH, iid, ["E1", "S1"])
    assert (selection.coverage.selected, selection.started) == (2, ["case:E1", "case:S1"])
    assert runner.calls[-1] == ("nudge", iid)
    assert audit(ctx)[-1][2:] == ("select cases", "selected 2 case(s) to track: E1, S1")


def test_a_timetable_is_previewed_then_imported_only_as_previewed(ctx: EngineContext, runner: RecordingRunner,
                                                                  iid: str, tmp_path: Path) -> None:
    """The preview lists the invitations; a confirmation for another preview is refused and saves nothing."""
    path = tmp_path / "timetable.csv"
    path.write_text(TIMETABLE)
    preview = actions.preview_timetable_file(ctx, iid, path)
    assert [(x.slot_id, x.to) for x in preview.of("REQUEST", first=True)] == [
        ("W3-1", ("dcs", "dir-inclusion")), ("W3-2", ("hos-send", "hos-education"))]
    with pytest.raises(actions.PreviewOutdated):
        actions.import_timetable(ctx, runner, LEAH, iid, path, confirmed="not-this-preview")
    with ctx.session() as session:
        assert session.query(m.FieldworkSlot).count() == 0
    changes = actions.import_timetable(ctx, runner, LEAH, iid, path, confirmed=preview.digest)
    assert len(changes.added) == 2
    assert audit(ctx)[-1][3] == ("imported the timetable timetable.csv: 2 slots; 2 new, 0 changed, 0 cancelled; "
                                 "2 calendar message(s) to go")
    moved = tmp_path / "moved.csv"
    moved.write_text(TIMETABLE.replace("14:00,15:00", "15:00,16:00").replace("W3-1,", "W3-X,"))
    again = actions.preview_timetable_file(ctx, iid, moved)
    assert [(x.slot_id, x.method, x.sequence) for x in again.messages] == [
        ("W3-X", "REQUEST", 0), ("W3-2", "REQUEST", 1), ("W3-1", "CANCEL", 1)]


def test_requests_feedback_owners_absences_and_links_are_each_audited(ctx: EngineContext, clock: VirtualClock,
                                                                      runner: RecordingRunner, iid: str) -> None:
    """Every other action writes one plain line (names, refs, numbers; never the request's or feedback's text)."""
    from send_inspection.engine.annex_a import reconcile_annex_a
    from send_inspection.engine.phase_rows import ensure_phase

    ensure_phase(ctx, iid, "day2")
    reconcile_annex_a(ctx, iid, "day2")
    actions.record_additional_request(ctx, runner, LEAH, iid, asked="The SEND strategy's action plan",
                                      inspector="Ms Example", head_of_service="hos-send")
    actions.mark_away(ctx, runner, LEAH, iid, "hos-data", from_at=NOTIFIED,
                      until_at=NOTIFIED.replace(day=28, hour=17))
    actions.change_item_owner(ctx, runner, LEAH, iid, "1.1", field="evidence_lead", person_key="hos-data")
    actions.give_fresh_link(ctx, LEAH, iid, "1.3", "head-improvement")
    with pytest.raises(FeedbackRefused):
        actions.record_inspection_feedback(ctx, runner, LEAH, iid, outcome=4, effective="a", improve="b",
                                           priority_actions=[])
    actions.record_inspection_feedback(ctx, runner, LEAH, iid, outcome=2, effective="Joint working",
                                       improve="Waiting times", priority_actions=[])
    whats = [w for _, _, _, w in audit(ctx)[1:]]
    assert whats[:4] == [
        "recorded additional evidence request 1 from Ms Example for Catherine Lowther",
        "marked Ben Hollinshead away from Mon 26 Jun 09:00 until Wed 28 Jun 17:00; Owen Garside is asked instead",
        "made Ben Hollinshead the evidence lead of 1.1 instead of Owen Garside (asked now; the earlier links stopped "
        "working)",
        "sent Nadia Pemberton a fresh link to 1.3 (submit); 1 earlier link(s) stopped working",
    ]
    assert whats[4].startswith("recorded the feedback: outcome 2 (The local area partnership’s arrangements lead to")
    assert not any("SEND strategy" in w or "Joint working" in w for w in whats)


def test_the_command_line_acts_as_the_person_named_or_as_the_operator(ctx: EngineContext) -> None:
    """`--by` a person id audits them by name; otherwise the operator's login, marked as the command line."""
    assert command_line_actor(ctx, "head-improvement") == Actor("head-improvement", "Nadia Pemberton", COMMAND_LINE)
    operator = command_line_actor(ctx, None)
    assert operator.key.startswith("operator:") and operator.channel == COMMAND_LINE

