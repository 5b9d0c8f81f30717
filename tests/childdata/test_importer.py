"""Importing the lists together: round trips from synthetic data, missing columns, children on both lists, rejection."""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
import pytest

from send_inspection.childdata.codes import UNASSESSED_CODES, ListKind
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.importer import ChildData, check_list, import_list, import_lists
from send_inspection.childdata.problems import ImportRejected, errors
from send_inspection.childdata.synthetic import generate
from tests.childdata.conftest import ON, child, provider, write_list
from tests.childdata.test_checks import NEED, SETTING, STARTED, URN
from tests.childdata.workbooks import Formula, write_ods_cells, write_xlsx_cells


def rejected(files: dict[ListKind, Path], config: ChildDataConfig) -> ImportRejected:
    """Import `files` together, expecting a rejection, and return it."""
    with pytest.raises(ImportRejected) as info:
        import_lists(files, config=config, notified_on=ON)
    return info.value


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ods"])
def test_synthetic_lists_import_without_errors(
    tmp_path: Path, config: ChildDataConfig, synthetic: dict[ListKind, Path], fmt: str
) -> None:
    """Generated lists in each format import whole, with warnings only for OTH and NSA needs."""
    files = synthetic if fmt == "csv" else generate(tmp_path, children=200, seed=7, as_of=ON, config=config, fmt=fmt)
    data = import_lists(files, config=config, notified_on=ON)
    assert errors(data.problems) == []
    assert all(p.message.startswith(tuple(f"primary need {c} " for c in UNASSESSED_CODES)) for p in data.problems)
    children = [data.frame(kind) for kind in ("ehc_plans", "sen_support")]
    assert sum(len(f) for f in children if f is not None) == 200
    with synthetic["ehc_plans"].open(encoding="utf-8") as handle:
        expected = [row["Case ID"] for row in csv.DictReader(handle)]
    ehcp = data.frame("ehc_plans")
    assert ehcp is not None and ehcp["child_id"].tolist() == expected


def test_same_synthetic_data_in_every_format_gives_the_same_rows(
    tmp_path: Path, config: ChildDataConfig, synthetic: dict[ListKind, Path]
) -> None:
    """A workbook's date cells and a CSV's text dates give the same dates and ages."""
    xlsx = generate(tmp_path, children=200, seed=7, as_of=ON, config=config, fmt="xlsx")
    from_csv = import_list(synthetic["ehc_plans"], "ehc_plans", config=config, notified_on=ON).frame
    from_xlsx = import_list(xlsx["ehc_plans"], "ehc_plans", config=config, notified_on=ON).frame
    assert from_csv is not None and from_xlsx is not None
    columns = ["child_id", "date_of_birth", "age", "need_code", "setting_type", "out_of_area", "ehcp_start_date"]
    assert from_csv[columns].equals(from_xlsx[columns])


def test_missing_columns_are_named_with_those_found(tmp_path: Path, config: ChildDataConfig) -> None:
    """A list without required columns names them (and their fields) and lists the columns that are there."""
    path = tmp_path / "ehc-plans.csv"
    path.write_text("Case ID,Forename,Surname,Primary Need,Setting,Notes\nC001,Testy,Examplewick,ASD,A School,\n")
    imported = check_list(path, "ehc_plans", config=config, notified_on=ON)
    assert [str(p) for p in imported.problems] == [
        "ehc-plans.csv, row 1: missing column(s) 'DOB' (date_of_birth), 'Setting Type' (setting_type); "
        "columns found: 'Case ID', 'Forename', 'Surname', 'Primary Need', 'Setting', 'Notes'"
    ]


def test_missing_header_row_does_not_show_the_first_child(tmp_path: Path, config: ChildDataConfig) -> None:
    """When row 1 is a child's record (it holds a date), its cells are not repeated as 'columns found'."""
    path = tmp_path / "ehc-plans.csv"
    path.write_text("C001,Zanzibella,Quorngrove,04/03/2015,ASD,A School,900001,Mainstream,\n")
    (problem,) = check_list(path, "ehc_plans", config=config, notified_on=ON).problems
    assert "Zanzibella" not in str(problem) and "04/03/2015" not in str(problem)
    assert str(problem).endswith(
        "columns found: not shown: row 1 holds a date, so it looks like a child's record rather than headings"
    )


def test_first_row_without_headings_is_not_shown(tmp_path: Path, config: ChildDataConfig) -> None:
    """When row 1 holds none of the expected headings (a record, perhaps, with no date to give it away), its cells
    are not repeated."""
    path = tmp_path / "ehc-plans.csv"
    path.write_text("C001,Nell,Quorngrove,4 March 2015,ASD,A School,900001,Mainstream,\n")
    (problem,) = check_list(path, "ehc_plans", config=config, notified_on=ON).problems
    assert "Nell" not in str(problem) and "Quorngrove" not in str(problem)
    assert str(problem).endswith("columns found: not shown: row 1 holds none of the expected headings, so it may "
                                 "be a child's record")


def test_stray_bytes_are_refused_at_their_cells_and_nothing_is_decoded_wrongly(
    tmp_path: Path, config: ChildDataConfig
) -> None:
    """A UTF-8 list with a Windows-1252 byte in one name is refused at that cell (row, column, child id), and no
    name is ever read as another ('Siân' as 'SiÃ¢n')."""
    rows = [child("C001", first_name="Siân"), child("C002", last_name="Zoë")]
    path = write_list(tmp_path / "ehc-plans.csv", "ehc_plans", rows, config)
    path.write_bytes(path.read_bytes().replace("Zoë".encode(), "Zoë".encode("cp1252")))  # one byte, pasted in
    imported = check_list(path, "ehc_plans", config=config, notified_on=ON)
    assert imported.frame is None
    assert [str(p) for p in imported.problems] == [
        "ehc-plans.csv, row 3, column 'Surname', child id C002: this cell holds bytes that are not UTF-8 text, "
        "though the rest of the file is UTF-8 (perhaps pasted in from a file saved another way); the value is not "
        "shown: type the text again, save the file as 'CSV UTF-8' and upload it again"
    ]
    assert not any("Ã" in str(p) or "Zo" in str(p) for p in imported.problems)


def test_stray_bytes_in_a_heading_name_its_column_number(tmp_path: Path, config: ChildDataConfig) -> None:
    """A heading that is not text is named by its column's number."""
    path = tmp_path / "ehc-plans.csv"
    path.write_bytes("Case ID,Forenäme\nC001,Siân\n".encode().replace("ä".encode(), "ä".encode("cp1252")))
    (problem,) = check_list(path, "ehc_plans", config=config, notified_on=ON).problems
    assert str(problem).startswith("ehc-plans.csv, row 1: the cell in column 2 holds bytes that are not UTF-8 text")


def test_missing_optional_column_warns(tmp_path: Path, config: ChildDataConfig) -> None:
    """A list without an optional column is accepted, with a warning that it will be blank."""
    path = tmp_path / "sen-support.csv"
    heads = config.columns("sen_support")
    values = child("C001")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([h for f, h in heads.items() if f != "setting_urn"])
        writer.writerow([values[f] for f in heads if f != "setting_urn"])
    imported = import_list(path, "sen_support", config=config, notified_on=ON)
    assert imported.frame is not None and imported.frame["setting_urn"].tolist() == [""]
    assert [str(p) for p in imported.problems] == [
        "sen-support.csv, row 1: no column 'School URN' (setting_urn): it is left blank in the return"
    ]


def test_child_on_both_lists_must_be_resolved(tmp_path: Path, config: ChildDataConfig) -> None:
    """A child on the EHC plan list and the SEN support list rejects the import, naming both rows."""
    files: dict[ListKind, Path] = {
        "ehc_plans": write_list(tmp_path / "ehc-plans.csv", "ehc_plans", [child("C001"), child("C002")], config),
        "sen_support": write_list(tmp_path / "sen-support.csv", "sen_support", [child("C003"), child("C002")], config),
    }
    problems = rejected(files, config).problems
    assert [str(p) for p in problems] == [
        "sen-support.csv, row 3, column 'Child Ref', child id C002: this child is also on the EHC plan list "
        "(ehc-plans.csv, row 3): a child has an EHC plan or receives SEN support, not both; remove one"
    ]


def test_child_on_both_lists_is_found_beside_other_errors(tmp_path: Path, config: ChildDataConfig) -> None:
    """A list with row errors is still compared with the other, so one rejection names every problem."""
    files: dict[ListKind, Path] = {
        "ehc_plans": write_list(tmp_path / "ehc-plans.csv", "ehc_plans", [child("C001", primary_need="?")], config),
        "sen_support": write_list(tmp_path / "sen-support.csv", "sen_support", [child("C001")], config),
    }
    assert [(p.file, p.row, p.column) for p in rejected(files, config).problems] == [
        ("ehc-plans.csv", 2, "Primary Need"),
        ("sen-support.csv", 2, "Child Ref"),
    ]


def test_setting_missing_from_providers_list_warns_once(tmp_path: Path, config: ChildDataConfig) -> None:
    """Children at a setting that is not on the providers list give one warning for that setting, with a count."""
    away = {"setting_name": "Farleigh Marsh Special School", "setting_urn": "", "setting_type": "Out County Special"}
    files: dict[ListKind, Path] = {
        "ehc_plans": write_list(
            tmp_path / "ehc-plans.csv",
            "ehc_plans",
            [child("C001"), child("C002", **away), child("C003", **away)],
            config,
        ),
        "providers": write_list(tmp_path / "providers.csv", "providers", [provider()], config),
    }
    data = import_lists(files, config=config, notified_on=ON)
    assert [str(p) for p in data.problems] == [
        "ehc-plans.csv, row 3, column 'Setting', child id C002: this setting is not on the providers list "
        "(providers.csv): 2 child(ren) on this list attend it, this row first; add it to the providers list if it "
        "is one of the area's"
    ]


def test_every_file_is_checked_before_rejecting(tmp_path: Path, config: ChildDataConfig) -> None:
    """One rejection carries the problems of every file, so the coordinator can fix them all at once."""
    files: dict[ListKind, Path] = {
        "ehc_plans": write_list(tmp_path / "ehc-plans.csv", "ehc_plans", [child("C001", primary_need="X")], config),
        "sen_support": write_list(
            tmp_path / "sen-support.csv", "sen_support", [child("C002", setting_type="Y")], config
        ),
        "providers": tmp_path / "providers.pdf",
    }
    assert [f"{p.file}: {p.column}" for p in rejected(files, config).problems] == [
        "ehc-plans.csv: Primary Need",
        "sen-support.csv: School Type",
        "providers.pdf: None",
    ]


def test_many_errors_are_capped_with_their_count(tmp_path: Path, config: ChildDataConfig) -> None:
    """A list with hundreds of errors is rejected with the first 200 shown and the total counted."""
    rows = [child(f"C{n:04d}", primary_need="Unknown") for n in range(250)]
    info = rejected({"ehc_plans": write_list(tmp_path / "ehc-plans.csv", "ehc_plans", rows, config)}, config)
    assert (len(info.problems), info.total, info.error_count) == (200, 250, 250)
    assert (
        str(info).splitlines()[0]
        == "rejected: 250 error(s), 0 warning(s); nothing was stored (showing the first 200 of 250)"
    )


def test_sheet_named_in_config_is_read(tmp_path: Path, config: ChildDataConfig) -> None:
    """A list kept on a named sheet of a workbook is read from that sheet."""
    csv_path = write_list(tmp_path / "e.csv", "ehc_plans", [child("C001")], config)
    book = tmp_path / "lists.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"About": ["cover sheet"]}).to_excel(writer, sheet_name="Cover", index=False)
        pd.read_csv(csv_path, dtype=str).to_excel(writer, sheet_name="EHCP", index=False)
    lists = config.lists.model_copy(update={"ehc_plans": config.lists.ehc_plans.model_copy(update={"sheet": "EHCP"})})
    on_sheet = config.model_copy(update={"lists": lists})
    data: ChildData = import_lists({"ehc_plans": book}, config=on_sheet, notified_on=ON)
    frame = data.frame("ehc_plans")
    assert frame is not None and frame["child_id"].tolist() == ["C001"]


def workbook_list(config: ChildDataConfig) -> list[list[object]]:
    """Return an EHC plan list as workbook cells: dates, whole numbers, text like numbers, empty cells, formulas."""
    born, started = date(2015, 3, 4), date(2021, 9, 1)
    rows: list[list[object]] = [
        ["C001", born, "ASD", 900001, "Mainstream", started],
        [1002, datetime(2015, 3, 4, 10, 30), "ASD", 900001.0, "Mainstream", started],
        ["007", "04/03/2015", Formula('"A"&"SD"', "ASD"), "0900001", Formula("B1", "Mainstream"), ""],
        ["C004", None, None, 1.5, "Mainstream", None],
        ["C005", Formula("A1"), "ASD", "", "Mainstream", datetime(2021, 9, 1, 9, 30)],
        [Formula("1000+6", 1006), Formula("DATE(2015,3,4)", born), "ASD", 900001, "Mainstream", Formula("B2")],
        ["C007", 42000, 5, True, "Mainstream", started],
        ["C008", time(9, 0), "ASD", 900001, 2023, started],
    ]
    heads = config.columns("ehc_plans")
    fields = ["child_id", "date_of_birth", "primary_need", "setting_urn", "setting_type", "ehcp_start_date"]
    fixed = {"first_name": "Testy", "last_name": "Examplewick", "setting_name": "Ambleford Demo Primary School"}
    return [list(heads.values())] + [
        [fixed.get(f, dict(zip(fields, row, strict=True)).get(f)) for f in heads] for row in rows
    ]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_workbook_cells_give_the_same_problems(tmp_path: Path, config: ChildDataConfig, suffix: str) -> None:
    """Each kind of cell in a workbook list gives the same problems, word for word, in XLSX and ODS."""
    sheets = {"EHCP": workbook_list(config)}
    if suffix == ".xlsx":  # date cells shown dd/mm/yyyy, as a UK spreadsheet shows them
        path = write_xlsx_cells(tmp_path / "ehc-plans.xlsx", sheets, uk_dates=True)
    else:
        path = write_ods_cells(tmp_path / "ehc-plans.ods", sheets)
    imported = check_list(path, "ehc_plans", config=config, notified_on=ON)
    assert [str(p) for p in imported.problems] == [
        f"ehc-plans{suffix}, row 3, column 'DOB', child id 1002: not a valid date (write dd/mm/yyyy or yyyy-mm-dd); "
        "the value is not shown because it is a date of birth",
        f"ehc-plans{suffix}, row 5, column 'DOB', child id C004: the date of birth is empty",
        f"ehc-plans{suffix}, row 5, column 'Primary Need', child id C004: the primary need is empty: "
        "write NSA if it is not yet assessed",
        f"ehc-plans{suffix}, row 5, column 'URN', child id C004: {URN}",
        f"ehc-plans{suffix}, row 6, column 'DOB', child id C005: the date of birth is empty",
        f"ehc-plans{suffix}, row 6, column 'EHCP Start Date', child id C005: {STARTED}",
        f"ehc-plans{suffix}, row 8, column 'DOB', child id C007: not a valid date (write dd/mm/yyyy or yyyy-mm-dd); "
        "the value is not shown because it is a date of birth",
        f"ehc-plans{suffix}, row 8, column 'Primary Need', child id C007: {NEED}",
        f"ehc-plans{suffix}, row 8, column 'URN', child id C007: {URN}",
        f"ehc-plans{suffix}, row 9, column 'DOB', child id C008: not a valid date (write dd/mm/yyyy or yyyy-mm-dd); "
        "the value is not shown because it is a date of birth",
        f"ehc-plans{suffix}, row 9, column 'Setting Type', child id C008: {SETTING}",
    ]
    rows = imported.rows
    assert rows is not None
    assert rows["child_id"].tolist()[:6] == ["C001", "1002", "007", "C004", "C005", "1006"]
    assert rows["setting_urn"].tolist()[:3] == ["900001", "900001", "0900001"]
    assert rows["date_of_birth"].tolist()[:3] == [date(2015, 3, 4), None, date(2015, 3, 4)]
    assert rows["date_of_birth"].tolist()[5] == date(2015, 3, 4)
    assert rows["ehcp_start_date"].tolist()[:3] == [date(2021, 9, 1), date(2021, 9, 1), None]
