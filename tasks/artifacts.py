"""Build every operators' artifact: figures, ids, states and the product's own words, never a person's typing.

This module is the only one that creates Prefect artifacts (tests/security/test_typed_text_in_prefect.py keeps it
so). What goes in is made by the product: counts, references, person and case ids, states, times, labels from the
config. Nothing a person typed (debriefs, requests, feedback, comments, case selection, a mail server's answer)
is given to it. As a second guard, every text it publishes (markdown, table cells, descriptions) is made inert
(`inert`): a link, an image or a piece of HTML in it shows as the characters it is made of, and an address of
another site as plain text, so the Prefect UI neither opens nor fetches anything from it.

A phase publishes its register and its waiting reason after every pass. Live, each pass after a wake is a new
flow run in a new process, so every pass shows. A rehearsal keeps one flow run per phase for weeks of virtual
time and passes hundreds of times: there an artifact is kept back and only the last content of each key is
published, by the driver when the rehearsal ends (`publish_deferred`), against the flow run that made it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate
from prefect.runtime import flow_run, task_run

from send_inspection.calendar import to_london
from send_inspection.live.wiring import current_runtime

_published: dict[tuple[str, str], str] = {}
_deferred: dict[tuple[str, str], ArtifactCreate] = {}
_lock = threading.Lock()

# Characters that open a link, an image, an autolink or HTML in markdown: shown as themselves (backslash escapes
# are CommonMark's; the angle brackets become entities, which no markdown reads as structure).
_ESCAPES = {"\\": "\\\\", "[": "\\[", "]": "\\]", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile(r"[\\\[\]<>]")
# A URL scheme or a bare web address: written with an escaped slash or dot, so that no autolink forms.
_ADDRESS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}):(/)|\b(www)(\.)")
Cell = str | int | float | bool | date | datetime | None


def inert(text: str) -> str:
    """Return `text` as markdown that shows it as written: no link, image, HTML or address of another site."""
    escaped = _SPECIAL.sub(lambda m: _ESCAPES[m.group()], str(text))
    return _ADDRESS.sub(lambda m: f"{m.group(1)}:\\/" if m.group(1) else "www\\.", escaped)


def _cell(value: Cell) -> Cell:
    """Return a table cell as published: numbers and flags as they are, times in London, text made inert."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return f"{to_london(value):%a %d %b %Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%a %d %b %Y}"
    if isinstance(value, str):
        return inert(value)
    raise TypeError(f"an artifact cell must be a figure, a time or the product's words, not {type(value).__name__}")


def _is_new(key: str, content: object) -> bool:
    """Say whether `content` differs from what this flow run last published under `key`, and remember it."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    slot = (str(flow_run.id or ""), key)
    with _lock:
        if _published.get(slot) == digest:
            return False
        _published[slot] = digest
        return True


def _defer(key: str, kind: str, data: str, description: str) -> bool:
    """Keep the artifact back until the rehearsal ends; return False when live (publish it now)."""
    if current_runtime().mode != "rehearsal" or not flow_run.id:
        return False
    request = ArtifactCreate(key=key, type=kind, data=data, description=description, flow_run_id=UUID(flow_run.id),
                             task_run_id=UUID(task_run.id) if task_run.id else None)
    with _lock:
        _deferred[(flow_run.id, key)] = request
    return True


def publish_table(key: str, table: Sequence[dict[str, Cell]], *, description: str) -> None:
    """Publish a table artifact unless this flow run already published the same one under `key`."""
    rows = [{inert(name): _cell(value) for name, value in row.items()} for row in table]
    text = inert(description)
    if _is_new(key, [rows, text]) and not _defer(key, "table", json.dumps(rows, default=str), text):
        create_table_artifact(key=key, table=rows, description=text)


def publish_markdown(key: str, markdown: str, *, description: str, every_time: bool = False) -> None:
    """Publish a markdown artifact unless this flow run already published the same one under `key`.

    `every_time`: publish it now whatever was published before (an event to show, such as a mail problem).
    """
    body, text = inert(markdown), inert(description)
    if every_time:
        create_markdown_artifact(key=key, markdown=body, description=text)
    elif _is_new(key, [body, text]) and not _defer(key, "markdown", body, text):
        create_markdown_artifact(key=key, markdown=body, description=text)


def publish_progress(key: str, percent: float, *, description: str, progress_id: UUID | None = None) -> UUID:
    """Publish a progress artifact, or move on the one `progress_id` names; return its id."""
    if progress_id is not None:
        update_progress_artifact(progress_id, percent, description=inert(description))
        return progress_id
    return create_progress_artifact(percent, key=key, description=inert(description))


def publish_deferred() -> int:
    """Publish the last kept-back artifact of each key and flow run; return how many were published."""
    with _lock:
        pending = list(_deferred.values())
        _deferred.clear()
    if pending:
        with get_client(sync_client=True) as client:
            for request in pending:
                client.create_artifact(artifact=request)
    return len(pending)
