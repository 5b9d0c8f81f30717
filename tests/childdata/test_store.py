"""Storing the checked lists: all at once, read back whole, and nothing at all when the import is rejected."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.problems import ImportRejected
from send_inspection.childdata.store import import_and_store, load_stored
from tests.childdata.conftest import ON, child, write_list


def test_stored_lists_read_back_the_same(
    tmp_path: Path, config: ChildDataConfig, synthetic: dict[ListKind, Path]
) -> None:
    """What is stored reads back with the same rows, types and warnings, in a folder only its owner can open."""
    folder = tmp_path / "store" / "demo-county-2023-06-26"
    data = import_and_store(synthetic, config=config, notified_on=ON, folder=folder)
    stored = load_stored(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stored.notified_on == ON and stored.problems == data.problems
    for kind in ("ehc_plans", "sen_support", "providers"):
        before, after = data.frame(kind), stored.frame(kind)  # type: ignore[arg-type]
        assert before is not None and after is not None
        assert after.equals(before), kind


def test_bad_file_stores_nothing(tmp_path: Path, config: ChildDataConfig) -> None:
    """A rejected import writes no folder at all."""
    folder = tmp_path / "store" / "demo"
    files: dict[ListKind, Path] = {
        "ehc_plans": write_list(tmp_path / "ehc-plans.csv", "ehc_plans", [child("C001"), child("C001")], config)
    }
    with pytest.raises(ImportRejected):
        import_and_store(files, config=config, notified_on=ON, folder=folder)
    assert not folder.exists()


def test_bad_file_leaves_the_previous_import_alone(tmp_path: Path, config: ChildDataConfig) -> None:
    """A rejected import leaves the last good one exactly as it was; a good one replaces it whole."""
    folder = tmp_path / "store" / "demo"
    good: dict[ListKind, Path] = {"ehc_plans": write_list(tmp_path / "good.csv", "ehc_plans", [child("C001")], config)}
    import_and_store(good, config=config, notified_on=ON, folder=folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    bad: dict[ListKind, Path] = {
        "ehc_plans": write_list(tmp_path / "bad.csv", "ehc_plans", [child("C002", primary_need="?")], config)
    }
    with pytest.raises(ImportRejected):
        import_and_store(bad, config=config, notified_on=ON, folder=folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    newer: dict[ListKind, Path] = {
        "sen_support": write_list(tmp_path / "s.csv", "sen_support", [child("C009")], config)
    }
    import_and_store(newer, config=config, notified_on=ON, folder=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "sen_support.csv"]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["demo"]
