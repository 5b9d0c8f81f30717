"""Make fictional child-level data for Demo County, as our systems would export it; deterministic by seed.

    python -m send_inspection.childdata.synthetic --children 30000 --out DIR --seed 1

writes the EHC plan list, the SEN support list and the providers list (CSV, or --format xlsx/ods) in
the column headings and words of `child_data.yaml`. About a third of the children have an EHC plan
(ages 0 to 25) and the rest receive SEN support (school age); autism and SEMH are common; a few per
cent are in alternative provision or out of area. Every name is made up and obviously so.

With --name-marker MARKER every child instead gets a first and a last name of its own that starts with
MARKER (e.g. `Qzvfbaaa Qzvlbaaa`): nothing else changes, and a scan for those names cannot be confused
with ordinary words.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import random
import string
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from send_inspection.childdata.codes import ListKind
from send_inspection.childdata.columns import ChildDataConfig, SettingSpec, load_child_data_config
from send_inspection.childdata.dates import uk
from send_inspection.childdata.fiction import Child, Setting, make_children
from send_inspection.config.loader import ConfigError

FILE_NAMES: dict[ListKind, str] = {
    "ehc_plans": "ehc-plans",
    "sen_support": "sen-support",
    "providers": "providers",
}


class _Words:
    """Pick the partnership's own words for codes and setting types, the same way for the same seed."""

    def __init__(self, config: ChildDataConfig, rng: random.Random) -> None:
        self.config, self.rng = config, rng

    def need(self, code: str) -> str:
        """Return the code, or one of the partnership's words for it."""
        return self.rng.choice(self.config.words_for_need(code))

    def setting(self, spec: SettingSpec) -> str:
        """Return one of the partnership's words for a setting type (or, in the area, the type's own name)."""
        words = self.config.words_for_setting(spec) + ([] if spec.out_of_area else [spec.type])
        return self.rng.choice(words) if words else spec.type  # no word for this type out of area: in area


def rows(
    lists: dict[ListKind, list[Child]], settings: list[Setting], *, config: ChildDataConfig, seed: int
) -> dict[ListKind, list[dict[str, object]]]:
    """Return each list as rows keyed by the partnership's column headings (dates as date objects)."""
    words = _Words(config, random.Random(seed + 1))
    out: dict[ListKind, list[dict[str, object]]] = {}
    for kind, children in lists.items():
        heads = config.columns(kind)
        records = []
        for c in children:
            values: dict[str, object] = {
                "child_id": c.child_id,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "date_of_birth": c.date_of_birth,
                "primary_need": words.need(c.need_code),
                "setting_name": c.setting.name if c.setting else "",
                "setting_urn": c.setting.urn if c.setting else "",
                "setting_type": words.setting(c.setting_type),
                "ehcp_start_date": c.ehcp_start_date,
            }
            records.append({heads[f]: values[f] for f in heads})
        out[kind] = records
    heads = config.columns("providers")
    for s in settings:
        values = {
            "setting_name": s.name,
            "setting_urn": s.urn,
            "setting_type": words.setting(s.spec),
            "postcode": s.postcode,
        }
        out.setdefault("providers", []).append({heads[f]: values[f] for f in heads})
    return out


def seeded_names(lists: dict[ListKind, list[Child]], *, marker: str) -> dict[ListKind, list[Child]]:
    """Return the lists with each child's names replaced by unique ones starting with `marker`."""
    if len(marker) < 3 or not marker.isascii() or not marker.isalpha():
        raise ValueError(f"name marker {marker!r} must be at least three letters a-z")
    count = sum(len(children) for children in lists.values())
    width = max(4, len(_letters(count)))
    prefix = marker.capitalize()
    out: dict[ListKind, list[Child]] = {}
    index = 0
    for kind, children in lists.items():
        out[kind] = []
        for c in children:
            code = _letters(index).rjust(width, "a")
            out[kind].append(dataclasses.replace(c, first_name=f"{prefix}f{code}", last_name=f"{prefix}l{code}"))
            index += 1
    return out


def _letters(number: int) -> str:
    """Return `number` written in the letters a-z (0 is 'a', 26 is 'ba')."""
    digits = ""
    while True:
        number, digit = divmod(number, 26)
        digits = string.ascii_lowercase[digit] + digits
        if not number:
            return digits


def _as_text(value: object, *, iso: bool) -> object:
    if isinstance(value, date):
        return value.isoformat() if iso else uk(value)
    return "" if value is None else value


def write_lists(
    tables: dict[ListKind, list[dict[str, object]]], out: Path, *, config: ChildDataConfig, fmt: str = "csv"
) -> dict[ListKind, Path]:
    """Write each list to `out` as CSV (dates as dd/mm/yyyy, plan start dates ISO), XLSX or ODS (date cells)."""
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[ListKind, Path] = {}
    for kind, records in tables.items():
        heads = list(config.columns(kind).values())
        path = out / f"{FILE_NAMES[kind]}.{fmt}"
        if fmt == "csv":
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=heads)
                writer.writeheader()
                start = config.columns(kind).get("ehcp_start_date")
                writer.writerows({k: _as_text(v, iso=k == start) for k, v in r.items()} for r in records)
        else:
            frame = pd.DataFrame(records, columns=heads)
            frame.to_excel(path, index=False, engine="openpyxl" if fmt == "xlsx" else "odf")
        paths[kind] = path
    return paths


def generate(
    out: Path,
    *,
    children: int,
    seed: int,
    as_of: date,
    config: ChildDataConfig,
    fmt: str = "csv",
    name_marker: str | None = None,
) -> dict[ListKind, Path]:
    """Write fictional EHC plan, SEN support and providers lists for `children` children to `out`.

    With `name_marker`, every child's names are unique and start with it (see `seeded_names`); the rest is
    the same as without.
    """
    lists, settings = make_children(children, seed=seed, as_of=as_of)
    if name_marker is not None:
        lists = seeded_names(lists, marker=name_marker)
    return write_lists(rows(lists, settings, config=config, seed=seed), out, config=config, fmt=fmt)


def main(argv: Sequence[str] | None = None) -> int:
    """Write fictional Demo County lists from the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m send_inspection.childdata.synthetic", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--children", type=int, default=30_000, help="how many children in all (default 30000)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the lists to")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same lists")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=date.today(),
        help="ages are on this date (yyyy-mm-dd; default today)",
    )
    parser.add_argument("--format", choices=("csv", "xlsx", "ods"), default="csv")
    parser.add_argument("--config", type=Path, default=None, help="config folder holding child_data.yaml")
    parser.add_argument(
        "--name-marker",
        default=None,
        help="give every child unique names starting with these letters (for a data-protection scan)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        config = load_child_data_config(args.config)
        if args.name_marker is not None:
            seeded_names({}, marker=args.name_marker)  # refuse a bad marker before writing anything
    except (ConfigError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    paths = generate(args.out, children=args.children, seed=args.seed, as_of=args.as_of, config=config,
                     fmt=args.format, name_marker=args.name_marker)
    for path in paths.values():
        print(path)
    print(f"{args.children} children in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
