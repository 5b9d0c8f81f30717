"""Fictional children: plausible proportions, ages and needs, unique ids, names only from the made-up lists."""

from __future__ import annotations

from collections import Counter
from datetime import date

from send_inspection.childdata.dates import age_on
from send_inspection.childdata.fiction import FIRST_NAMES, LAST_NAMES, make_children
from tests.childdata.conftest import ON


def test_proportions_are_plausible() -> None:
    """A third have EHC plans (0-25), the rest SEN support (school age); ASD and SEMH lead; a few % AP and away."""
    lists, settings = make_children(3000, seed=1, as_of=ON)
    ehcp, support = lists["ehc_plans"], lists["sen_support"]
    assert (len(ehcp), len(support)) == (1000, 2000)
    assert {age_on(c.date_of_birth, ON) for c in ehcp} <= set(range(26))
    assert {age_on(c.date_of_birth, ON) for c in support} == set(range(4, 16))
    assert [code for code, _ in Counter(c.need_code for c in ehcp).most_common(2)] == ["ASD", "SEMH"]
    everyone = ehcp + support
    in_ap = sum(c.setting_type.type == "alternative provision" for c in everyone) / len(everyone)
    away = sum(c.setting_type.out_of_area for c in everyone) / len(everyone)
    assert 0.01 < in_ap < 0.06 and 0.01 < away < 0.08
    assert len({c.child_id for c in everyone}) == 3000
    assert all(c.first_name in FIRST_NAMES and c.last_name in LAST_NAMES for c in everyone)
    attended = {c.setting for c in everyone if c.setting}
    assert attended <= set(settings)


def test_plan_starts_after_birth_and_before_notification() -> None:
    """Every EHC plan starts after the child was born and before the notification date (babies' may be blank)."""
    lists, _ = make_children(3000, seed=2, as_of=ON)
    for c in lists["ehc_plans"]:
        assert c.ehcp_start_date is None or c.date_of_birth < c.ehcp_start_date < ON
        assert c.ehcp_start_date is not None or c.date_of_birth > date(2022, 12, 26)


def test_same_seed_same_children() -> None:
    """The same seed and date give the same children."""
    assert make_children(50, seed=9, as_of=ON) == make_children(50, seed=9, as_of=ON)
