"""child_data.yaml: the partnership's columns and words, and its mistakes reported with file, line and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from send_inspection.childdata.columns import (
    ChildDataConfig,
    SettingSpec,
    load_child_data_config,
    optional_fields,
    required_fields,
)
from send_inspection.config.loader import ConfigError, ConfigProblem
from tests.childdata.conftest import DEMO


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Return a folder holding a copy of Demo County's child_data.yaml that a test may break."""
    shutil.copy(DEMO / "child_data.yaml", tmp_path / "child_data.yaml")
    return tmp_path


def edit(folder: Path, old: str, new: str) -> int:
    """Replace the first `old` in child_data.yaml by `new`; return the 1-based line where `old` started."""
    path = folder / "child_data.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    index = text.index(old)
    path.write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")
    return text[:index].count("\n") + 1


def only_problem(folder: Path) -> ConfigProblem:
    """Load `folder`, expecting exactly one problem, and return it."""
    with pytest.raises(ConfigError) as info:
        load_child_data_config(folder)
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def test_demo_maps_every_list(config: ChildDataConfig) -> None:
    """Demo County names a column for every field of every list."""
    for kind in ("ehc_plans", "sen_support", "providers"):
        assert set(config.columns(kind)) == {*required_fields(kind), *optional_fields(kind)}  # type: ignore[arg-type]
    assert config.columns("ehc_plans")["date_of_birth"] == "DOB"


def test_codes_and_words_map_ignoring_case_and_spaces(config: ChildDataConfig) -> None:
    """DfE codes and the partnership's words are understood whatever their case and spacing."""
    assert config.need_code("asd") == "ASD"
    assert config.need_code("  autistic   spectrum disorder ") == "ASD"
    assert config.need_code("Dyslexia") == "SPLD"
    assert config.need_code("Dyscalculia") is None


def test_setting_words_carry_the_out_of_area_flag(config: ChildDataConfig) -> None:
    """A word for an out-of-area setting gives its type and the flag; type names are understood as they are."""
    assert config.setting("Out County Special") == SettingSpec(type="special school", out_of_area=True)
    assert config.setting("PRU") == SettingSpec(type="alternative provision")
    assert config.setting("special school") == SettingSpec(type="special school")
    assert config.setting("Boarding") is None


def test_unknown_need_code_names_its_line(folder: Path) -> None:
    """A word mapped to something that is not a DfE code is reported at its own line."""
    line = edit(folder, "  Dyslexia: SPLD", "  Dyslexia: DYS")
    problem = only_problem(folder)
    assert problem.file == str(folder / "child_data.yaml")
    assert (problem.line, problem.field) == (line, "primary_need.Dyslexia")
    assert problem.message == (
        "'DYS' is not a DfE primary need code (use one of SPLD, MLD, SLD, PMLD, SEMH, SLCN, HI, VI, MSI, PD, ASD, "
        "OTH, NSA)"
    )


def test_misspelt_field_is_suggested(folder: Path) -> None:
    """A misspelt canonical field names its line and the field it probably meant."""
    line = edit(folder, "      date_of_birth: DOB", "      date_of_brith: DOB")
    with pytest.raises(ConfigError) as info:
        load_child_data_config(folder)
    by_field = {p.field: p for p in info.value.problems}
    unknown = by_field["lists.ehc_plans.columns.date_of_brith"]
    assert (unknown.line, unknown.message) == (line, "unknown field 'date_of_brith' (did you mean 'date_of_birth'?)")
    assert by_field["lists.ehc_plans.columns.date_of_birth"].message == "required field 'date_of_birth' is missing"


def test_one_column_for_two_fields_is_refused(folder: Path) -> None:
    """Two fields of one list cannot read the same column."""
    line = edit(folder, "      last_name: Last Name", "      last_name: first name")
    problem = only_problem(folder)
    assert (problem.line, problem.field) == (line, "lists.sen_support.columns.last_name")
    assert problem.message == "column 'first name' is already used for first_name: each field needs its own column"


def test_misspelt_setting_type_is_suggested(folder: Path) -> None:
    """A setting word mapped to a type that does not exist names its line and the nearest type."""
    line = edit(folder, "  Nursery: early years", "  Nursery: early year")
    problem = only_problem(folder)
    assert (problem.line, problem.field) == (line, "setting_type.Nursery.type")
    assert problem.message == "'early year' is not a setting type (did you mean 'early years'?)"


def test_word_meaning_two_codes_is_refused(folder: Path) -> None:
    """The same word (ignoring case) cannot mean two different needs."""
    edit(folder, "  Other: OTH\n", "  Other: OTH\n  OTHER: NSA\n")
    problem = only_problem(folder)
    assert problem.field == "primary_need.OTHER"
    assert problem.message == "'OTHER' is the same word as 'Other', which means 'OTH': it cannot also mean 'NSA'"


def test_code_cannot_mean_another_code(folder: Path) -> None:
    """A DfE code written as a word cannot be mapped to a different code."""
    edit(folder, "  Other: OTH\n", "  Other: OTH\n  asd: SLCN\n")
    assert only_problem(folder).message == "'asd' is the DfE code 'ASD': it cannot mean 'SLCN'"


def test_setting_word_with_two_meanings_is_refused(folder: Path) -> None:
    """A setting word cannot be mapped again to a different type, nor redefine a type's own name."""
    line = edit(
        folder, "  Other: other\n", "  Other: other\n  special school: {type: special school, out_of_area: true}\n"
    )
    problem = only_problem(folder)
    assert (problem.line, problem.field) == (line + 1, "setting_type.special school")
    assert problem.message == "'special school' is the same word as 'special school', which means something else"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A folder without child_data.yaml says the file is required."""
    problem = only_problem(tmp_path)
    assert problem.message == "file not found: child_data.yaml is required"
