"""The evidence library: versions kept, unchanged content not duplicated, and its use from the submit page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.db import models as m
from send_inspection.engine.context import EngineContext
from send_inspection.evidence.library import LibraryRefused, add_to_library, latest_in_library, library_versions
from send_inspection.files.storage import UploadRefused
from send_inspection.web.app import LIBRARY_OUTCOME, create_app
from tests.web.test_sign_off import item_state, link_for, submit_form

V1 = b"%PDF-1.7 Demo County SEND strategy, version 1"
V2 = b"%PDF-1.7 Demo County SEND strategy, version 2"


def test_versions_are_kept_and_repeats_ignored(ctx: EngineContext) -> None:
    """New content adds a version; the same content again changes nothing; every version stays readable."""
    first = add_to_library(ctx, "1.4", "Strategy.pdf", V1, loaded_by="lead-evidence-officer")
    again = add_to_library(ctx, "1.4", "Strategy (copy).pdf", V1, loaded_by="lead-evidence-officer")
    second = add_to_library(ctx, "1.4", "Strategy.pdf", V2, loaded_by="hos-send")
    assert (first.version, first.new, again.version, again.new, second.version, second.new) == (1, True, 1, False,
                                                                                                2, True)
    versions = library_versions(ctx, "1.4")
    assert [(v.version, v.loaded_by) for v in versions] == [(1, "lead-evidence-officer"), (2, "hos-send")]
    assert [Path(v.stored_path).read_bytes() for v in versions] == [V1, V2]
    assert latest_in_library(ctx, "1.4").version == 2
    assert latest_in_library(ctx, "2.1") is None


def test_unknown_rows_and_bad_files_are_refused(ctx: EngineContext) -> None:
    """A row not in the register, or a file type not accepted, is refused and nothing is stored."""
    with pytest.raises(LibraryRefused, match="'9.9' is not an Annex A row in register.yaml"):
        add_to_library(ctx, "9.9", "x.pdf", V1, loaded_by="lead-evidence-officer")
    with pytest.raises(UploadRefused, match="not a type we accept"):
        add_to_library(ctx, "1.4", "run.exe", b"MZ", loaded_by="lead-evidence-officer")
    assert library_versions(ctx, "1.4") == []


def test_the_lead_submits_the_library_version_as_it_is(ctx: EngineContext,
                                                       started: tuple[str, m.RegisterItem]) -> None:
    """The submit page offers the library's latest version, and pressing it submits that very file."""
    _, item = started
    add_to_library(ctx, item.ref, "Structure chart.pdf", V1, loaded_by="lead-evidence-officer")
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    page = client.get(f"/a/{token}").text
    assert "The evidence library holds <strong>Structure chart.pdf</strong> (version 1)" in page
    response = client.post(f"/a/{token}", data=submit_form(item, outcome=LIBRARY_OUTCOME))
    assert response.status_code == 200, response.text[:500]
    assert item_state(ctx, item.id) == ("approve", 1, None)
    with ctx.session() as session:
        submission = session.scalars(select(m.Submission)).one()
        decision = session.scalars(select(m.Decision)).one()
    assert (submission.filename, decision.outcome) == ("Structure chart.pdf", "submitted")
    assert Path(submission.stored_path).read_bytes() == V1


def test_an_uploaded_update_joins_the_library(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> None:
    """A file the lead uploads during the inspection becomes the library's next version."""
    _, item = started
    add_to_library(ctx, item.ref, "Structure chart.pdf", V1, loaded_by="lead-evidence-officer")
    client = TestClient(create_app(ctx))
    token = link_for(ctx, item.evidence_lead, item.ref)
    response = client.post(f"/a/{token}", data=submit_form(item, outcome="submitted"),
                           files={"file": ("Structure chart 2023.pdf", V2, "application/pdf")})
    assert response.status_code == 200
    assert [(v.version, v.filename, v.loaded_by) for v in library_versions(ctx, item.ref)] == [
        (1, "Structure chart.pdf", "lead-evidence-officer"), (2, "Structure chart 2023.pdf", item.evidence_lead)]


def test_the_cli_loads_and_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`library add` loads files as versions and `library list` shows them; a bad row is an error."""
    from send_inspection.cli import main

    monkeypatch.setenv("SEND_INSPECTION_HOME", str(tmp_path / "home"))
    doc = tmp_path / "Self evaluation.pdf"
    doc.write_bytes(V1)
    assert main(["library", "add", "--ref", "1.3", str(doc)]) == 0
    assert main(["library", "add", "--ref", "1.3", str(doc)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["1.3: Self evaluation.pdf is version 1",
                   "1.3: Self evaluation.pdf is version 1 (unchanged: the library already holds this content)"]
    assert main(["library", "list", "--ref", "1.3"]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("1.3                v1 ") and listed.rstrip().endswith("Self evaluation.pdf")
    assert main(["library", "add", "--ref", "9.9", str(doc)]) == 1
    assert "'9.9' is not an Annex A row" in capsys.readouterr().err
