"""Keep each phase's flow run alive between passes in a rehearsal: a wait parks its thread, a wake resumes it.

Live, a waiting phase holds no process: its run is suspended and resumed later (a new process). A rehearsal runs
on a virtual clock in one process, so a wait there parks the run's thread instead, and the driver resumes it when
the phase is due again. One flow run per phase for the whole rehearsal, instead of one per pass, is what lets a
whole inspection rehearse in seconds. Exactly one thread runs at a time — the driver's or one phase's — so the
rehearsal stays deterministic: the driver hands the baton to a phase and waits until the phase hands it back by
waiting again or by ending.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# How long the driver waits for a phase to hand the baton back before it calls the rehearsal stuck.
HANDBACK_TIMEOUT = 600.0


@dataclass
class _Run:
    """One phase's flow run on its own thread, and the baton passed between it and the driver."""

    key: tuple[str, str]
    resume: threading.Event = field(default_factory=threading.Event)
    handed_back: threading.Event = field(default_factory=threading.Event)
    go_on: bool = True
    ended: bool = False
    error: BaseException | None = None
    thread: threading.Thread | None = None


class ParkedRuns:
    """The live flow runs of a rehearsal, one per phase, each parked while its phase waits."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str], _Run] = {}
        self._local = threading.local()

    def run(self, key: tuple[str, str], flow: Callable[..., Any], *, params: dict[str, Any]) -> None:
        """Resume the parked run of phase `key` (inspection id, phase), or start its flow on a new thread.

        Return once the phase waits again or its run ends.
        """
        run = self._runs.get(key)
        if run is not None and not run.ended:
            run.go_on = True
            self._hand_over(run)
            return
        run = _Run(key=key)
        self._runs[key] = run
        context = contextvars.copy_context()  # the rehearsal's Prefect settings and harness reach the thread

        def body() -> None:
            self._local.run = run
            try:
                context.run(flow, **params)
            except BaseException as exc:  # noqa: BLE001 - handed to the driver, which raises it
                run.error = exc
            finally:
                run.ended = True
                run.handed_back.set()

        run.thread = threading.Thread(target=body, name=f"rehearsal {key[0]} {key[1]}", daemon=True)
        run.handed_back.clear()
        run.thread.start()
        self._wait_for_handback(run)

    def park(self) -> bool:
        """Park the calling phase's run until the driver resumes it; return False when the rehearsal is over.

        Called from outside a parked run (a flow called on the driver's own thread), return False: end the run.
        """
        run: _Run | None = getattr(self._local, "run", None)
        if run is None:
            return False
        run.resume.clear()
        run.handed_back.set()
        run.resume.wait()
        return run.go_on

    def end_all(self) -> None:
        """Let every parked run end (its wait returns False) and wait for its thread."""
        for run in list(self._runs.values()):
            if not run.ended:
                run.go_on = False
                self._hand_over(run)
            if run.thread is not None:
                run.thread.join(timeout=HANDBACK_TIMEOUT)

    def _hand_over(self, run: _Run) -> None:
        run.handed_back.clear()
        run.resume.set()
        self._wait_for_handback(run)

    def _wait_for_handback(self, run: _Run) -> None:
        if not run.handed_back.wait(timeout=HANDBACK_TIMEOUT):
            raise RuntimeError(f"rehearsal stuck: {run.key[1]} did not wait or end within {HANDBACK_TIMEOUT:.0f}s")
        if run.error is not None:
            error, run.error = run.error, None
            raise error
