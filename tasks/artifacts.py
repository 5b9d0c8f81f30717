"""Publish operators' artifacts: skip one identical to what the flow run last published under its key.

A phase publishes its register and its waiting reason after every pass. Live, each pass after a wake is a new
flow run in a new process, so every pass shows. A rehearsal keeps one flow run per phase for weeks of virtual
time and passes hundreds of times: there an artifact is kept back and only the last content of each key is
published, by the driver when the rehearsal ends (`publish_deferred`), against the flow run that made it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate
from prefect.runtime import flow_run, task_run

from send_inspection.live.wiring import current_runtime

_published: dict[tuple[str, str], str] = {}
_deferred: dict[tuple[str, str], ArtifactCreate] = {}
_lock = threading.Lock()


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


def publish_table(key: str, table: Sequence[dict[str, Any]], *, description: str) -> None:
    """Publish a table artifact unless this flow run already published the same one under `key`."""
    rows = list(table)
    if _is_new(key, [rows, description]) and not _defer(key, "table", json.dumps(rows, default=str), description):
        create_table_artifact(key=key, table=rows, description=description)


def publish_markdown(key: str, markdown: str, *, description: str) -> None:
    """Publish a markdown artifact unless this flow run already published the same one under `key`."""
    if _is_new(key, [markdown, description]) and not _defer(key, "markdown", markdown, description):
        create_markdown_artifact(key=key, markdown=markdown, description=description)


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
