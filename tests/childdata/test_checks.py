"""Row checks: each problem names the file, row, column and child id, and never the child's name or date of birth."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.importer import import_list
from send_inspection.childdata.problems import ImportRejected
from tests.childdata.conftest import ON, child, provider, write_list

FILES: dict[ListKind, str] = {
    "ehc_plans": "ehc-plans.csv",
    "sen_support": "sen-support.csv",
    "providers": "providers.csv",
}


def problems_of(
    tmp_path: Path, config: ChildDataConfig, rows: list[dict[str, str]], kind: ListKind = "ehc_plans"
) -> list[str]:
    """Import `rows` as list `kind`, expecting a rejection, and return each problem as text."""
    path = write_list(tmp_path / FILES[kind], kind, rows, config)
    with pytest.raises(ImportRejected) as info:
        import_list(path, kind, config=config, notified_on=ON)
    return [str(p) for p in info.value.problems]


def test_bad_date_of_birth_is_named_without_its_value(tmp_path: Path, config: ChildDataConfig) -> None:
    """An impossible date of birth names row, column and child id but does not repeat the date."""
    rows = [child("C001"), child("C002", date_of_birth="31/02/2015")]
    assert problems_of(tmp_path, config, rows) == [
        "ehc-plans.csv, row 3, column 'DOB', child id C002: not a valid date (write dd/mm/yyyy or yyyy-mm-dd); "
        "the value is not shown because it is a date of birth"
    ]


@pytest.mark.parametrize(
    ("born", "message"),
    [
        ("25/06/1997", "aged 26 on the notification date (26/06/2023): the lists cover ages 0 to 25"),
        ("2023-06-27", "the date of birth is after the notification date (26/06/2023)"),
    ],
)
def test_age_out_of_range_is_refused(tmp_path: Path, config: ChildDataConfig, born: str, message: str) -> None:
    """A child older than 25 or not yet born on the notification date is an error at the date of birth."""
    assert problems_of(tmp_path, config, [child("C001", date_of_birth=born)]) == [
        f"ehc-plans.csv, row 2, column 'DOB', child id C001: {message}"
    ]


def test_ages_0_and_25_are_accepted(tmp_path: Path, config: ChildDataConfig) -> None:
    """A baby born on the notification date and a young person the day before their 26th birthday are listed."""
    rows = [child("C001", date_of_birth="26/06/2023"), child("C002", date_of_birth="1997-06-27")]
    imported = import_list(
        write_list(tmp_path / "e.csv", "ehc_plans", rows, config), "ehc_plans", config=config, notified_on=ON
    )
    assert imported.frame is not None
    assert imported.frame["age"].tolist() == [0, 25]


NOT_SHOWN = "the value is not shown"
NEED = (
    "not a primary need code (write a DfE code, SPLD, MLD, SLD, PMLD, SEMH, SLCN, HI, VI, MSI, PD, ASD, OTH, NSA, or "
    f"one of the words under primary_need in child_data.yaml, or add this one there); {NOT_SHOWN}"
)
SETTING = (
    "not a setting type (write one of the words under setting_type in child_data.yaml, or add this one there); "
    f"{NOT_SHOWN}"
)
URN = f"not a URN (write the setting's 6 to 8 digits, or leave it empty); {NOT_SHOWN}"
BORN = f"not a valid date (write dd/mm/yyyy or yyyy-mm-dd); {NOT_SHOWN} because it is a date of birth"
STARTED = f"not a valid date (write dd/mm/yyyy or yyyy-mm-dd); {NOT_SHOWN}"


@pytest.mark.parametrize(
    ("kind", "fld", "column", "message"),
    [
        ("ehc_plans", "date_of_birth", "DOB", BORN),
        ("ehc_plans", "primary_need", "Primary Need", NEED),
        ("ehc_plans", "setting_type", "Setting Type", SETTING),
        ("ehc_plans", "setting_urn", "URN", URN),
        ("ehc_plans", "ehcp_start_date", "EHCP Start Date", STARTED),
        ("sen_support", "date_of_birth", "Date of Birth", BORN),
        ("sen_support", "primary_need", "SEN Need", NEED),
        ("sen_support", "setting_type", "School Type", SETTING),
        ("sen_support", "setting_urn", "School URN", URN),
        ("providers", "setting_type", "Establishment Type", SETTING),
        ("providers", "setting_urn", "URN", URN),
    ],
)
@pytest.mark.parametrize("value", ["Nell", "4 March 2015"])
def test_a_refused_value_is_never_quoted(
    tmp_path: Path, config: ChildDataConfig, kind: ListKind, fld: str, column: str, message: str, value: str
) -> None:
    """A name or a date typed where something else belongs is refused naming file, row, column, child id and what
    is expected, never the value itself."""
    if kind == "providers":
        rows = [provider(), {**provider("Demo Nursery", urn="900002"), fld: value}]
        where = f"providers.csv, row 3, column '{column}'"
    else:
        rows = [child("C001"), child("C002", **{fld: value})]
        where = f"{FILES[kind]}, row 3, column '{column}', child id C002"
    problems = problems_of(tmp_path, config, rows, kind)
    assert problems == [f"{where}: {message}"]
    assert value not in problems[0]


def test_duplicate_child_id_names_both_rows(tmp_path: Path, config: ChildDataConfig) -> None:
    """A child id listed twice is reported at the repeat, naming the first row."""
    rows = [child("C001"), child("C002"), child("C001", first_name="Other")]
    assert problems_of(tmp_path, config, rows, "sen_support") == [
        "sen-support.csv, row 4, column 'Child Ref', child id C001: this child id is also on row 2: "
        "each must be on the list once"
    ]


def test_empty_values_are_named(tmp_path: Path, config: ChildDataConfig) -> None:
    """Empty ids, names, needs and setting names are each reported in their own column."""
    rows = [child("", first_name=""), child("C002", primary_need="", setting_name="", setting_urn="")]
    assert problems_of(tmp_path, config, rows) == [
        "ehc-plans.csv, row 2, column 'Case ID': the child id is empty",
        "ehc-plans.csv, row 2, column 'Forename': the first name is empty",
        "ehc-plans.csv, row 3, column 'Primary Need', child id C002: the primary need is empty: "
        "write NSA if it is not yet assessed",
        "ehc-plans.csv, row 3, column 'Setting', child id C002: the setting name is empty "
        "(only children home educated or not in education have none)",
    ]


def test_home_educated_child_needs_no_setting(tmp_path: Path, config: ChildDataConfig) -> None:
    """A child educated at home may have no setting name or URN."""
    rows = [child("C001", setting_type="EHE", setting_name="", setting_urn="")]
    imported = import_list(
        write_list(tmp_path / "e.csv", "ehc_plans", rows, config), "ehc_plans", config=config, notified_on=ON
    )
    assert imported.frame is not None
    assert imported.frame["setting_type"].tolist() == ["home educated"]


def test_bad_urn_and_plan_start_date_are_named(tmp_path: Path, config: ChildDataConfig) -> None:
    """A URN that is not 6 to 8 digits and a plan start date that is not a past date are errors."""
    rows = [
        child("C001", setting_urn="12AB"),
        child("C002", ehcp_start_date="2024-01-01"),
        child("C003", ehcp_start_date="soon"),
    ]
    assert problems_of(tmp_path, config, rows) == [
        f"ehc-plans.csv, row 2, column 'URN', child id C001: {URN}",
        "ehc-plans.csv, row 3, column 'EHCP Start Date', child id C002: the EHC plan start date is after the "
        "notification date (26/06/2023)",
        f"ehc-plans.csv, row 4, column 'EHCP Start Date', child id C003: {STARTED}",
    ]


def test_other_and_not_assessed_needs_warn_without_rejecting(tmp_path: Path, config: ChildDataConfig) -> None:
    """OTH and NSA are accepted, put in 'other / not yet assessed', and reported as warnings."""
    rows = [child("C001", primary_need="Other"), child("C002", primary_need="nsa")]
    path = write_list(tmp_path / "sen-support.csv", "sen_support", rows, config)
    imported = import_list(path, "sen_support", config=config, notified_on=ON)
    assert imported.frame is not None
    assert imported.frame["broad_area"].tolist() == ["other / not yet assessed"] * 2
    assert [str(p) for p in imported.problems] == [
        "sen-support.csv, row 2, column 'SEN Need', child id C001: primary need OTH (Other difficulty or disability) "
        "is reported as 'other / not yet assessed'",
        "sen-support.csv, row 3, column 'SEN Need', child id C002: primary need NSA (SEN support but no specialist "
        "assessment of type of need) is reported as 'other / not yet assessed'",
    ]


def test_providers_list_checks_types_and_repeats(tmp_path: Path, config: ChildDataConfig) -> None:
    """A provider's unknown type and a repeated URN or name (without a URN) are errors, in row order."""
    rows = [
        provider(),
        provider("Another Name", urn="900001"),
        provider("Unregistered AP", urn="", kind="Tuition"),
        provider("unregistered  ap", urn="", kind="PRU"),
    ]
    assert problems_of(tmp_path, config, rows, "providers") == [
        "providers.csv, row 3, column 'URN': this URN is also on row 2: each must be on the list once",
        f"providers.csv, row 4, column 'Establishment Type': {SETTING}",
        "providers.csv, row 5, column 'Establishment Name': this setting (without a URN) is also on row 4: "
        "each must be on the list once",
    ]


def test_no_message_names_a_child_or_their_birthday(tmp_path: Path, config: ChildDataConfig) -> None:
    """Among many kinds of error, no message holds a child's first or last name or date of birth in any form."""
    born = date(2015, 3, 4)
    forms = ["04/03/2015", "4/3/2015", "2015-03-04", "03/04/2015", "04/03/15"]
    rows = [
        child("C001", first_name="Zanzibella", last_name="Quorngrove", date_of_birth="31/02/2015"),
        child("C001", first_name="Zanzibella", last_name="Quorngrove", primary_need="04/03/2015"),
        child("C003", first_name="Zanzibella", last_name="Quorngrove", date_of_birth="1990-01-01", setting_type="x"),
        child("C004", first_name="Zanzibella", last_name="Quorngrove", date_of_birth=born.isoformat(), setting_urn="1"),
        child("C005", first_name="Zanzibella", last_name="Quorngrove", date_of_birth="31/02/2015"),
    ]
    messages = problems_of(tmp_path, config, rows)
    assert len(messages) == 7
    for message in messages:
        for secret in ["Zanzibella", "Quorngrove", "31/02/2015", "1990", *forms]:
            assert secret not in message, message
