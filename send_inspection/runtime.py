"""The runtime a flow runs in: how it waits, launches and wakes; live (send_inspection.live) or a rehearsal's."""

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


def installed_runtime() -> Runtime | None:
    """Return the runtime installed in this process, if any (the live wiring builds one on first use)."""
    return _current


def install_runtime(runtime: Runtime) -> Runtime:
    """Make `runtime` this process's runtime for good (the live one) and return it."""
    global _current
    _current = runtime
    return runtime


@contextmanager
def use_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Run flows in this process with `runtime` (rehearsals and tests)."""
    global _current
    previous, _current = _current, runtime
    try:
        yield runtime
    finally:
        _current = previous
