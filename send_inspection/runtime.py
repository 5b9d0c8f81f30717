"""The runtime a flow runs in: live (Prefect suspend/resume, system clock) or a rehearsal (virtual clock)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from send_inspection.engine.context import EngineContext
from send_inspection.engine.notification import SurveyLinks


class Waiter(Protocol):
    """How a phase waits: suspend the Prefect run (live), or end the pass and let the driver call again."""

    def wait(self, inspection_id: str, phase: str, *, reason: str, next_wake_at: datetime | None) -> bool:
        """Wait for a wake-up; return True to reconcile again now, False to end this run."""
        ...

    def survey_links(self, inspection_id: str) -> SurveyLinks | None:
        """Return the survey links, waiting for the coordinator if need be; None ends this run."""
        ...


class Launcher(Protocol):
    """Start another phase of the inspection."""

    def start(self, inspection_id: str, phase: str) -> None:
        """Start `phase` for the inspection once, however often this is called."""
        ...


class Waker(Protocol):
    """Wake a waiting phase at once (after a decision)."""

    def wake(self, inspection_id: str, phase: str, *, reason: str) -> None:
        """Wake the phase's run if it waits."""
        ...


@dataclass
class Runtime:
    """The engine context plus how this process waits, launches and wakes."""

    context: EngineContext
    waiter: Waiter
    launcher: Launcher
    waker: Waker
    mode: str = "live"


_current: Runtime | None = None


def current_runtime() -> Runtime:
    """Return the runtime of this process, building the live one from settings on first use."""
    global _current
    if _current is None:
        from send_inspection.live import build_live_runtime

        _current = build_live_runtime()
    return _current


@contextmanager
def use_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Run flows in this process with `runtime` (rehearsals and tests)."""
    global _current
    previous, _current = _current, runtime
    try:
        yield runtime
    finally:
        _current = previous
