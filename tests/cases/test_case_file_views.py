"""The record of the case files inspectors open: by case id only, refused with the field when wrong."""

from __future__ import annotations

from datetime import datetime

import pytest

from send_inspection.calendar import LONDON
from send_inspection.cases.case_file_views import (
    CaseFileViewRefused,
    case_files_opened,
    opened_by_day,
    record_case_file_opened,
)
from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.engine.inspection import open_inspection
from tests.conftest import NOTIFIED

WEEK3 = datetime(2023, 7, 11, 10, 15, tzinfo=LONDON)


@pytest.fixture
def iid(ctx: EngineContext) -> str:
    """Open the demo inspection with one tracked case, on the Tuesday of week 3."""
    inspection = open_inspection(ctx, NOTIFIED, mode="rehearsal")
    with ctx.session() as session:
        session.add(m.TrackedCase(inspection_id=inspection, child_id="DC1001", list_kind="ehc_plans",
                                  selected_at=NOTIFIED, selected_by="inspection-coordinator"))
        session.commit()
    ctx.clock.set(datetime(2023, 7, 11, 16, 0, tzinfo=LONDON))  # type: ignore[attr-defined]
    return inspection


def test_each_file_opened_is_kept_with_its_system_inspector_and_time(ctx: EngineContext, iid: str) -> None:
    """Two files opened are listed in the order opened, a tracked case marked, and counted by day for operators."""
    record_case_file_opened(ctx, iid, case_id="DC2002", inspector="Jane Doe HMI", system="EHC case management",
                            opened_at=WEEK3.replace(hour=11), recorded_by="inspection-coordinator")
    first = record_case_file_opened(ctx, iid, case_id=" DC1001 ", inspector="Jane  Doe HMI",
                                    system="Children's social care records", opened_at=WEEK3,
                                    recorded_by="inspection-coordinator")
    assert first.tracked and first.case_id == "DC1001" and first.inspector == "Jane Doe HMI"
    views = case_files_opened(ctx, iid)
    assert [(v.case_id, v.tracked) for v in views] == [("DC1001", True), ("DC2002", False)]
    assert opened_by_day(views) == {"Tue 11 Jul": 2}


@pytest.mark.parametrize(("fields", "field"), [
    ({"case_id": "Amelia Hart"}, "case"),  # a name typed where the id goes: refused, and not quoted back
    ({"inspector": " "}, "inspector"),
    ({"system": ""}, "system"),
    ({"opened_at": datetime(2023, 7, 12, 9, 0, tzinfo=LONDON)}, "opened-at"),
    ({"opened_at": datetime(2023, 6, 1, 9, 0, tzinfo=LONDON)}, "opened-at"),
])
def test_a_wrong_record_is_refused_naming_its_field_and_nothing_is_kept(ctx: EngineContext, iid: str,
                                                                        fields: dict, field: str) -> None:
    """A name instead of a case id, a missing inspector or system, or an impossible time: refused, nothing kept."""
    given = {"case_id": "DC1001", "inspector": "Jane Doe HMI", "system": "EHC case management", "opened_at": WEEK3,
             **fields}
    with pytest.raises(CaseFileViewRefused) as refused:
        record_case_file_opened(ctx, iid, recorded_by="inspection-coordinator", **given)
    assert refused.value.field == field and "Amelia" not in str(refused.value)
    assert case_files_opened(ctx, iid) == []
