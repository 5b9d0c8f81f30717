"""One real local stack for every live test: started once, shared by the modules, stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.stack import LiveStack, start_stack, stop_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """Start the Prefect server, the web app, the worker and the SMTP server once for all live tests."""
    live = start_stack(Path(tmp_path_factory.mktemp("live")))
    try:
        yield live
    finally:
        stop_stack(live)
