"""Data protection: a rehearsal with seeded child names leaves no name or date of birth in any Prefect store."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import (
    PREFECT_LOCAL_STORAGE_PATH,
    PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW,
    PREFECT_RESULTS_PERSIST_BY_DEFAULT,
    temporary_settings,
)

from flows.case_selection import case_selection
from send_inspection.calendar import LONDON, to_london
from send_inspection.cases.selection import CASE_ID_PATTERN
from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.items import data_folder
from send_inspection.childdata.store import load_stored
from send_inspection.childdata.synthetic import generate
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import inspection_id_for
from send_inspection.rehearsal.driver import (
    DEMO_CHILDREN,
    RehearsalReport,
    World,
    rehearsal_context,
    report_of,
    run_world,
)
from send_inspection.rehearsal.privacy_scan import (
    Needles,
    Scan,
    capture_logs,
    child_needles,
    date_forms,
    flush_prefect,
    logs_to_prefect,
    scan_database,
    scan_files,
    scan_prefect,
)
from send_inspection.rehearsal.scenarios import choose_demo_cases
from send_inspection.rehearsal.staff import ScriptedStaff
from tests.conftest import NOTIFIED

MARKER = "Qzv"  # every seeded child's first and last name starts with it (e.g. Qzvfaaab Qzvlaaab)
# Day 2, 17:00 (timeline.yaml cases_selected_expected): the coordinator enters six case ids through the
# case-selection flow, as in production.
SELECT_AT = datetime(2023, 6, 27, 17, 0, tzinfo=LONDON)
# Day 2 at 17:50: the lists were uploaded on day 1, the six cases chosen at 17:00, their flows have run
# twice (asking the SEND QA manager, then the practitioners and setting leads she named at 17:45).
UNTIL = datetime(2023, 6, 27, 17, 50, tzinfo=LONDON) - NOTIFIED
# Not a child on the lists: a throwaway flow writes these to every Prefect store, as a leak would.
CONTROL_NAME = f"{MARKER}control"
CONTROL_BORN = date(2012, 2, 29)
CONTROL = "control"
# Not a child on the lists either: what the coordinator types by mistake in place of one case id.
TYPED_NAME = f"{MARKER}typed {MARKER}mistake"
TYPED = "typed in place of a case id"
# A case id in the right form that is on no list (the synthetic ids run from DC1000000).
UNKNOWN_ID = "DC0000001"


@dataclass(frozen=True)
class Rehearsed:
    """The rehearsal with seeded names, the children's needles, and the scans of Prefect and of our own store."""

    report: RehearsalReport
    children: dict[str, dict[str, str]]
    prefect: Scan
    our_store: Scan
    our_database: Scan
    refusals: list[str]


@task(name="privacy-control-refuse", cache_policy=NO_CACHE, persist_result=True)
def _refuse(born: str) -> None:
    """Fail with the control date of birth in the exception message."""
    raise ValueError(f"control record born {born}")


@flow(name="privacy-control", persist_result=True)
def privacy_control(name: str, born: str) -> str:
    """Put the control name and date of birth in a parameter, a log, an artifact, an exception and a result."""
    get_run_logger().info("control record %s", name)
    create_markdown_artifact(key="privacy-control", markdown=f"{name} born {born}")
    _refuse(born, return_state=True)
    return f"{name} {born}"


def select_through_the_flow(ctx: EngineContext, staff: ScriptedStaff, inspection_id: str, *, deployment: UUID,
                             refusals: list[str]) -> Callable[[], int]:
    """Return the coordinator's act: six case ids through the case-selection flow, after two mistakes.

    First a name typed among the ids in the deployment's form (Prefect's API is asked for the run, as the form asks
    it), then an id in the right form that is on no list, given to the flow.
    """

    def select() -> int:
        ids = choose_demo_cases(load_stored(data_folder(ctx, inspection_id, "child-level-data")), count=6)
        with get_client(sync_client=True) as client:
            try:
                client.create_flow_run_from_deployment(
                    deployment, parameters={"inspection_id": inspection_id, "case_ids": [ids[0], TYPED_NAME, *ids[1:]]})
            except PrefectHTTPStatusError as exc:
                named = f"does not match '{CASE_ID_PATTERN}'" in exc.response.text
                refusals.append(f"{exc.response.status_code}: {'the case-id pattern' if named else exc.response.text}")
            else:
                refusals.append("the run was created")
        refused = case_selection(inspection_id=inspection_id, case_ids=[ids[0], UNKNOWN_ID, *ids[1:]],
                                 return_state=True)
        refusals.append(refused.message or "")
        case_selection(inspection_id=inspection_id, case_ids=ids)
        staff.family_declines.add(ids[-1])
        return 3

    return select


def seeded_children(paths: dict[ListKind, Path], config: ChildDataConfig) -> dict[str, dict[str, str]]:
    """Return each child's needles (names, every form of the date of birth) from the seeded lists, by case id."""
    children: dict[str, dict[str, str]] = {}
    for kind in ("ehc_plans", "sen_support"):
        heads = config.columns(kind)  # type: ignore[arg-type]
        with paths[kind].open(encoding="utf-8") as handle:  # type: ignore[index]
            for row in csv.DictReader(handle):
                born = datetime.strptime(row[heads["date_of_birth"]], "%d/%m/%Y").date()
                children[row[heads["child_id"]]] = child_needles(
                    row[heads["child_id"]], first_name=row[heads["first_name"]], last_name=row[heads["last_name"]],
                    born=born)
    return children


@pytest.fixture(scope="module")
def rehearsed(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Rehearsed:
    """Rehearse notification to 17:50 on day 2 with seeded names (results persisted), run the control, scan."""
    workdir = tmp_path_factory.mktemp("data-protection")
    results = workdir / "prefect-results"
    settings = {PREFECT_LOCAL_STORAGE_PATH: results, PREFECT_RESULTS_PERSIST_BY_DEFAULT: True,
                PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore"}
    refusals: list[str] = []
    with capture_logs("send_inspection", "flows", "tasks") as logs, logs_to_prefect("send_inspection"), \
            temporary_settings(updates=settings):
        ctx, staff = rehearsal_context(workdir, notified_at=NOTIFIED)
        assert ctx.child_data is not None
        staff.data_files = dict(generate(workdir / "seeded-lists", children=DEMO_CHILDREN, seed=1,
                                         config=ctx.child_data, as_of=to_london(NOTIFIED).date(), name_marker=MARKER))
        iid = inspection_id_for(ctx.config, NOTIFIED)
        deployment = case_selection.to_deployment(name="data-protection").apply()
        select = select_through_the_flow(ctx, staff, iid, deployment=deployment, refusals=refusals)
        world = World(ctx=ctx, staff=staff, inspection_id=iid, links_at=NOTIFIED + timedelta(hours=1),
                      end=NOTIFIED + UNTIL, events=[(SELECT_AT, select)])
        run_world(world, notified_at=NOTIFIED, start_with_notification=True)
        privacy_control(CONTROL_NAME, f"{CONTROL_BORN:%d/%m/%Y}")
        flush_prefect()
    children = seeded_children(staff.data_files, ctx.child_data)  # type: ignore[arg-type]
    labelled = [pair for needles in children.values() for pair in needles.items()]
    control = [(CONTROL_NAME, f"{CONTROL} name")] + [(f, f"{CONTROL} date of birth") for f in date_forms(CONTROL_BORN)]
    control += [(part, TYPED) for part in TYPED_NAME.split()]
    assert not {needle for needle, _ in labelled} & {needle for needle, _ in control}  # the control is no child
    labelled += control
    needles = Needles(labelled)
    return Rehearsed(report=report_of(ctx, iid, staff), children=children,
                     prefect=scan_prefect(needles, storage=results, log_records=logs.records),
                     our_store=scan_files(ctx.uploads_dir, needles, store="our store"),
                     our_database=scan_database(ctx.db_url, needles, store="our database"), refusals=refusals)


def child_hits(scan: Scan) -> list[str]:
    """Return the hits of the children's needles (not the control's or the mistake's), naming where and whose."""
    return [str(h) for h in scan.hits if not h.label.startswith((CONTROL, TYPED))]


def test_the_seeded_lists_were_uploaded_and_six_cases_tracked(rehearsed: Rehearsed) -> None:
    """Each seeded child's names and birth date are in our own store; six cases were chosen by the flow and worked."""
    assert len(rehearsed.children) == DEMO_CHILDREN
    found = rehearsed.our_store.labels()
    expected = {label for needles in rehearsed.children.values() for label in needles.values()}
    assert expected <= found, sorted(expected - found)[:5]
    cases = [k for k in rehearsed.report.phases if k.startswith("case:")]
    assert len(cases) == 6
    with get_client(sync_client=True) as client:
        coverage = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(
            any_=[f"{rehearsed.report.inspection_id}-case-selection"])))
    assert len(coverage) == 1  # the selection went through the case-selection flow
    case_emails = [e for e in rehearsed.report.emails if ":case:" in e.key]
    assert len({e.key.split(":case:")[1].split(":")[0] for e in case_emails}) == 6
    assert any(":practitioners:" not in e.key for e in case_emails)  # the cases moved past their first step


def test_the_scan_reaches_every_prefect_store(rehearsed: Rehearsed) -> None:
    """The control's name and date of birth are found in each Prefect store, and each store held the rehearsal."""
    scan = rehearsed.prefect
    control = [h for h in scan.hits if h.label.startswith(CONTROL)]
    assert {h.store for h in control} == {"database", "result storage", "log records", "artifacts (API)"}
    tables = {h.where.split(".")[0] for h in control if h.store == "database" and "." in h.where.split()[0]}
    assert tables >= {"flow_run", "log", "artifact", "task_run_state"}  # parameter, log, artifact, exception
    assert [h for h in control if h.where.startswith("raw bytes of ")]
    assert scan.labels("result storage") >= {f"{CONTROL} name", f"{CONTROL} date of birth"}
    least = {"database:flow_run": 10, "database:task_run": 40, "database:log": 100, "database:artifact": 30,
             "database:events": 100, "database:event_resources": 500, "result storage:files": 10,
             "log records:records": 100, "artifacts (API):artifacts": 30}
    assert {k: scan.scanned[k] for k in least if scan.scanned[k] < least[k]} == {}
    assert sum(1 for k in scan.scanned if k.startswith("database:")) > 20  # every table, not a chosen few


def test_no_childs_name_or_date_of_birth_reaches_prefect(rehearsed: Rehearsed) -> None:
    """No seeded child's first name, last name or date of birth is in Prefect's database, results, logs or artifacts."""
    assert child_hits(rehearsed.prefect) == []


def test_our_database_holds_case_ids_only(rehearsed: Rehearsed) -> None:
    """Our own database refers to the tracked children by case id: their names and dates of birth stay in the lists."""
    assert rehearsed.our_database.scanned["our database:tracked_cases"] == 6
    assert child_hits(rehearsed.our_database) == []


def test_a_name_typed_as_a_case_id_is_refused_before_prefect_stores_it(rehearsed: Rehearsed) -> None:
    """A name typed among the case ids is refused by Prefect's API (the form's pattern) and is in no Prefect store;
    an id in the right form that is on no list is refused by the flow by position, its value not repeated."""
    assert rehearsed.refusals == [
        "409: the case-id pattern",
        "Flow run encountered an exception: SelectionRefused: entry 2 of 7 is not a case id in the accepted "
        "child-level data lists (what was entered is not repeated here: it may be a name); check the ids with the "
        "inspectors and enter them again (nothing was recorded)"]
    assert [str(h) for h in rehearsed.prefect.hits if h.label == TYPED] == []
