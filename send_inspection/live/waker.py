"""Wake a waiting phase live: resume its suspended flow run once, however many decisions arrive together."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.exceptions import NotPausedError, ObjectNotFound
from prefect.flow_runs import resume_flow_run
from prefect.states import State

from send_inspection.engine.context import EngineContext
from send_inspection.engine.phase_rows import get_phase

log = logging.getLogger(__name__)

# Seconds between tries while our row says waiting but the run has not yet suspended on the server: soon at first,
# then less often. On a busy machine that gap took seconds (p95 6.4 s with 20 inspections at once), and every try is
# a new Prefect client and a call to the server, in the web app beside the pages people wait on. Past the last try
# the ticker wakes the phase (its news is counted).
WAKE_PAUSES = (0.25, 0.5, 1.0, 2.0, 4.0)
# Prefect states of a run resumed already (a suspended run goes to Scheduled "Resuming", then Pending as a worker
# starts its process) while our row still says waiting: it reads every decision recorded when its pass starts.
STARTING_AGAIN = (StateType.SCHEDULED, StateType.PENDING)


class PrefectWaker:
    """Resume a suspended phase run; retry briefly if our row says waiting before the server has it suspended."""

    def __init__(self, ctx: EngineContext, *, pauses: tuple[float, ...] = WAKE_PAUSES) -> None:
        self.ctx = ctx
        self.pauses = pauses
        self._busy: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def wake(self, inspection_id: str, phase: str, *, reason: str, due_at: datetime | None = None) -> None:
        """Resume the phase's run once, however many decisions arrive together (the ticker covers any miss).

        With `due_at` (the ticker's time) the run is resumed only while it is still due then: news not yet read,
        or its wake time come; a pass that ran meanwhile may have made the wake pointless.
        """
        with self._lock:
            if (inspection_id, phase) in self._busy:
                # A wake is already on its way: the resumed run reads every decision recorded so far, and
                # one recorded after its pass makes it go again instead of waiting (the change counter).
                return
            self._busy.add((inspection_id, phase))
        try:
            self._wake(inspection_id, phase, reason=reason, due_at=due_at)
        except (httpx.HTTPError, OSError) as exc:
            # The decision is in our database already; the ticker wakes the phase once the server is back.
            trouble = (f"the Prefect server answered {exc.response.status_code}"
                       if isinstance(exc, httpx.HTTPStatusError) else "the Prefect server is not answering")
            log.warning("wake %s/%s: %s (%s); the ticker wakes it later", inspection_id, phase, trouble, exc)
        finally:
            with self._lock:
                self._busy.discard((inspection_id, phase))

    def resume_with(self, inspection_id: str, phase: str, *, input_for: Callable[[str], dict[str, object]]) -> bool:
        """Resume the waiting phase's run with the input its pause asks for (`input_for(pause key)`), tried as a wake
        is; say False only if the run never suspended. A phase not waiting reads what was recorded when it gets
        there."""
        return self._wake(inspection_id, phase, reason="", due_at=None, input_for=input_for)

    def _wake(self, inspection_id: str, phase: str, *, reason: str, due_at: datetime | None,
              input_for: Callable[[str], dict[str, object]] | None = None) -> bool:
        for pause in (*self.pauses, None):
            run = get_phase(self.ctx, inspection_id, phase)
            # A run not waiting has nothing to wake: before it waits it counts the news recorded meanwhile and goes
            # again (begin_wait), and a run not yet started reads everything when it starts. Retrying here would
            # only hold this thread (in the web app, one a person's page needs) while its pass runs.
            if run is None or run.status != "waiting" or not run.flow_run_id:
                return True
            if due_at is not None and run.changes <= run.seen_changes and (
                    run.next_wake_at is None or run.next_wake_at > due_at):
                return True
            try:
                key = pause_key(run.flow_run_id) if input_for is not None else None
                if input_for is None or key is not None:
                    run_input = {"reason": reason} if input_for is None else input_for(key)
                    if resume(run.flow_run_id, run_input=run_input):
                        log.info("woke %s %s: %s", inspection_id, phase, reason or "its input given")
                    return True
            except (NotPausedError, RuntimeError, ObjectNotFound) as exc:
                # Our row says waiting a moment before the run suspends on the server, or after another wake
                # resumed it and before its pass starts.
                log.info("wake %s/%s not yet possible: %s", inspection_id, phase, exc)
            if starting_again(run.flow_run_id):
                log.info("wake %s/%s: its run was resumed already and reads this when it starts", inspection_id, phase)
                return True
            if pause is not None:
                time.sleep(pause)
        return False

    def wake_in_background(self, inspection_id: str, phase: str, *, reason: str) -> None:
        """Wake without holding up the caller."""
        threading.Thread(
            target=self.wake, args=(inspection_id, phase), kwargs={"reason": reason}, daemon=True
        ).start()


def already_resumed(exc: httpx.HTTPError) -> bool:
    """Say whether the Prefect server refused a resume because another resume stored the run's input first (409)."""
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == httpx.codes.CONFLICT


def resume(flow_run_id: str, *, run_input: dict[str, object]) -> bool:
    """Resume a suspended run with `run_input`; say whether this call resumed it (a run another waker resumed first
    counts as resumed, and is not this call's)."""
    try:
        resume_flow_run(UUID(flow_run_id), run_input=run_input)
    except httpx.HTTPStatusError as exc:
        if not already_resumed(exc):
            raise
        # Two wakes raced (the web app's and the ticker's): the first stored its input and resumed the run, which
        # reads every decision recorded so far. Success, not an outage.
        log.info("run %s was already resumed by another wake", flow_run_id)
        return False
    return True


def starting_again(flow_run_id: str) -> bool:
    """Say whether the flow run was resumed already and has yet to start (Scheduled, or Pending as it starts)."""
    state = _state(flow_run_id)
    return state is not None and state.type in STARTING_AGAIN


def pause_key(flow_run_id: str) -> str | None:
    """Return the key of the pause the flow run is suspended in, or None while it is not paused."""
    state = _state(flow_run_id)
    return state.state_details.pause_key if state is not None and state.is_paused() else None


def _state(flow_run_id: str) -> State | None:
    """Return the flow run's state as the Prefect server has it now."""
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id)).state
