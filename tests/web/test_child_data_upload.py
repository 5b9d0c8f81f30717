"""The child-level data item: the lists are checked on upload, refused with where, or turned into the return."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from send_inspection.childdata.columns import ChildDataConfig
from send_inspection.childdata.items import data_folder
from send_inspection.childdata.synthetic import generate
from send_inspection.db import models as m
from send_inspection.engine.annex_a import reconcile_annex_a
from send_inspection.engine.context import EngineContext
from send_inspection.files.storage import MAX_UPLOAD_BYTES
from send_inspection.web.app import create_app
from tests.conftest import NOTIFIED
from tests.helpers import ALL_TICKED
from tests.web.test_sign_off import count, item_state, link_for


@pytest.fixture
def lists(tmp_path: Path, demo_child_data: ChildDataConfig) -> dict[str, Path]:
    """Write fictional Demo County lists for 120 children."""
    return dict(generate(tmp_path / "export", children=120, seed=7, as_of=NOTIFIED.date(), config=demo_child_data))


@pytest.fixture
def data_item(ctx: EngineContext, started: tuple[str, m.RegisterItem]) -> m.RegisterItem:
    """Return the day-2 child-level data item of the open inspection."""
    with ctx.session() as session:
        return session.scalars(select(m.RegisterItem).where(m.RegisterItem.ref == "child-level-data")).one()


@pytest.fixture(scope="module")
def large_lists(tmp_path_factory: pytest.TempPathFactory, demo_child_data: ChildDataConfig) -> dict[str, Path]:
    """Write good lists of 300,000 fictional children (100,000 with a plan): each list under the upload limit, their
    return over it."""
    folder, rng = tmp_path_factory.mktemp("large"), random.Random(14)
    lists = {}
    for kind, first, many in (("ehc_plans", 0, 100_000), ("sen_support", 100_000, 200_000)):
        heads = demo_child_data.columns(kind)
        fixed = {"primary_need": "ASD", "setting_name": "Ambleford Demo Primary School", "setting_type": "Mainstream",
                 "ehcp_start_date": "2021-09-01"}
        lines = [",".join(heads.values())]
        for number in range(first, first + many):
            names = rng.getrandbits(80)  # names nobody has, as hard to compress as real ones
            row = {**fixed, "child_id": f"DC{number:07d}", "first_name": f"Testy{names >> 40:010x}",
                   "last_name": f"Examplewick{names & (1 << 40) - 1:010x}", "setting_urn": str(900_000 + number % 997),
                   "date_of_birth": f"{1 + number % 28:02d}/{1 + number % 12:02d}/{2005 + number % 16}"}
            lines.append(",".join(row[f] for f in heads))
        lists[kind] = folder / f"{kind}.csv"
        lists[kind].write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert lists[kind].stat().st_size < MAX_UPLOAD_BYTES
    return lists


def files_under(folder: Path) -> list[str]:
    """Return every file below `folder`, relative to it."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def post_lists(client: TestClient, token: str, item: m.RegisterItem, files: dict[str, Path]) -> object:
    """Press submit on the data item's form with these files."""
    form = {"item_ref": item.ref, "step": "submit", "round": "1", "outcome": "submitted", "check": ALL_TICKED}
    return client.post(f"/a/{token}", data=form, files={k: (p.name, p.read_bytes()) for k, p in files.items()})


def test_the_form_asks_for_both_lists(ctx: EngineContext, data_item: m.RegisterItem) -> None:
    """The data lead's page has a file input for each list and no hyperlink field."""
    page = TestClient(create_app(ctx)).get(f"/a/{link_for(ctx, data_item.evidence_lead, data_item.ref)}")
    assert 'name="ehc_plans"' in page.text and 'name="sen_support"' in page.text
    assert 'name="link_url"' not in page.text


def test_good_lists_become_the_return_and_a_summary(ctx: EngineContext, data_item: m.RegisterItem,
                                                    lists: dict[str, Path]) -> None:
    """Accepted lists are stored, the return is the submitted file, and the reviewer sees counts only."""
    iid = data_item.inspection_id
    client = TestClient(create_app(ctx))
    token = link_for(ctx, data_item.evidence_lead, data_item.ref)
    response = post_lists(client, token, data_item, {k: lists[k] for k in ("ehc_plans", "sen_support")})
    assert response.status_code == 200, response.text[:2000]
    assert item_state(ctx, data_item.id) == ("approve", 1, None)
    with ctx.session() as session:
        submission = session.scalars(select(m.Submission)).one()
    assert submission.filename == "child-level-data-return.xlsx"
    names = ("ehc_plans.csv", "sen_support.csv", "manifest.json", "summary.json", f"{data_item.ref}-return.xlsx")
    kept = [f"{iid}/child-data/{data_item.ref}/{name}" for name in names]
    kept.append(str(Path(submission.stored_path).relative_to(ctx.uploads_dir)))
    assert files_under(ctx.uploads_dir) == sorted(kept)  # what was accepted, and nothing half-written
    sheets = pd.read_excel(submission.stored_path, sheet_name=None, dtype=str)
    expected = sum(len(pd.read_csv(lists[k], dtype=str)) for k in ("ehc_plans", "sen_support"))
    assert sum(len(frame) for frame in sheets.values() if "Age on notification date" in frame.columns) == expected

    reconcile_annex_a(ctx, iid, "day2")
    review = client.get(f"/a/{link_for(ctx, data_item.accountable_lead, data_item.ref)}")
    assert "What the lists hold (counts only)" in review.text
    first_names = set(pd.read_csv(lists["ehc_plans"], dtype=str)["Forename"])
    assert not [name for name in first_names if f" {name} " in review.text]


def test_a_bad_list_is_refused_with_where_and_nothing_is_kept(ctx: EngineContext, data_item: m.RegisterItem,
                                                              lists: dict[str, Path], tmp_path: Path,
                                                              demo_child_data: ChildDataConfig) -> None:
    """A list with a missing column and a bad date is refused naming file, row and column; nothing is stored."""
    frame = pd.read_csv(lists["ehc_plans"], dtype=str)
    dob_column = demo_child_data.columns("ehc_plans")["date_of_birth"]
    secret = frame.loc[4, dob_column]
    frame.loc[4, dob_column] = "31/02/2015"
    bad = tmp_path / "ehcp.csv"
    frame.to_csv(bad, index=False)
    client = TestClient(create_app(ctx))
    token = link_for(ctx, data_item.evidence_lead, data_item.ref)
    response = post_lists(client, token, data_item, {"ehc_plans": bad, "sen_support": lists["sen_support"]})
    assert response.status_code == 422
    assert "The lists were not accepted: 1 problem(s) to correct." in response.text
    assert "row 6" in response.text and dob_column in response.text
    assert "31/02/2015" not in response.text and secret not in response.text
    assert count(ctx, m.Submission) == 0 and count(ctx, m.Decision) == 0
    iid = data_item.inspection_id
    assert not data_folder(ctx, iid, data_item.ref).exists() and files_under(ctx.uploads_dir) == []
    assert item_state(ctx, data_item.id) == ("submit", 1, None)


def test_lists_that_cannot_be_kept_leave_nothing(ctx: EngineContext, data_item: m.RegisterItem,
                                                large_lists: dict[str, Path]) -> None:
    """When keeping 300,000 children's lists fails at the last step (their return, larger than the upload limit, is
    not refused for its size), the page says nothing was recorded and not one file of them is left: no list,
    manifest, summary or return, no upload, no half-written folder."""
    data = ctx.uploads_dir / data_item.inspection_id / "child-data"
    data.mkdir(parents=True)
    (data / "submitted").write_text("in the way")  # where the returns are kept: a file, so the last step fails
    client = TestClient(create_app(ctx))
    response = post_lists(client, link_for(ctx, data_item.evidence_lead, data_item.ref), data_item, large_lists)
    assert response.status_code == 422
    assert "Nothing was recorded" in response.text and "a problem on the server, not in your files" in response.text
    assert "25 MB" not in response.text
    assert files_under(ctx.uploads_dir) == [f"{data_item.inspection_id}/child-data/submitted"]
    assert [p.name for p in data.iterdir()] == ["submitted"]
    assert count(ctx, m.Submission) == 0 and count(ctx, m.Decision) == 0
    assert item_state(ctx, data_item.id) == ("submit", 1, None)
