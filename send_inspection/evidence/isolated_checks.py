"""Run the document checks in a process of their own, with limits, so that no document slows anyone else.

A submitted document is opened by a short-lived child process whose memory, processor time and wall time are
bounded; at most CHECK_SLOTS run at once. The web app's own process never parses a document: its memory does
not grow and its pages keep answering while a check runs. A check that passes a limit is ended, and the report
says a person must look.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

from send_inspection.evidence.document_checks import DocumentReport, check_document

CHECK_SLOTS = 2
CHECK_MEMORY_BYTES = 512 * 1024 * 1024  # address space of the checking process
CHECK_CPU_SECONDS = 10
CHECK_WALL_SECONDS = 20
UNFINISHED = ("the machine could not finish checking this document (it is too large or too complex to open "
              "here): a person must look at it")

_slots = threading.BoundedSemaphore(CHECK_SLOTS)


def check_isolated(path: Path, *, today: date) -> DocumentReport:
    """Check the document at `path` in a bounded child process; a check that cannot finish says so in its notes."""
    command = [sys.executable, "-m", __name__, str(path), today.isoformat()]
    with _slots:
        try:
            done = subprocess.run(command, capture_output=True, timeout=CHECK_WALL_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            return DocumentReport(notes=[UNFINISHED])
    if done.returncode != 0:
        return DocumentReport(notes=[UNFINISHED])
    return DocumentReport(**json.loads(done.stdout))


def main(argv: list[str]) -> int:
    """Check one document within the limits and print its report as JSON (the child process's entry point)."""
    resource.setrlimit(resource.RLIMIT_AS, (CHECK_MEMORY_BYTES, CHECK_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CHECK_CPU_SECONDS, CHECK_CPU_SECONDS + 1))
    report = check_document(Path(argv[0]), today=date.fromisoformat(argv[1]))
    sys.stdout.write(json.dumps(report.as_dict()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
