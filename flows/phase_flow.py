"""Make a phase's Prefect flow from its catalogue entry: the flow's name, its run name and its retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import Flow, flow

from flows.naming import phase_run_name
from send_inspection.catalogue.phases import PhaseSpec


def phase_flow(spec: PhaseSpec) -> Callable[[Callable[..., Any]], Flow]:
    """Return the decorator making a function the flow of phase `spec`, named as its deployment expects.

    A run that fails for a reason other than mail (mail failures never leave a pass: see ADR 0003) is run again
    from the top twice, a minute apart: every pass is safe to repeat, each side effect being keyed.
    """
    return flow(name=spec.deployment.flow_name, flow_run_name=phase_run_name(spec.label, param=spec.parameter),
                log_prints=True, retries=2, retry_delay_seconds=60)
