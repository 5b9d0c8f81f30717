"""What a notification run made in Prefect was started with, read from its parameters to take it over."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import pytest
from prefect.client.schemas.objects import FlowRun

from send_inspection.calendar import LONDON
from send_inspection.engine.context import EngineContext
from send_inspection.live.unopened_starts import UnopenedStart, start_of


def run_with(**parameters: object) -> FlowRun:
    """Return a notification flow run as the Prefect API gives it, with these parameters."""
    return FlowRun(flow_id=uuid4(), name="jolly-otter", parameters=parameters)


def test_a_time_typed_without_a_zone_is_london_time_and_names_the_inspection(ctx: EngineContext) -> None:
    """As the flow reads it: London wall time, and the inspection named after the partnership and the date."""
    start = start_of(ctx, run_with(notified_at="2030-07-01T09:00", kind="monitoring", deliberate=True))
    assert start == UnopenedStart("demo-county-2030-07-01", datetime(2030, 7, 1, 9, 0, tzinfo=LONDON),
                                  "monitoring", deliberate=True)


def test_an_inspection_id_given_to_the_run_is_kept(ctx: EngineContext) -> None:
    """The run's own inspection id (a restart of a known inspection) is the one recorded."""
    start = start_of(ctx, run_with(notified_at="2030-07-01T09:00+01:00", inspection_id="demo-county-special"))
    assert start is not None and start.inspection_id == "demo-county-special" and start.kind == "full"


@pytest.mark.parametrize("parameters", [
    {},
    {"notified_at": "the first of July"},
    {"notified_at": 20300701},
    {"notified_at": "2030-07-01T09:00", "kind": "annual"},
])
def test_a_run_whose_parameters_could_not_open_an_inspection_is_left_alone(ctx: EngineContext,
                                                                           parameters: dict) -> None:
    """Without a readable time of the call or with an unknown kind, the run could never have opened anything."""
    assert start_of(ctx, run_with(**parameters)) is None
