"""Tests for the `send-inspection` command line: timeline (JSON and table), bad input and check-config."""

from __future__ import annotations

import io
import json
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from send_inspection import PROJECT_ROOT
from send_inspection.calendar import LONDON
from send_inspection.cli import _parse_when, main
from send_inspection.clock import VirtualClock
from send_inspection.db import models as m
from send_inspection.engine.phase_rows import begin_wait
from tests.conftest import NOTIFIED
from tests.test_timeline import EXPECTED_JUNE_2023

DEMO = PROJECT_ROOT / "config" / "demo-county"

# Notified Monday 26 June 2023 09:00 BST; day 1 is the notification day, working days only.
#   day 1 Mon 26 Jun, day 2 Tue 27 Jun, day 4 Thu 29 Jun, day 5 Fri 30 Jun, day 6 Mon 3 Jul,
#   day 11 Mon 10 Jul, day 15 Fri 14 Jul (feedback meeting at 14:00 in timeline.yaml).
# 14 working days after Fri 14 Jul: 17-21 Jul (5), 24-28 Jul (10), 31 Jul-3 Aug (14) -> Thu 3 Aug.
# 30 working days after Fri 14 Jul: ... 7-11 Aug (20), 14-18 Aug (25), 21-25 Aug (30) -> Fri 25 Aug.
# The summer bank holiday (Mon 28 Aug 2023) falls the next working day, outside the 30.
EXPECTED_JSON = EXPECTED_JUNE_2023  # the same timeline, as the CLI prints it

# milestone -> (inspection day column, "when" column) of the table output.
EXPECTED_TABLE = {
    "evidence_leads_initial_due": ("1", "Mon 26 Jun 2023 17:00 BST"),
    "health_template_contacts_due": ("2", "Tue 27 Jun 2023 08:00 BST"),
    "health_template_due": ("2", "Tue 27 Jun 2023 09:00 BST"),
    "accountable_review_initial_due": ("2", "Tue 27 Jun 2023 10:00 BST"),
    "director_check_initial_due": ("2", "Tue 27 Jun 2023 11:00 BST"),
    "annex_a_initial_due": ("2", "Tue 27 Jun 2023 12:00 BST"),
    "child_level_data_due": ("2", "Tue 27 Jun 2023 12:00 BST"),
    "providers_list_due": ("2", "Tue 27 Jun 2023 12:00 BST"),
    "cases_selected_expected": ("2", "Tue 27 Jun 2023 17:00 BST"),
    "tracked_case_practitioners_due": ("3", "Wed 28 Jun 2023 12:00 BST"),
    "tracked_case_agreement_due": ("3", "Wed 28 Jun 2023 17:00 BST"),
    "evidence_leads_final_due": ("4", "Thu 29 Jun 2023 17:00 BST"),
    "tracked_case_documents_due": ("4", "Thu 29 Jun 2023 17:00 BST"),
    "accountable_signoff_final_due": ("5", "Fri 30 Jun 2023 12:00 BST"),
    "director_check_final_due": ("5", "Fri 30 Jun 2023 15:00 BST"),
    "annex_a_final_due": ("5", "Fri 30 Jun 2023 17:00 BST"),
    "tracked_case_reviews_due": ("5", "Fri 30 Jun 2023 10:00 BST"),
    "tracked_cases_collated_due": ("5", "Fri 30 Jun 2023 11:00 BST"),
    "tracked_cases_info_due": ("5", "Fri 30 Jun 2023 17:00 BST"),
    "surveys_close": ("6", "Mon 03 Jul 2023 09:00 BST"),
    "setup_call_due": ("1", "Mon 26 Jun 2023 17:00 BST"),
    "opening_headlines_due": ("7", "Tue 04 Jul 2023 12:00 BST"),
    "opening_attendees_due": ("7", "Tue 04 Jul 2023 17:00 BST"),
    "forum_views_due": ("7", "Tue 04 Jul 2023 17:00 BST"),
    "logistics_rooms_due": ("8", "Wed 05 Jul 2023 17:00 BST"),
    "opening_attendee_list_due": ("9", "Thu 06 Jul 2023 12:00 BST"),
    "opening_presentation_due": ("9", "Thu 06 Jul 2023 17:00 BST"),
    "logistics_it_due": ("9", "Thu 06 Jul 2023 17:00 BST"),
    "welcome_pack_due": ("10", "Fri 07 Jul 2023 12:00 BST"),
    "onsite_start": ("11", "Mon 10 Jul 2023 09:00 BST"),
    "feedback_meeting": ("15", "Fri 14 Jul 2023 14:00 BST"),
    "draft_report_expected_by": ("29", "Thu 03 Aug 2023 17:00 BST"),
    "final_report_expected_by": ("45", "Fri 25 Aug 2023 17:00 BST"),
}


@pytest.fixture(autouse=True)
def _demo_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the commands without --config read the shipped Demo County config, whatever the environment says."""
    monkeypatch.delenv("SEND_INSPECTION_CONFIG", raising=False)


def table_rows(output: str) -> dict[str, tuple[str, str]]:
    """Return milestone -> (day, when) from the table output, checking its header line."""
    lines = output.splitlines()
    assert lines[0].split() == ["milestone", "day", "when", "(Europe/London)"]
    rows: dict[str, tuple[str, str]] = {}
    for line in lines[1:]:
        name, day, when = line.split(None, 2)
        rows[name] = (day, when)
    return rows


def test_timeline_json_exact_values(capsys: pytest.CaptureFixture[str]) -> None:
    """`timeline --json` prints one JSON object with every milestone at its hand-counted Europe/London time."""
    assert main(["timeline", "--notified-at", "2023-06-26T09:00", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data == EXPECTED_JSON
    assert list(data) == list(EXPECTED_JSON)


def test_timeline_json_key_milestones(capsys: pytest.CaptureFixture[str]) -> None:
    """The milestones named in the brief carry exactly the hand-counted values (BST, +01:00)."""
    main(["timeline", "--notified-at", "2023-06-26T09:00", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["evidence_leads_initial_due"] == "2023-06-26T17:00:00+01:00"
    assert data["health_template_due"] == "2023-06-27T09:00:00+01:00"
    for name in ("annex_a_initial_due", "child_level_data_due", "providers_list_due"):
        assert data[name] == "2023-06-27T12:00:00+01:00"
    assert data["cases_selected_expected"] == "2023-06-27T17:00:00+01:00"
    assert data["evidence_leads_final_due"] == "2023-06-29T17:00:00+01:00"
    assert data["accountable_signoff_final_due"] == "2023-06-30T12:00:00+01:00"
    assert data["annex_a_final_due"] == data["tracked_cases_info_due"] == "2023-06-30T17:00:00+01:00"
    assert data["surveys_close"] == "2023-07-03T09:00:00+01:00"
    assert data["onsite_start"] == "2023-07-10T09:00:00+01:00"
    assert data["feedback_meeting"] == "2023-07-14T14:00:00+01:00"
    assert data["draft_report_expected_by"] == "2023-08-03T17:00:00+01:00"
    assert data["final_report_expected_by"] == "2023-08-25T17:00:00+01:00"


def test_timeline_json_same_for_utc_input(capsys: pytest.CaptureFixture[str]) -> None:
    """09:00 BST given as 08:00 UTC prints the same timeline as the naive London time."""
    assert main(["timeline", "--notified-at", "2023-06-26T08:00+00:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == EXPECTED_JSON


def test_timeline_json_counts_over_summer_bank_holiday(capsys: pytest.CaptureFixture[str]) -> None:
    """Notified Mon 7 Aug 2023, the draft report count after Fri 25 Aug skips the 28 Aug bank holiday."""
    assert main(["timeline", "--notified-at", "2023-08-07T10:00", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # Days 1-5: 7-11 Aug, 6-10: 14-18 Aug, 11-15: 21-25 Aug.
    assert data["onsite_start"] == "2023-08-21T09:00:00+01:00"
    assert data["feedback_meeting"] == "2023-08-25T14:00:00+01:00"
    # 14 working days after Fri 25 Aug, skipping Mon 28 Aug: 29 Aug-1 Sep (4), 4-8 Sep (9), 11-15 Sep (14).
    assert data["draft_report_expected_by"] == "2023-09-15T17:00:00+01:00"


def test_timeline_table_names_every_milestone(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json the table has one row per milestone with its inspection day and London time."""
    assert main(["timeline", "--notified-at", "2023-06-26T09:00"]) == 0
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert rows == EXPECTED_TABLE
    assert list(rows) == list(EXPECTED_JSON)


def test_timeline_table_day_column_uses_london_date(capsys: pytest.CaptureFixture[str]) -> None:
    """23:30 at UTC-5 on Mon 26 June is 05:30 Tue 27 June in London, so Tue 27 June is day 1 in the table."""
    assert main(["timeline", "--notified-at", "2023-06-26T23:30-05:00"]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert rows["evidence_leads_initial_due"] == ("1", "Tue 27 Jun 2023 17:00 BST")


@pytest.mark.parametrize("bad", ["yesterday", "2023-02-30T09:00", "26/06/2023 09:00"])
def test_bad_notified_at_is_a_clear_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A --notified-at that is not an ISO date-time exits with status 2 and says what was expected."""
    with pytest.raises(SystemExit) as exc:
        main(["timeline", "--notified-at", bad, "--json"])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"argument --notified-at: {bad!r} is not a date-time like 2023-06-26T09:00" in captured.err


def test_parse_when_naive_is_london_and_aware_is_kept() -> None:
    """A naive time is taken as Europe/London wall time; an explicit offset is kept as given."""
    naive = _parse_when("2023-06-26T09:00")
    assert naive == datetime(2023, 6, 26, 9, 0, tzinfo=LONDON)
    assert naive.tzinfo is LONDON
    aware = _parse_when("2023-06-26T08:00+00:00")
    assert aware.isoformat() == "2023-06-26T08:00:00+00:00"
    assert aware == naive


def test_check_config_on_shipped_config(capsys: pytest.CaptureFixture[str]) -> None:
    """check-config on config/demo-county succeeds and counts its people, items and milestones."""
    assert main(["check-config", "--config", str(DEMO)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{DEMO}: 30 people, 30 register items, 33 milestones, 7 tracked-case documents: OK\n"
    assert captured.err == ""


def test_check_config_default_folder(capsys: pytest.CaptureFixture[str]) -> None:
    """check-config without --config checks the shipped Demo County folder."""
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out == (
        f"{DEMO}: 30 people, 30 register items, 33 milestones, 7 tracked-case documents: OK\n")


def test_check_config_names_file_and_line_of_broken_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A copy with an unquoted ': ' on one line of timeline.yaml fails with status 2 naming that file and line."""
    folder = tmp_path / "broken"
    shutil.copytree(DEMO, folder)
    path = folder / "timeline.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("  onsite_start:"))
    lines[index] = '  onsite_start: inspectors arrive: {day: 11, at: "09:00"}\n'
    path.write_text("".join(lines), encoding="utf-8")

    assert main(["check-config", "--config", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.splitlines()
    assert err[0] == "configuration error:"
    assert len(err) == 2
    assert err[1].startswith(f"{path}, line {index + 1}, column ")
    assert err[1].endswith(": mapping values are not allowed here; put text that contains ': ' in quotes")


def test_check_config_names_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A copy without register.yaml fails with status 2 and says the file is required."""
    folder = tmp_path / "partial"
    shutil.copytree(DEMO, folder)
    (folder / "register.yaml").unlink()
    assert main(["check-config", "--config", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'register.yaml'}: file not found: register.yaml is required" in err.splitlines()


def test_timeline_with_broken_config_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`timeline --config` on a broken folder exits 2 with the configuration error instead of a traceback."""
    folder = tmp_path / "tabs"
    shutil.copytree(DEMO, folder)
    path = folder / "timeline.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("  surveys_close:"))
    lines[index] = "\t" + lines[index].lstrip(" ")
    path.write_text("".join(lines), encoding="utf-8")
    assert main(["timeline", "--notified-at", "2023-06-26T09:00", "--config", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{path}, line {index + 1}, column 1: found character '\\t' that cannot start any token; " \
           "indent with spaces, not tabs" in captured.err


LINKS = ["--children-young-people", "https://surveys.example/cyp", "--parents-carers", "https://surveys.example/pc",
         "--practitioners", "https://surveys.example/pr"]


def test_survey_links_name_the_bad_option(capsys: pytest.CaptureFixture[str]) -> None:
    """A survey link that is not an http(s) URL is refused naming the option and the value given."""
    args = ["survey-links", "--inspection", "demo-county-2023-06-26", *LINKS[:4], "--practitioners", "ftp://x"]
    assert main(args) == 2
    assert "--practitioners: URL scheme should be 'http' or 'https' (got 'ftp://x')" in capsys.readouterr().err


def test_survey_links_for_an_unknown_inspection_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Survey links for an inspection that is not open yet give a clear message and change nothing."""
    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path))
    monkeypatch.setattr("send_inspection.cli._prefect_setup", lambda: None)  # keep this process's Prefect settings
    assert main(["survey-links", "--inspection", "demo-county-2099-01-05", *LINKS]) == 1
    assert "no inspection 'demo-county-2099-01-05' yet" in capsys.readouterr().err


@pytest.mark.parametrize(("when", "said"), [("2023-06-26T09:00", "ago"), ("2099-01-05T09:00", "in the future")])
def test_start_refuses_a_call_time_over_a_day_ago_or_ahead(when: str, said: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`start` with a call long ago or in the future says why and how to insist, and never reaches Prefect."""

    def no_prefect(*args: object, **kwargs: object) -> None:
        raise AssertionError("the refused start reached Prefect")

    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path))
    monkeypatch.setattr("send_inspection.cli._prefect_setup", lambda: None)
    monkeypatch.setattr("send_inspection.coordinator.prefect_runner.PrefectRunner.start_notification", no_prefect)
    assert main(["start", "--notified-at", when]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"not started: The time of the call, {_parse_when(when):%a %d %b %Y} 09:00, is ")
    assert said in err and "Nothing was started or sent" in err and "--deliberate" in err


def test_status_shows_phases_and_email_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`status` lists each phase by name with what it waits for and when it wakes, and the inspection's email counts."""
    from send_inspection.engine.annex_a import reconcile_annex_a
    from send_inspection.engine.inspection import open_inspection
    from send_inspection.engine.phase_rows import ensure_phase
    from send_inspection.live.wiring import build_context
    from send_inspection.settings import load_settings

    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path))
    ctx = build_context(load_settings())
    ctx.clock = VirtualClock(NOTIFIED)
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    ensure_phase(ctx, iid, "day2")
    result = reconcile_annex_a(ctx, iid, "day2")
    begin_wait(ctx, iid, "day2", reason=result.reason, next_wake_at=result.next_wake_at, flow_run_id=None)
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "demo-county-2023-06-26 (notified Mon 26 Jun 2023 09:00)"
    assert lines[1].rstrip() == "  notification (day 1)   pending"
    assert lines[2].startswith("  Annex A day 2          waiting  Waiting for 8 of 8 items: child-level-data evidence")
    assert lines[2].endswith("; wakes Mon 26 Jun 14:00")
    assert lines[3] == "  emails: 8 sent"
    assert main(["status", "--inspection", "demo-county-2099-01-05"]) == 1
    ensure_phase(ctx, iid, "day5", not_before=datetime(2023, 6, 28, 9, 0, tzinfo=LONDON))
    assert main(["status"]) == 0
    assert capsys.readouterr().out.splitlines()[4] == "  Annex A day 5          pending  starts Wed 28 Jun 09:00"


def test_up_prints_a_start_command_that_works_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the project's .venv/bin on PATH, `up` tells the coordinator to type .venv/bin/send-inspection."""
    from send_inspection.cli import ready_message

    if Path(sys.executable).parent != PROJECT_ROOT / ".venv" / "bin":
        pytest.skip("the tests run from another environment than the project's .venv")
    monkeypatch.chdir(PROJECT_ROOT)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    message = ready_message("http://127.0.0.1:8080", now=NOTIFIED)
    assert "Start an inspection: .venv/bin/send-inspection start --notified-at 2023-06-26T09:00  (or" in message
    assert (PROJECT_ROOT / ".venv" / "bin" / "send-inspection").exists()


def test_up_prints_the_bare_name_when_path_finds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With this environment's bin folder on PATH, the bare command name is what works."""
    from send_inspection.cli import command_name

    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert command_name() == "send-inspection"


def test_start_refuses_a_call_eleven_days_back_unless_deliberate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`start` with a time 11 days back says why and opens nothing, as the console's start page does."""
    from send_inspection.live.wiring import build_context
    from send_inspection.settings import load_settings

    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path))
    monkeypatch.setattr("send_inspection.cli._prefect_setup", lambda: None)
    back = (datetime.now() - timedelta(days=11)).strftime("%Y-%m-%dT%H:%M")
    assert main(["start", "--notified-at", back]) == 2
    err = capsys.readouterr().err
    assert "11 days ago" in err and "--deliberate" in err
    with build_context(load_settings()).session() as session:
        assert session.query(m.Inspection).count() == 0 and session.query(m.AuditEntry).count() == 0


def test_a_timetable_is_not_sent_from_a_script_without_yes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Without a terminal to ask and without --yes, the preview is printed and nothing is imported."""
    from send_inspection.engine.inspection import open_inspection
    from send_inspection.live.wiring import build_context
    from send_inspection.settings import load_settings
    from tests.conftest import NOTIFIED

    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path))
    monkeypatch.setattr("send_inspection.cli._prefect_setup", lambda: None)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    ctx = build_context(load_settings())
    iid = open_inspection(ctx, NOTIFIED)
    path = tmp_path / "timetable.csv"
    path.write_text("Slot,Kind,Title,Date,Start,End,Location,Attendees\n"
                    "W3-1,leaders-meeting,Meeting with leaders,2023-07-10,10:00,11:00,Demo House,dcs\n")
    assert main(["timetable", "import", "--inspection", iid, str(path)]) == 1
    captured = capsys.readouterr()
    assert "1 invitations\n  W3-1 Meeting with leaders: to Helen Ashcombe" in captured.out
    assert "add --yes" in captured.err
    with ctx.session() as session:
        assert session.query(m.FieldworkSlot).count() == 0


def test_away_for_someone_not_in_the_inspection_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`away` goes through the same action as the console: its refusal names the field."""
    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path))
    monkeypatch.setattr("send_inspection.cli._prefect_setup", lambda: None)
    assert main(["away", "--inspection", "demo-county-2099-01-05", "--person", "hos-data", "--from",
                 "2099-01-05T09:00", "--until", "2099-01-06T09:00"]) == 1
    assert "not recorded: person: 'hos-data' is not one of this inspection's people" in capsys.readouterr().err


def test_retention_show_hold_lift_and_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`retention` shows what goes when, places and lifts a hold (audited without its reason); `record` exports."""
    from send_inspection.engine.inspection import open_inspection
    from send_inspection.live.wiring import build_context
    from send_inspection.settings import load_settings

    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path))
    monkeypatch.setattr("send_inspection.cli._prefect_setup", lambda: None)
    ctx = build_context(load_settings())
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    assert main(["retention", "hold", "--inspection", iid, "--kind", "complaint", "--reason", "no"]) == 1
    assert "nothing changed: reason: say why" in capsys.readouterr().err
    lano = ctx.config.partnership.roles.lano
    assert main(["retention", "hold", "--inspection", iid, "--kind", "complaint", "--reason",
                 "A parent's complaint about the report", "--by", lano]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"hold 1 placed on {iid}")
    assert "child-level data lists and returns: 20 working days after the final report was published; waiting " \
           "for the final report to be published on every partner's website" in out
    name = ctx.config.partnership.person(lano).name
    assert f"by {name}: A parent's complaint about the report; IN FORCE: nothing is deleted" in out
    assert main(["retention", "lift", "--inspection", iid, "--hold", "1", "--reason", "Answered and closed"]) == 0
    assert "lifted" in capsys.readouterr().out
    assert main(["record", "--inspection", iid, "--out", str(tmp_path / "record.zip")]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'record.zip'}: ")
    with ctx.session() as session:
        audited = [e.what for e in session.query(m.AuditEntry).order_by(m.AuditEntry.id)]
    assert audited[0] == "placed hold 1 (a complaint about the inspection) on deleting the inspection's data"
    assert len(audited) == 3 and not [w for w in audited if "parent" in w]


def test_up_says_where_mail_goes_and_that_the_intake_reads_the_inboxes_through_exchange() -> None:
    """With Graph (as with EWS) `up` says mail goes through it and the intake reads both inboxes; the outbox says so."""
    from send_inspection.cli import _mail_line
    from send_inspection.settings import load_settings

    graph = load_settings({"SEND_INSPECTION_MAIL": "graph", "SEND_INSPECTION_GRAPH_TENANT_ID": "demo-tenant",
                           "SEND_INSPECTION_GRAPH_CLIENT_ID": "demo-client", "SEND_INSPECTION_GRAPH_SECRET": "x"})
    assert _mail_line(graph) == ("Microsoft Graph, https://graph.microsoft.com/v1.0; the mailbox intake reads the "
                                 "comms and evidence inboxes every two minutes")
    assert _mail_line(load_settings({})) == "kept in the outbox, http://127.0.0.1:8080/outbox (nothing is sent)"
