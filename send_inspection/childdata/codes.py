"""The fixed vocabularies of the child-level data: the lists, DfE primary need codes, setting types, age bands.

These are national (DfE SEN2 and school census codes, the SEND code of practice's four broad areas of
need), so they live in code; each partnership's own words for them are mapped in `child_data.yaml`.
"""

from __future__ import annotations

from typing import Literal

ListKind = Literal["ehc_plans", "sen_support", "providers"]
CHILD_LISTS: tuple[ListKind, ...] = ("ehc_plans", "sen_support")
LISTS: tuple[ListKind, ...] = ("ehc_plans", "sen_support", "providers")

LIST_TITLES: dict[ListKind, str] = {
    "ehc_plans": "EHC plan list",
    "sen_support": "SEN support list",
    "providers": "providers and settings list",
}

COMMUNICATION = "communication and interaction"
COGNITION = "cognition and learning"
SEMH_AREA = "social, emotional and mental health"
SENSORY = "sensory and/or physical"
OTHER_AREA = "other / not yet assessed"
BROAD_AREAS: tuple[str, ...] = (COMMUNICATION, COGNITION, SEMH_AREA, SENSORY, OTHER_AREA)

# DfE primary need code -> (description, broad area of need).
NEED_CODES: dict[str, tuple[str, str]] = {
    "SPLD": ("Specific learning difficulty", COGNITION),
    "MLD": ("Moderate learning difficulty", COGNITION),
    "SLD": ("Severe learning difficulty", COGNITION),
    "PMLD": ("Profound and multiple learning difficulty", COGNITION),
    "SEMH": ("Social, emotional and mental health", SEMH_AREA),
    "SLCN": ("Speech, language and communication needs", COMMUNICATION),
    "HI": ("Hearing impairment", SENSORY),
    "VI": ("Vision impairment", SENSORY),
    "MSI": ("Multi-sensory impairment", SENSORY),
    "PD": ("Physical disability", SENSORY),
    "ASD": ("Autistic spectrum disorder", COMMUNICATION),
    "OTH": ("Other difficulty or disability", OTHER_AREA),
    "NSA": ("SEN support but no specialist assessment of type of need", OTHER_AREA),
}
UNASSESSED_CODES = frozenset({"OTH", "NSA"})

SETTING_TYPES: tuple[str, ...] = (
    "mainstream school",
    "special school",
    "resourced provision/unit",
    "further education",
    "early years",
    "alternative provision",
    "independent/non-maintained special school",
    "home educated",
    "not in education",
    "other",
)
ALTERNATIVE_PROVISION = "alternative provision"
# A child of these setting types may have no setting name.
NO_SETTING = frozenset({"home educated", "not in education"})

AGE_MIN, AGE_MAX = 0, 25
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-4", 0, 4),
    ("5-10", 5, 10),
    ("11-15", 11, 15),
    ("16-19", 16, 19),
    ("20-25", 20, 25),
)


def age_band(age: int) -> str:
    """Return the age band ('0-4' … '20-25') that `age` falls in."""
    for name, low, high in AGE_BANDS:
        if low <= age <= high:
            return name
    raise ValueError(f"age {age} is outside {AGE_MIN}-{AGE_MAX}")


def broad_area(code: str) -> str:
    """Return the broad area of need of a DfE primary need code."""
    return NEED_CODES[code][1]
