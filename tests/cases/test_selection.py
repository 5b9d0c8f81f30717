"""Case selection: unknown ids are refused, coverage is reported against the usual mix, ids only are kept."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from send_inspection.cases.selection import (
    CaseId,
    SelectionRefused,
    assess,
    record_selection,
    refused_entries,
    tracked_cases,
)
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.importer import ChildData, ImportedList
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from tests.conftest import NOTIFIED

COLUMNS = ["child_id", "broad_area", "setting_type"]
ROWS = {
    "ehc_plans": [
        ("E1", "communication and interaction", "special school"),
        ("E2", "cognition and learning", "mainstream school"),
        ("E3", "social, emotional and mental health", "alternative provision"),
        ("E4", "sensory and/or physical", "mainstream school"),
    ],
    "sen_support": [
        ("S1", "communication and interaction", "mainstream school"),
        ("S2", "social, emotional and mental health", "mainstream school"),
    ],
}


@pytest.fixture
def data() -> ChildData:
    """Return two small checked lists: four children with EHC plans and two on SEN support."""
    lists = {kind: ImportedList(kind, f"{kind}.csv", pd.DataFrame(rows, columns=COLUMNS), [])  # type: ignore[arg-type]
             for kind, rows in ROWS.items()}
    return ChildData(date(2023, 6, 26), lists)  # type: ignore[arg-type]


def test_a_selection_covering_the_usual_mix_has_no_gaps(data: ChildData) -> None:
    """Six children with two on SEN support, one in AP and every broad area reports nothing missing."""
    coverage = assess(data, ["E1", "E2", "E3", "E4", "S1", "S2"])
    assert (coverage.selected, coverage.ehc_plans, coverage.sen_support, coverage.alternative_provision) == (6, 4, 2, 1)
    assert coverage.gaps == []
    assert coverage.by_broad_area["social, emotional and mental health"] == 2


def test_gaps_are_reported_not_refused(data: ChildData) -> None:
    """A thin selection is accepted, with each gap from the usual mix named."""
    coverage = assess(data, ["E1", "E2"])
    assert coverage.gaps == [
        "2 selected; inspectors usually name at least 6",
        "0 on SEN support; usually at least 2",
        "no child in alternative provision; usually at least one",
        "no child whose primary need is in social, emotional and mental health",
        "no child whose primary need is in sensory and/or physical",
    ]
    assert "- 0 on SEN support; usually at least 2" in coverage.markdown()


def test_unknown_ids_are_refused_by_name(data: ChildData) -> None:
    """Ids not in the lists are refused, naming each of them, and nothing else is said about the others."""
    with pytest.raises(SelectionRefused, match="not in the accepted child-level data lists: X9, E7;"):
        assess(data, ["E1", "X9", "E7"])
    with pytest.raises(SelectionRefused, match="no case ids given"):
        assess(data, [" ", ""])


def test_a_refusal_for_prefect_names_entries_by_position_only(data: ChildData) -> None:
    """Where Prefect keeps the message, unknown entries are named by position: one may be a child's name."""
    entered = ["E1", "Qzvtyped Qzvname", " E7 ", "S1"]
    with pytest.raises(SelectionRefused) as refused:
        assess(data, entered)
    assert refused.value.unknown == ("Qzvtyped Qzvname", "E7")
    message = refused_entries(entered, refused.value.unknown)
    assert message.startswith("entries 2 and 3 of 4 are not case ids in the accepted child-level data lists")
    assert "Qzv" not in message and "E7" not in message
    assert refused_entries(["Qzvtyped"], ["Qzvtyped"]).startswith("entry 1 of 1 is not a case id in the")


def test_selection_is_recorded_once_by_id(ctx: EngineContext, data: ChildData) -> None:
    """Recorded cases keep only the case id and list; selecting again adds new ids without repeating old ones."""
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    record_selection(ctx, iid, data, ["E3", "S1"], selected_by="inspection-coordinator")
    record_selection(ctx, iid, data, ["S1", "E4"], selected_by="inspection-coordinator")
    assert tracked_cases(ctx, iid) == ["E3", "S1", "E4"]
    with pytest.raises(SelectionRefused, match="no inspection 'demo-county-2099-01-05'"):
        record_selection(ctx, "demo-county-2099-01-05", data, ["E1"], selected_by="inspection-coordinator")


def test_the_cli_records_ids_from_stored_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               demo_child_data: ChildDataConfig,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`select-cases` reads the accepted lists, records the ids and prints the coverage; unknown ids fail."""
    from send_inspection.childdata.importer import import_lists
    from send_inspection.childdata.items import data_folder
    from send_inspection.childdata.store import store_lists
    from send_inspection.childdata.synthetic import generate
    from send_inspection.cli import main
    from send_inspection.live.wiring import build_context
    from send_inspection.settings import load_settings

    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("send_inspection.cli._prefect_setup", lambda: None)  # keep this process's Prefect settings
    ctx = build_context(load_settings())
    iid = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    assert main(["select-cases", "--inspection", iid, "E1"]) == 1
    assert "no accepted child-level data lists yet" in capsys.readouterr().err

    paths = generate(tmp_path / "export", children=60, seed=5, as_of=NOTIFIED.date(), config=demo_child_data)
    checked = import_lists({k: paths[k] for k in ("ehc_plans", "sen_support")}, config=demo_child_data,
                           notified_on=NOTIFIED.date())
    store_lists(checked, data_folder(ctx, iid, "child-level-data"))
    ids = list(checked.frame("ehc_plans")["child_id"][:4]) + list(checked.frame("sen_support")["child_id"][:2])
    assert main(["select-cases", "--inspection", iid, ",".join(ids[:3]), *ids[3:]]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**6 children selected**: 4 with an EHC plan, 2 on SEN support")
    assert tracked_cases(ctx, iid) == ids
    assert main(["select-cases", "--inspection", iid, "NOT-A-CASE"]) == 1
    assert "not in the accepted child-level data lists: NOT-A-CASE" in capsys.readouterr().err


@pytest.mark.parametrize("case_id", ["DC1166379", "1166379", "AB-12/345", "c_42.7"])
def test_a_case_id_is_letters_and_digits(case_id: str) -> None:
    """A case management system's reference, with at least one digit, is a case id."""
    assert TypeAdapter(CaseId).validate_python(case_id) == case_id


@pytest.mark.parametrize("typed", ["Qzvtyped Qzvmistake", "Smith", "O'Brien", "Siân", "DC 1166379", "DC1166379\n",
                                   "DC" + "1" * 40])
def test_a_name_is_not_a_case_id(typed: str) -> None:
    """A name (no digit), text with a space, a quote or an accent, or an over-long entry is not a case id."""
    with pytest.raises(ValidationError):
        TypeAdapter(CaseId).validate_python(typed)
