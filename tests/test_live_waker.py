"""How the waker reads the Prefect server's answers to a resume: a conflict is another wake's success."""

from __future__ import annotations

import httpx
import pytest

from send_inspection.live.waker import already_resumed


def _answered(code: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1:4200/api/flow_runs/0/resume")
    response = httpx.Response(code, request=request, json={"detail": "Data integrity conflict."})
    return httpx.HTTPStatusError(f"{code}", request=request, response=response)


@pytest.mark.parametrize(("error", "resumed"), [
    (_answered(409), True),  # another wake stored the run's input first: the run is resumed
    (_answered(500), False),
    (_answered(503), False),
    (httpx.ConnectError("connection refused"), False),
])
def test_only_a_conflict_means_the_run_was_resumed_by_another_wake(error: httpx.HTTPError, resumed: bool) -> None:
    """A 409 to a resume is the double resume of two wakes racing; a 5xx or a refused connection is trouble."""
    assert already_resumed(error) is resumed
