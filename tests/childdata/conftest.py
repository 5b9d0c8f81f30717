"""Fixtures for the child-level data: Demo County's mapping, a notification date, hand-made and synthetic lists."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from send_inspection import PROJECT_ROOT
from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig, load_child_data_config
from send_inspection.childdata.synthetic import generate

DEMO = PROJECT_ROOT / "config" / "demo-county"
ON = date(2023, 6, 26)  # the notification date of every test


def child(child_id: str = "C001", **overrides: str) -> dict[str, str]:
    """Return one child's row in canonical fields, with fictional defaults that pass every check."""
    row = {
        "child_id": child_id,
        "first_name": "Testy",
        "last_name": "Examplewick",
        "date_of_birth": "04/03/2015",
        "primary_need": "Autism",
        "setting_name": "Ambleford Demo Primary School",
        "setting_urn": "900001",
        "setting_type": "Mainstream",
        "ehcp_start_date": "2021-09-01",
    }
    return {**row, **overrides}


def provider(
    name: str = "Ambleford Demo Primary School", urn: str = "900001", kind: str = "Mainstream"
) -> dict[str, str]:
    """Return one provider's row in canonical fields."""
    return {"setting_name": name, "setting_urn": urn, "setting_type": kind, "postcode": "DC1 1AA"}


def write_list(path: Path, kind: ListKind, rows: list[dict[str, str]], config: ChildDataConfig) -> Path:
    """Write `rows` (canonical fields) as a CSV with the partnership's headings for list `kind`."""
    headers = config.columns(kind)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers.values())
        writer.writerows([row.get(field, "") for field in headers] for row in rows)
    return path


@pytest.fixture(scope="session")
def config() -> ChildDataConfig:
    """Load Demo County's child_data.yaml once."""
    return load_child_data_config(DEMO)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory, config: ChildDataConfig) -> dict[ListKind, Path]:
    """Generate 200 fictional children (and their settings) as CSV, once."""
    out = tmp_path_factory.mktemp("synthetic")
    return generate(out, children=200, seed=7, as_of=ON, config=config)
