"""Fictional children with SEND and the settings they attend, in canonical fields; deterministic by seed.

The shape follows England's published SEN2 and school census returns: about a third of children with
SEND have an EHC plan (ages 0 to 25), the rest receive SEN support (school age); autism and SEMH are
the commonest needs; a few per cent are in alternative provision or placed out of area. Every name
comes from the small made-up lists below, so nobody real is ever in the data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from send_inspection.childdata.codes import SETTING_TYPES, ListKind
from send_inspection.childdata.columns import SettingSpec

EHCP_SHARE = 1 / 3

FIRST_NAMES = (
    "Alfie", "Amara", "Arlo", "Bea", "Caspian", "Clementine", "Dex", "Edie", "Ezra", "Faye", "Finn", "Gwen",
    "Hugo", "Ivy", "Jasper", "Juno", "Kit", "Luna", "Milo", "Nell", "Otis", "Pip", "Quinn", "Rosa", "Rufus",
    "Sage", "Tobias", "Una", "Vince", "Wren", "Xander", "Yara", "Zeb",
)  # fmt: skip
LAST_NAMES = (
    "Applewhistle", "Bramblewick", "Buttonmoss", "Cloudberry", "Dandelyon", "Fernwhistle", "Figglebottom",
    "Gooseberry-Test", "Hedgehopper", "Inkwell", "Jellicoe-Demo", "Kettledrum", "Lilypad", "Moonpenny",
    "Nettlebed", "Pebbleworth", "Puddlejump", "Quillfeather", "Rumbleton", "Snickersnee", "Thimbleby",
    "Tumbletree", "Umbrellaby", "Wobblegate", "Yarrowby", "Zigzagg",
)  # fmt: skip
TOWNS = (
    "Ambleford", "Brackenbury", "Cindermoor", "Dapplecombe", "Eldermere", "Foxhollow", "Gildencote",
    "Hazelbrook", "Ironwick", "Juniper Vale", "Kestrel Green", "Larkspur", "Marrowdale", "Nutmeg End",
)  # fmt: skip
OUT_OF_AREA_TOWNS = ("Beyondbury", "Farleigh Marsh", "Yonderton", "Distant Hollow")
# setting type -> how its settings are named
SETTING_NAMES = {
    "mainstream school": ("{town} {n} Primary School", "{town} {n} Academy", "{town} {n} High School"),
    "special school": ("{town} {n} Special School",),
    "resourced provision/unit": ("{town} {n} Primary Resource Base",),
    "further education": ("{town} {n} College",),
    "early years": ("{town} {n} Nursery",),
    "alternative provision": ("{town} {n} Learning Centre",),
    "independent/non-maintained special school": ("{town} {n} Independent Special School",),
    "other": ("{town} {n} Hospital Education Service",),
}

# Primary needs (DfE code: weight), from the shape of England's SEN2 and school census returns.
EHCP_NEEDS = {
    "ASD": 33, "SEMH": 16, "SLCN": 15, "MLD": 8, "SLD": 6, "SPLD": 3, "PD": 4, "PMLD": 2, "HI": 2, "VI": 1,
    "MSI": 0.5, "OTH": 2, "NSA": 0.2,
}  # fmt: skip
SUPPORT_NEEDS = {
    "SLCN": 24, "SEMH": 20, "MLD": 15, "SPLD": 13, "ASD": 10, "PD": 2, "HI": 1, "VI": 0.6, "MSI": 0.2,
    "SLD": 0.5, "OTH": 5, "NSA": 4,
}  # fmt: skip
# Ages of children with EHC plans, 0 to 25: mostly of school age.
EHCP_AGE_WEIGHTS = (
    0.1, 0.3, 1, 2, 3.5, 5, 5.5, 6, 6.5, 7, 7, 7, 7, 7, 7, 6.5, 5.5, 5, 4, 3, 1.5, 1, 0.7, 0.5, 0.3, 0.2,
)  # fmt: skip
SUPPORT_AGES = range(4, 16)

MS, SP, RP, FE, EY, AP, IND, HOME, NIE, OTH = SETTING_TYPES
# (list, youngest age) -> {(setting type, out of area): weight}; the first row whose age is reached applies.
PLACEMENTS: dict[tuple[str, int], dict[tuple[str, bool], float]] = {
    ("ehc_plans", 20): {(FE, False): 40, (FE, True): 5, (IND, True): 10, (NIE, False): 30, (OTH, False): 15},
    ("ehc_plans", 16): {
        (FE, False): 38, (FE, True): 4, (SP, False): 20, (SP, True): 3, (MS, False): 12, (IND, False): 5,
        (IND, True): 5, (AP, False): 2, (NIE, False): 7, (HOME, False): 2, (OTH, False): 2,
    },
    ("ehc_plans", 5): {
        (MS, False): 39, (MS, True): 1.5, (SP, False): 29, (SP, True): 4, (RP, False): 6, (AP, False): 3,
        (IND, False): 4, (IND, True): 4, (HOME, False): 1.5, (NIE, False): 1.5, (OTH, False): 0.5,
    },
    ("ehc_plans", 4): {(EY, False): 40, (MS, False): 45, (SP, False): 10, (RP, False): 5},
    ("ehc_plans", 0): {(EY, False): 85, (NIE, False): 10, (OTH, False): 5},
    ("sen_support", 0): {
        (MS, False): 92, (MS, True): 1, (RP, False): 1.5, (AP, False): 2.5, (HOME, False): 2, (NIE, False): 0.5,
        (OTH, False): 0.5,
    },
}  # fmt: skip


@dataclass(frozen=True)
class Setting:
    """A fictional provider: its name, URN ('' for an unregistered one), type and out-of-area flag."""

    name: str
    urn: str
    spec: SettingSpec
    postcode: str


@dataclass(frozen=True)
class Child:
    """A fictional child on one list, in canonical fields."""

    child_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    need_code: str
    setting_type: SettingSpec
    setting: Setting | None
    ehcp_start_date: date | None


def _pool_sizes(children: int) -> dict[tuple[str, bool], int]:
    """Return how many settings of each kind a county of this many children with SEND has."""
    scale = max(children, 1)
    sizes = {
        (MS, False): scale // 70, (MS, True): scale // 3000, (SP, False): scale // 1200, (SP, True): scale // 3000,
        (RP, False): scale // 1000, (FE, False): scale // 6000, (FE, True): scale // 10000, (EY, False): scale // 300,
        (AP, False): scale // 2500, (IND, False): scale // 2500, (IND, True): scale // 2000, (OTH, False): 1,
    }  # fmt: skip
    return {key: max(n, 1) for key, n in sizes.items()}


def make_settings(children: int, rng: random.Random) -> dict[tuple[str, bool], list[Setting]]:
    """Return the providers of Demo County (and those out of area it uses), by (setting type, out of area)."""
    sizes = _pool_sizes(children)
    urns = iter(rng.sample(range(900_000, 1_000_000), sum(sizes.values())))
    pools: dict[tuple[str, bool], list[Setting]] = {}
    used: set[str] = set()
    for (kind, away), size in sizes.items():
        pool = pools.setdefault((kind, away), [])
        while len(pool) < size:
            town = rng.choice(OUT_OF_AREA_TOWNS if away else TOWNS)
            name = rng.choice(SETTING_NAMES[kind]).format(town=town, n=rng.choice(LAST_NAMES))
            name = _unique(name, used)
            used.add(name)
            registered = not (kind in (AP, OTH) and rng.random() < 0.5)
            spec = SettingSpec(type=kind, out_of_area=away)
            pool.append(Setting(name, str(next(urns)) if registered else "", spec, _postcode(rng, away=away)))
    return pools


def _unique(name: str, used: set[str]) -> str:
    """Return `name`, or `name (2)`, `name (3)`… if it is taken."""
    candidate, k = name, 1
    while candidate in used:
        k += 1
        candidate = f"{name} ({k})"
    return candidate


def _postcode(rng: random.Random, *, away: bool) -> str:
    """Return a made-up postcode: DC for Demo County, ZZ for out of area."""
    inward = f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTUWXYZ')}"
    return f"{'ZZ' if away else 'DC'}{rng.randint(1, 29)} {inward}"


def _date_of_birth(age: int, on: date, rng: random.Random) -> date:
    """Return a date of birth making someone exactly `age` on `on`."""
    latest = _years_before(on, age)
    earliest = _years_before(on, age + 1) + timedelta(days=1)
    return date.fromordinal(rng.randint(earliest.toordinal(), latest.toordinal()))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _plan_start(born: date, as_of: date, rng: random.Random) -> date | None:
    """Return when an EHC plan started: within the last 8 years, after a few months of life (None if too young)."""
    first = max(born + timedelta(days=180), as_of - timedelta(days=365 * 8))
    last = as_of - timedelta(days=1)
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal())) if first <= last else None


def _weighted(table: dict, rng: random.Random, count: int) -> list:
    return rng.choices(list(table), weights=list(table.values()), k=count)


def _placement(kind: str, age: int, rng: random.Random) -> tuple[str, bool]:
    for (table_kind, youngest), table in PLACEMENTS.items():
        if table_kind == kind and age >= youngest:
            return _weighted(table, rng, 1)[0]
    raise AssertionError(f"no placement table for {kind} aged {age}")


def make_children(children: int, *, seed: int, as_of: date) -> tuple[dict[ListKind, list[Child]], list[Setting]]:
    """Return fictional children on the EHC plan and SEN support lists, and the settings they attend."""
    rng = random.Random(seed)
    pools = make_settings(children, rng)
    ids = rng.sample(range(1_000_000, 10_000_000), children)
    ehcp_count = round(children * EHCP_SHARE)
    ages = _weighted(dict(enumerate(EHCP_AGE_WEIGHTS)), rng, ehcp_count)
    ages += [rng.choice(SUPPORT_AGES) for _ in range(children - ehcp_count)]
    needs = _weighted(EHCP_NEEDS, rng, ehcp_count) + _weighted(SUPPORT_NEEDS, rng, children - ehcp_count)
    lists: dict[ListKind, list[Child]] = {"ehc_plans": [], "sen_support": []}
    for index, (number, age, need) in enumerate(zip(ids, ages, needs, strict=True)):
        kind: ListKind = "ehc_plans" if index < ehcp_count else "sen_support"
        born = _date_of_birth(age, as_of, rng)
        placement = _placement(kind, age, rng)
        setting = rng.choice(pools[placement]) if placement in pools else None
        started = _plan_start(born, as_of, rng) if kind == "ehc_plans" else None
        spec = SettingSpec(type=placement[0], out_of_area=placement[1])
        first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        lists[kind].append(Child(f"DC{number}", first_name, last_name, born, need, spec, setting, started))
    settings = [s for pool in pools.values() for s in pool]
    return lists, settings
