"""The return for the inspectors (XLSX and ODS, every child once) and its summary of counts, which names nobody."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.importer import ChildData, import_lists
from send_inspection.childdata.returns import summarise, summary_markdown, write_return
from tests.childdata.conftest import ON, child, provider, write_list


def away(name: str) -> dict[str, str]:
    """Return the setting fields of a setting that is not on the providers list."""
    return {"setting_name": name, "setting_urn": ""}


@pytest.fixture
def small(tmp_path: Path, config: ChildDataConfig) -> ChildData:
    """Import seven hand-made children and two providers whose counts are known."""
    ap = {"setting_name": "Demo Learning Centre", "setting_urn": "", "setting_type": "PRU"}
    ehcp = [
        child("C001", primary_need="ASD", date_of_birth="04/03/2015"),  # 8, mainstream
        child(
            "C002",
            primary_need="SEMH",
            date_of_birth="2005-07-01",
            setting_type="Out County Special",
            **away("Farleigh Marsh Special School"),
        ),  # 17
        child(
            "C003",
            primary_need="Other",
            date_of_birth="2001-06-26",
            setting_type="FE College",
            **away("Gildencote College"),
        ),  # 22
        child("C004", primary_need="PD", date_of_birth="01/01/2020", **ap),  # 3, alternative provision
    ]
    support = [
        child("C101", primary_need="Dyslexia", date_of_birth="01/09/2012"),  # 10, mainstream
        child(
            "C102", primary_need="NSA", date_of_birth="26/06/2010", setting_type="EHE", setting_name="", setting_urn=""
        ),
        child(
            "C103",
            primary_need="SLCN",
            date_of_birth="2016-01-01",
            setting_type="Out County Mainstream",
            **away("Beyondbury Primary School"),
        ),  # 7
    ]
    files: dict[ListKind, Path] = {
        "ehc_plans": write_list(tmp_path / "ehc-plans.csv", "ehc_plans", ehcp, config),
        "sen_support": write_list(tmp_path / "sen-support.csv", "sen_support", support, config),
        "providers": write_list(
            tmp_path / "providers.csv", "providers", [provider(), provider(ap["setting_name"], "", "PRU")], config
        ),
    }
    return import_lists(files, config=config, notified_on=ON)


def test_summary_counts_are_exact(small: ChildData) -> None:
    """Counts by list and in all match the hand-made children one by one."""
    summary = summarise(small)
    assert summary["ehc_plans"] == {
        "children": 4,
        "by_broad_area": {
            "communication and interaction": 1,
            "cognition and learning": 0,
            "social, emotional and mental health": 1,
            "sensory and/or physical": 1,
            "other / not yet assessed": 1,
        },
        "by_age_band": {"0-4": 1, "5-10": 1, "11-15": 0, "16-19": 1, "20-25": 1},
        "by_setting_type": {
            "mainstream school": 1,
            "special school": 1,
            "resourced provision/unit": 0,
            "further education": 1,
            "early years": 0,
            "alternative provision": 1,
            "independent/non-maintained special school": 0,
            "home educated": 0,
            "not in education": 0,
            "other": 0,
        },
        "alternative_provision": 1,
        "out_of_area": 1,
    }
    assert summary["sen_support"]["by_broad_area"]["cognition and learning"] == 1
    assert summary["sen_support"]["by_age_band"] == {"0-4": 0, "5-10": 2, "11-15": 1, "16-19": 0, "20-25": 0}
    assert summary["all"]["children"] == 7
    assert summary["all"]["by_broad_area"]["other / not yet assessed"] == 2
    assert summary["all"]["by_setting_type"]["mainstream school"] == 3
    assert (summary["all"]["out_of_area"], summary["all"]["alternative_provision"]) == (2, 1)
    assert (summary["notified_on"], summary["providers"]) == ("2023-06-26", 2)


def test_summary_names_nobody(small: ChildData) -> None:
    """The summary (for Prefect) holds no child id, name or date of birth."""
    text = json.dumps(summarise(small)) + summary_markdown(summarise(small))
    for secret in ("C001", "C101", "Testy", "Examplewick", "2015", "04/03"):
        assert secret not in text


def test_summary_markdown_is_one_table(small: ChildData) -> None:
    """The markdown has a column per list and one for all, a row per count, and the number of providers."""
    lines = summary_markdown(summarise(small)).splitlines()
    assert lines[:4] == [
        "| Child-level data on 2023-06-26 | EHC plan | SEN support | All |",
        "|---|---:|---:|---:|",
        "| **Children and young people** | 4 | 3 | 7 |",
        "| **Broad area of need** |  |  |  |",
    ]
    assert "| other / not yet assessed | 1 | 1 | 2 |" in lines
    assert "| 16-19 | 1 | 0 | 1 |" in lines
    assert "| home educated | 0 | 1 | 1 |" in lines
    assert lines[-3:] == [
        "| **Out of area** | 1 | 1 | 2 |",
        "",
        "Providers and settings listed: 2",
    ]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_return_reread_has_every_child_once(
    tmp_path: Path, config: ChildDataConfig, synthetic: dict[ListKind, Path], suffix: str
) -> None:
    """Read back with pandas, each sheet of the return holds each child of its list exactly once."""
    data = import_lists(synthetic, config=config, notified_on=ON)
    sheets = pd.read_excel(write_return(data, tmp_path / f"return{suffix}"), sheet_name=None, dtype=str)
    assert list(sheets) == ["EHC plans", "SEN support", "Providers and settings"]
    for name, kind in (("EHC plans", "ehc_plans"), ("SEN support", "sen_support")):
        frame = data.frame(kind)  # type: ignore[arg-type]
        assert frame is not None
        ids = sheets[name]["Child ID"]
        assert ids.is_unique and sorted(ids) == sorted(frame["child_id"])
        assert sheets[name]["Age on notification date"].astype(int).tolist() == frame["age"].tolist()
        assert sheets[name]["Broad area of need"].tolist() == frame["broad_area"].tolist()
    providers = sheets["Providers and settings"]
    attending = providers["Children with an EHC plan"].astype(int) + providers["Children receiving SEN support"].astype(
        int
    )
    assert attending.sum() == sum(sheets[n]["Setting name"].notna().sum() for n in ("EHC plans", "SEN support"))


def test_return_headings_and_provider_counts(tmp_path: Path, small: ChildData) -> None:
    """The return uses plain headings, Yes/No for out of area, and counts the children at each provider."""
    sheets = pd.read_excel(
        write_return(small, tmp_path / "return.xlsx"), sheet_name=None, dtype=str, keep_default_na=False
    )
    ehcp = sheets["EHC plans"]
    assert list(ehcp.columns) == [
        "Child ID", "First name", "Last name", "Date of birth", "Age on notification date", "Age band",
        "Primary need code", "Primary need", "Broad area of need", "Setting name", "Setting URN", "Setting type",
        "Out of area", "EHC plan start date",
    ]  # fmt: skip
    assert "EHC plan start date" not in sheets["SEN support"].columns
    assert ehcp.iloc[1][["Age band", "Primary need", "Setting type", "Out of area"]].tolist() == [
        "16-19", "Social, emotional and mental health", "special school", "Yes",
    ]  # fmt: skip
    assert ehcp.iloc[0]["Date of birth"].startswith("2015-03-04")
    providers = sheets["Providers and settings"]
    assert providers[
        ["Setting name", "Children with an EHC plan", "Children receiving SEN support"]
    ].values.tolist() == [
        ["Ambleford Demo Primary School", "1", "1"],
        ["Demo Learning Centre", "1", "0"],
    ]


def test_return_must_be_a_workbook(tmp_path: Path, small: ChildData) -> None:
    """Asking for a CSV return is refused: the return has one sheet per list."""
    with pytest.raises(ValueError, match=r"write the return as \.xlsx or \.ods, not \.csv"):
        write_return(small, tmp_path / "return.csv")
