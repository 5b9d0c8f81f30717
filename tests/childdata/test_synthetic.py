"""Synthetic Demo County lists: our own headings and words, deterministic by seed, and the command line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.synthetic import generate, main
from tests.childdata.conftest import ON


def read(path: Path) -> list[dict[str, str]]:
    """Return the rows of a CSV as dicts."""
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_same_seed_same_files_and_another_seed_differs(tmp_path: Path, config: ChildDataConfig) -> None:
    """Two runs with one seed write identical files; another seed writes different ones."""
    first = generate(tmp_path / "a", children=300, seed=3, as_of=ON, config=config)
    again = generate(tmp_path / "b", children=300, seed=3, as_of=ON, config=config)
    other = generate(tmp_path / "c", children=300, seed=4, as_of=ON, config=config)
    kinds: list[ListKind] = ["ehc_plans", "sen_support", "providers"]
    assert all(first[k].read_bytes() == again[k].read_bytes() for k in kinds)
    assert first["ehc_plans"].read_bytes() != other["ehc_plans"].read_bytes()


def test_files_use_the_partnerships_headings(config: ChildDataConfig, synthetic: dict[ListKind, Path]) -> None:
    """Each file's header row is the partnership's own column headings from child_data.yaml."""
    for kind, path in synthetic.items():
        with path.open(encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == list(config.columns(kind).values())


def test_values_are_in_the_partnerships_words(config: ChildDataConfig, synthetic: dict[ListKind, Path]) -> None:
    """Needs and setting types are written as codes or the partnership's own words, and all of them map."""
    rows = read(synthetic["ehc_plans"]) + read(synthetic["sen_support"])
    needs = {row.get("Primary Need") or row["SEN Need"] for row in rows}
    settings = {row.get("Setting Type") or row["School Type"] for row in rows}
    assert all(config.need_code(n) for n in needs) and needs & set(config.primary_need)
    assert all(config.setting(s) for s in settings) and "Out County Special" in settings


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_command_line_writes_the_three_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """`python -m send_inspection.childdata.synthetic` writes the three lists and prints their paths."""
    code = main(["--children", "60", "--out", str(tmp_path), "--seed", "1", "--as-of", "2023-06-26", "--format", fmt])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert code == 0 and names == sorted(f"{n}.{fmt}" for n in ("ehc-plans", "sen-support", "providers"))
    assert capsys.readouterr().out.split() == [
        str(tmp_path / f"{n}.{fmt}") for n in ("ehc-plans", "sen-support", "providers")
    ]


def test_command_line_reports_a_broken_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config folder without child_data.yaml is reported and nothing is written."""
    out = tmp_path / "out"
    assert main(["--children", "5", "--out", str(out), "--config", str(tmp_path)]) == 2
    assert "file not found: child_data.yaml is required" in capsys.readouterr().err
    assert not out.exists()


def test_a_name_marker_gives_every_child_unique_names_and_changes_nothing_else(
    tmp_path: Path, config: ChildDataConfig
) -> None:
    """With a name marker each child's first and last names are unique and start with it; other columns stay."""
    plain = generate(tmp_path / "plain", children=300, seed=3, as_of=ON, config=config)
    seeded = generate(tmp_path / "seeded", children=300, seed=3, as_of=ON, config=config, name_marker="qzv")
    names: list[str] = []
    for kind in ("ehc_plans", "sen_support"):
        heads = config.columns(kind)  # type: ignore[arg-type]
        before, after = read(plain[kind]), read(seeded[kind])  # type: ignore[index]
        assert len(before) == len(after) > 0
        for old, new in zip(before, after, strict=True):
            assert {k: v for k, v in old.items() if k not in (heads["first_name"], heads["last_name"])} == {
                k: v for k, v in new.items() if k not in (heads["first_name"], heads["last_name"])}
            names += [new[heads["first_name"]], new[heads["last_name"]]]
    assert len(names) == 600 and len(set(names)) == 600
    assert all(n.startswith("Qzv") and n.isalpha() and len(n) == 8 for n in names)
    assert not any(a in b for a in names for b in names if a != b)  # no name hides inside another
    assert plain["providers"].read_bytes() == seeded["providers"].read_bytes()


@pytest.mark.parametrize("marker", ["qz", "q-zv", "Qzé"])
def test_a_name_marker_must_be_three_plain_letters(tmp_path: Path, config: ChildDataConfig, marker: str) -> None:
    """A marker that is short or not plain letters is refused, naming it, and nothing is written."""
    with pytest.raises(ValueError, match=f"name marker '{marker}' must be at least three letters a-z"):
        generate(tmp_path / "out", children=5, seed=1, as_of=ON, config=config, name_marker=marker)
    assert not (tmp_path / "out").exists()


def test_command_line_seeds_names_and_refuses_a_bad_marker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--name-marker` writes seeded names; a bad marker is reported and nothing is written."""
    assert main(["--children", "10", "--out", str(tmp_path / "a"), "--name-marker", "Zqx"]) == 0
    assert read(tmp_path / "a" / "ehc-plans.csv")[0]["Forename"] == "Zqxfaaaa"
    assert main(["--children", "10", "--out", str(tmp_path / "b"), "--name-marker", "Z1"]) == 2
    assert "name marker 'Z1' must be at least three letters a-z" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
