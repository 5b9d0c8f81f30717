"""A document that expands to hundreds of megabytes is refused from its zip directory, and no document check holds
up anyone else's page (issue 22, item 2)."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.evidence import file_submission, isolated_checks
from send_inspection.evidence.document_checks import check_document
from send_inspection.evidence.isolated_checks import UNFINISHED, check_isolated
from send_inspection.files.storage import UploadRefused, store_upload
from send_inspection.web.app import create_app
from tests.helpers import free_port
from tests.security.documents import MIB, word_package
from tests.web.test_sign_off import count, link_for, submit_form

TODAY = date(2023, 6, 26)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a 199 KiB .docx whose document.xml expands to 200 MiB."""
    return word_package(tmp_path_factory.mktemp("bomb") / "Self evaluation.docx", expanded=200 * MIB)


def test_the_bomb_is_small(bomb: Path) -> None:
    """The package is about 200 KiB on disk: far inside the 25 MB upload limit."""
    assert bomb.stat().st_size < 256 * 1024


def test_a_package_expanding_past_the_bound_is_refused_with_its_reason(tmp_path: Path, bomb: Path) -> None:
    """store_upload reads the sizes from the zip directory and refuses, saying by how much; nothing is written."""
    with pytest.raises(UploadRefused, match="'Self evaluation.docx' cannot be accepted: it expands to 200 MiB when "
                                            "opened, more than the 100 MiB we accept"):
        store_upload(tmp_path / "kept", bomb.name, bomb.read_bytes())
    assert not (tmp_path / "kept").exists()


def test_a_package_expanding_too_many_times_over_is_refused(tmp_path: Path) -> None:
    """Under the total bound, a package expanding more than a hundred times over is refused too."""
    path = word_package(tmp_path / "Plan.docx", expanded=20 * MIB)
    with pytest.raises(UploadRefused, match=r"it expands [\d,]+ times over when opened \(20 MiB\), more than "
                                            "the 100 times we accept"):
        store_upload(tmp_path / "kept", path.name, path.read_bytes())


def test_the_submitter_is_told_and_nothing_is_recorded(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                                       bomb: Path) -> None:
    """On the sign-off page the evidence lead sees why; no submission, decision or file is kept."""
    _, item = started
    from fastapi.testclient import TestClient

    response = TestClient(create_app(ctx)).post(
        f"/a/{link_for(ctx, item.evidence_lead, item.ref)}", data=submit_form(item, outcome="submitted"),
        files={"file": (bomb.name, bomb.read_bytes(), "application/octet-stream")})
    assert response.status_code == 422 and "it expands to 200 MiB when opened" in response.text
    assert count(ctx, m.Submission) == 0 and count(ctx, m.Decision) == 0 and not ctx.uploads_dir.exists()


def test_a_stored_bomb_is_never_opened_by_the_checks(bomb: Path) -> None:
    """A package already stored (before the bound existed) is reported from its directory, not expanded."""
    tracemalloc.start()
    report = check_document(bomb, today=TODAY)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.notes == ["the machine did not open this document: it expands to 200 MiB when opened, more than "
                            "the 100 MiB we accept"]
    assert peak < 4 * MIB


def test_a_long_document_is_read_as_a_stream(tmp_path: Path) -> None:
    """Checking a document whose text is 40 MiB holds a few megabytes at most: it is never read whole."""
    path = word_package(tmp_path / "Long.docx", expanded=40 * MIB, paragraph_bytes=256 * 1024, varied=True)
    tracemalloc.start()
    report = check_document(path, today=TODAY)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.notes == [] and report.tracked_changes == 0
    assert peak < 8 * MIB


def test_a_check_that_passes_its_limits_is_ended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that cannot finish within its own limits is ended, and the reviewer is told a person must look."""
    path = word_package(tmp_path / "Plan.docx", expanded=MIB)
    monkeypatch.setattr(isolated_checks, "CHECK_WALL_SECONDS", 0.001)
    assert check_isolated(path, today=TODAY).notes == [UNFINISHED]


@pytest.fixture
def served(ctx: EngineContext) -> Iterator[str]:
    """Serve the web app with uvicorn on a free loopback port; return its base URL."""
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.02)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


def test_other_pages_answer_while_a_document_is_checked(ctx: EngineContext, started: tuple[str, m.RegisterItem],
                                                        served: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """While one upload's check is held in progress, /healthz and another person's page answer; then it finishes."""
    iid, item = started
    checking, release = threading.Event(), threading.Event()

    def held_check(path: Path, *, today: date) -> object:
        checking.set()
        release.wait(30)
        return check_isolated(path, today=today)

    monkeypatch.setattr(file_submission, "check_isolated", held_check)
    document = word_package(tmp_path / "Self evaluation.docx", expanded=MIB)
    with ctx.session() as session:
        other = session.scalars(select(m.RegisterItem).where(m.RegisterItem.inspection_id == iid,
                                                             m.RegisterItem.ref != item.ref,
                                                             m.RegisterItem.phase == "day2")).first()
    answers: list[int] = []

    def upload() -> None:
        answers.append(httpx.post(f"{served}/a/{link_for(ctx, item.evidence_lead, item.ref)}",
                                  data=submit_form(item, outcome="submitted"), timeout=60,
                                  files={"file": (document.name, document.read_bytes())}).status_code)

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        assert checking.wait(30), "the upload never reached its check"
        # A page that waited for the check would time out here: the check is held until these have answered.
        assert httpx.get(f"{served}/healthz", timeout=5).json() == {"status": "ok"}
        assert httpx.get(f"{served}/a/{link_for(ctx, other.evidence_lead, other.ref)}", timeout=5).status_code == 200
        assert answers == []
    finally:
        release.set()
        uploader.join(60)
    assert answers == [200] and count(ctx, m.Submission) == 1
