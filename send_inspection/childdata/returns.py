"""Write the child-level data return for the inspectors (XLSX or ODS) and its summary, which names nobody.

The return has one sheet per list in plain headings, with each child's age on the notification date
and broad area of need added. The summary holds counts only (no names, no dates of birth), so it is
safe to show in Prefect.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from send_inspection.childdata.checks import setting_key, texts
from send_inspection.childdata.codes import (
    AGE_BANDS,
    ALTERNATIVE_PROVISION,
    BROAD_AREAS,
    CHILD_LISTS,
    NEED_CODES,
    SETTING_TYPES,
    ListKind,
    age_band,
)
from send_inspection.childdata.columns import normalise
from send_inspection.childdata.importer import ChildData
from send_inspection.childdata.xlsx import write_xlsx

SHEETS: dict[ListKind, str] = {
    "ehc_plans": "EHC plans",
    "sen_support": "SEN support",
    "providers": "Providers and settings",
}
CHILD_HEADINGS = {
    "child_id": "Child ID",
    "first_name": "First name",
    "last_name": "Last name",
    "date_of_birth": "Date of birth",
    "age": "Age on notification date",
    "age_band": "Age band",
    "need_code": "Primary need code",
    "need": "Primary need",
    "broad_area": "Broad area of need",
    "setting_name": "Setting name",
    "setting_urn": "Setting URN",
    "setting_type": "Setting type",
    "out_of_area": "Out of area",
    "ehcp_start_date": "EHC plan start date",
}
PROVIDER_HEADINGS = {
    "setting_urn": "Setting URN",
    "setting_name": "Setting name",
    "setting_type": "Setting type",
    "out_of_area": "Out of area",
    "postcode": "Postcode",
    "ehc_plans": "Children with an EHC plan",
    "sen_support": "Children receiving SEN support",
}
COLUMN_TITLES: dict[str, str] = {"ehc_plans": "EHC plan", "sen_support": "SEN support", "all": "All"}


def _yes_no(flags: pd.Series) -> list[str]:
    return ["Yes" if flag else "No" for flag in texts(flags)]


def child_sheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a list of children in the inspectors' headings, with age band and need described."""
    ages, codes = texts(frame["age"]), texts(frame["need_code"])
    bands = {age: age_band(age) for age in set(ages)}
    out = frame.assign(
        age_band=[bands[a] for a in ages],
        need=[NEED_CODES[c][0] for c in codes],
        out_of_area=_yes_no(frame["out_of_area"]),
    )
    headings = {k: v for k, v in CHILD_HEADINGS.items() if k in out.columns}
    return out[list(headings)].rename(columns=headings).reset_index(drop=True)


def provider_sheet(data: ChildData) -> pd.DataFrame:
    """Return the providers list in the inspectors' headings, with how many listed children attend each."""
    providers = data.frame("providers")
    assert providers is not None
    keys = [setting_key(u, n) for u, n in zip(providers["setting_urn"], providers["setting_name"], strict=True)]
    known = set(keys)
    by_name = {normalise(n): k for k, n in zip(keys, providers["setting_name"], strict=True)}

    def attended(urn: str, name: str) -> str:
        key = setting_key(urn, name)
        return key if key in known else by_name.get(normalise(name), key)

    out = providers.assign(out_of_area=_yes_no(providers["out_of_area"]))
    for kind in CHILD_LISTS:
        children = data.frame(kind)
        pairs = (
            []
            if children is None
            else zip(texts(children["setting_urn"]), texts(children["setting_name"]), strict=True)
        )
        counts: Counter[str] = Counter()
        for (urn, name), many in Counter(pairs).items():  # each setting once, not each child
            counts[attended(urn, name)] += many
        out[kind] = [counts[k] for k in keys]
    return out[list(PROVIDER_HEADINGS)].rename(columns=PROVIDER_HEADINGS).reset_index(drop=True)


def return_sheets(data: ChildData) -> dict[str, pd.DataFrame]:
    """Return each imported list as a sheet of the return, by sheet name."""
    sheets = {}
    for kind in CHILD_LISTS:
        frame = data.frame(kind)
        if frame is not None:
            sheets[SHEETS[kind]] = child_sheet(frame)
    if data.frame("providers") is not None:
        sheets[SHEETS["providers"]] = provider_sheet(data)
    return sheets


def write_return(data: ChildData, path: Path) -> Path:
    """Write the return for the inspectors to `path` (.xlsx or .ods), one sheet per list."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".ods"):
        raise ValueError(f"write the return as .xlsx or .ods, not {path.suffix or 'a file without a suffix'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheets = return_sheets(data)
    if suffix == ".xlsx":  # written directly (xlsx.py), with readable column widths and a filter
        return write_xlsx(path, sheets, {name: _widths(sheet) for name, sheet in sheets.items()})
    with pd.ExcelWriter(path, engine="odf") as writer:
        for name, sheet in sheets.items():
            sheet.to_excel(writer, sheet_name=name, index=False, freeze_panes=(1, 0))
    return path


def _widths(sheet: pd.DataFrame) -> list[float]:
    """Return readable widths for an XLSX sheet's columns: the longest of the heading and the first 500 values."""
    widths = []
    for index, heading in enumerate(sheet.columns):
        longest = max([len(heading), *(len(str(v)) for v in sheet.iloc[:500, index])])
        widths.append(min(longest + 2, 50))
    return widths


def _counts(frame: pd.DataFrame | None) -> dict[str, Any]:
    """Return the counts of one list of children: total, by broad area, age band, setting type, AP, out of area."""
    if frame is None:
        frame = pd.DataFrame({"broad_area": [], "age": [], "setting_type": [], "out_of_area": []})
    ages = Counter(texts(frame["age"]))
    bands = Counter({band: 0 for band, _, _ in AGE_BANDS})
    for age, many in ages.items():
        bands[age_band(age)] += many
    areas, settings = Counter(texts(frame["broad_area"])), Counter(texts(frame["setting_type"]))
    return {
        "children": len(frame),
        "by_broad_area": {area: areas[area] for area in BROAD_AREAS},
        "by_age_band": {band: bands[band] for band, _, _ in AGE_BANDS},
        "by_setting_type": {kind: settings[kind] for kind in SETTING_TYPES},
        "alternative_provision": settings[ALTERNATIVE_PROVISION],
        "out_of_area": sum(bool(flag) for flag in texts(frame["out_of_area"])),
    }


def _add(a: Any, b: Any) -> Any:
    return {k: _add(a[k], b[k]) for k in a} if isinstance(a, dict) else a + b


def summarise(data: ChildData) -> dict[str, Any]:
    """Return the counts of the return (by list and in all), with no names and no dates of birth."""
    per_list = {kind: _counts(data.frame(kind)) for kind in CHILD_LISTS}
    providers = data.frame("providers")
    return {
        "notified_on": data.notified_on.isoformat(),
        **per_list,
        "all": _add(per_list["ehc_plans"], per_list["sen_support"]),
        "providers": None if providers is None else len(providers),
    }


def summary_markdown(summary: dict[str, Any]) -> str:
    """Return the summary as a markdown table: one row per count, a column per list and one for all."""
    columns = list(COLUMN_TITLES)
    lines = [
        f"| Child-level data on {summary['notified_on']} | {' | '.join(COLUMN_TITLES.values())} |",
        f"|---|{'---:|' * len(columns)}",
    ]

    def row(label: str, values: list[Any]) -> None:
        lines.append(f"| {label} | {' | '.join(str(v) for v in values)} |")

    row("**Children and young people**", [summary[c]["children"] for c in columns])
    for section, title in (
        ("by_broad_area", "Broad area of need"),
        ("by_age_band", "Age"),
        ("by_setting_type", "Setting type"),
    ):
        row(f"**{title}**", [""] * len(columns))
        for key in summary["all"][section]:
            row(key, [summary[c][section][key] for c in columns])
    row("**Alternative provision**", [summary[c]["alternative_provision"] for c in columns])
    row("**Out of area**", [summary[c]["out_of_area"] for c in columns])
    if summary["providers"] is not None:
        lines.append(f"\nProviders and settings listed: {summary['providers']}")
    return "\n".join(lines) + "\n"
