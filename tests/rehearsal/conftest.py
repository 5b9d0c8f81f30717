"""One temporary Prefect server for every rehearsal in this package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="package")
def prefect_harness() -> Iterator[None]:
    """Run the rehearsals' flows against one temporary Prefect server."""
    with prefect_test_harness(server_startup_timeout=120):
        yield
