"""Keep the checked lists of one inspection in our own storage: all three at once, or nothing.

The lists hold children's names and dates of birth, so they live only here (a folder only its owner
can read, under the product's home), never in Prefect. An import replaces the previous one whole.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pandas as pd

from send_inspection.childdata.checks import texts
from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.importer import ChildData, ImportedList, import_lists
from send_inspection.childdata.problems import Problem
from send_inspection.childdata.reading import ROW

MANIFEST = "manifest.json"
_DATES = ("date_of_birth", "ehcp_start_date")


def store_lists(data: ChildData, folder: Path) -> Path:
    """Write the checked lists to `folder`, replacing an earlier import only once everything is written.

    On any failure nothing new is left and an earlier import stays as it was.
    """
    folder = Path(folder)
    with staged_folder(folder) as staging:
        write_lists(data, staging)
    return folder


def write_lists(data: ChildData, folder: Path) -> None:
    """Write the checked lists and their manifest into the empty folder `folder`."""
    manifest = {
        "notified_on": data.notified_on.isoformat(),
        "lists": {kind: {"file": imported.file, "rows": len(imported.frame)} for kind, imported in _checked(data)},
        "problems": [dict(vars(p)) for p in data.problems],  # as asdict(p), whose deep copy is slow for thousands
    }
    for kind, imported in _checked(data):
        _write_csv(imported.frame, folder / f"{kind}.csv")
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")  # no indent: the C encoder, 10x faster


@contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """Yield a new empty folder beside `folder` that only its owner can open; put it in `folder`'s place when the
    block ends, or remove it if the block fails, so that `folder` holds a whole import or the one it held."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.incoming-{uuid.uuid4().hex}")
    staging.mkdir(mode=0o700)
    try:
        yield staging
        _replace_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already once it has taken `folder`'s place


def _replace_folder(new: Path, folder: Path) -> None:
    """Put the folder `new` in the place of `folder`, removing the one it replaces (restored if the move fails)."""
    previous = folder.with_name(f".{folder.name}.previous-{uuid.uuid4().hex}")
    had = folder.exists()
    if had:
        os.replace(folder, previous)
    try:
        os.replace(new, folder)
    except BaseException:
        if had:
            os.replace(previous, folder)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a checked list as CSV text: dates as yyyy-mm-dd, nothing as '' (the csv module: 3x pandas' to_csv)."""
    columns = [_as_text(texts(frame[name])) for name in frame.columns]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(frame.columns)
        writer.writerows(zip(*columns, strict=True))


def _as_text(values: list[object]) -> list[object]:
    """Return a column's values as the CSV writes them, turning each distinct value into text once."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return values
    if kinds == {int}:  # row numbers and ages
        return list(map(str, values))
    if bool in kinds and len(kinds) > 1:  # True == 1: no shared lookup for a mixed column
        return [_text(v) for v in values]
    found = {v: _text(v) for v in set(values)}
    return [found[v] for v in values]


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _checked(data: ChildData) -> list[tuple[str, ImportedList]]:
    return [(kind, imported) for kind, imported in data.lists.items() if imported.frame is not None]


def import_and_store(
    files: Mapping[ListKind, Path | str], *, config: ChildDataConfig, notified_on: date, folder: Path
) -> ChildData:
    """Import the lists and store them in `folder`; on ImportRejected nothing is written."""
    data = import_lists(files, config=config, notified_on=notified_on)
    store_lists(data, folder)
    return data


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a stored list back its types: row and age as numbers, dates as dates, the flag as a bool."""
    frame[ROW] = frame[ROW].astype(int)
    if "age" in frame:
        frame["age"] = frame["age"].astype(int)
    for name in _DATES:
        if name in frame:
            frame[name] = [date.fromisoformat(v) if v else None for v in frame[name]]
    frame["out_of_area"] = frame["out_of_area"].eq("True")
    return frame


def load_stored(folder: Path) -> ChildData:
    """Read back the lists stored in `folder`."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    lists = {}
    for kind, info in manifest["lists"].items():
        frame = pd.read_csv(folder / f"{kind}.csv", dtype=str, keep_default_na=False, na_filter=False)
        lists[kind] = ImportedList(kind, info["file"], _typed(frame), [])
    problems = [Problem(**p) for p in manifest["problems"]]
    return ChildData(date.fromisoformat(manifest["notified_on"]), lists, problems)
