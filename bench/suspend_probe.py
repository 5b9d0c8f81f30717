"""Serve an empty flow that suspends once: the floor of the suspend/resume design, measured beside the product."""

from __future__ import annotations

from prefect import flow
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput


class Go(RunInput):
    """The input that resumes the probe."""

    reason: str = "go"


@flow(name="suspend-probe")
def suspend_probe() -> str:
    """Suspend once without holding a process, then finish."""
    given = suspend_flow_run(wait_for_input=Go, key="probe", timeout=None)
    return given.reason


if __name__ == "__main__":
    suspend_probe.serve(name="probe")
