"""The national vocabularies: DfE primary need codes in their broad areas, setting types and age bands."""

from __future__ import annotations

import pytest

from send_inspection.childdata.codes import BROAD_AREAS, NEED_CODES, age_band, broad_area


def test_each_code_belongs_to_its_broad_area() -> None:
    """The thirteen DfE codes fall in the four broad areas of need, OTH and NSA in 'other / not yet assessed'."""
    areas = {area: sorted(c for c in NEED_CODES if broad_area(c) == area) for area in BROAD_AREAS}
    assert areas == {
        "communication and interaction": ["ASD", "SLCN"],
        "cognition and learning": ["MLD", "PMLD", "SLD", "SPLD"],
        "social, emotional and mental health": ["SEMH"],
        "sensory and/or physical": ["HI", "MSI", "PD", "VI"],
        "other / not yet assessed": ["NSA", "OTH"],
    }


@pytest.mark.parametrize(
    ("age", "band"),
    [(0, "0-4"), (4, "0-4"), (5, "5-10"), (10, "5-10"), (11, "11-15"), (15, "11-15"), (16, "16-19"), (19, "16-19"),
     (20, "20-25"), (25, "20-25")],
)  # fmt: skip
def test_age_bands_have_inclusive_edges(age: int, band: str) -> None:
    """Each age from 0 to 25 falls in exactly the band whose edges include it."""
    assert age_band(age) == band


def test_age_outside_the_lists_has_no_band() -> None:
    """Ages past 25 are refused rather than put in a band."""
    with pytest.raises(ValueError, match="age 26 is outside 0-25"):
        age_band(26)
