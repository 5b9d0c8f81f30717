"""One temporary Prefect server for every rehearsal in this package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.settings import PREFECT_API_TLS_INSECURE_SKIP_VERIFY, temporary_settings
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="package")
def prefect_harness() -> Iterator[None]:
    """Run the rehearsals' flows against one temporary Prefect server (plain HTTP on loopback)."""
    # The server is http://127.0.0.1: no certificate is ever checked, so skip loading the CA bundle that each
    # new client would otherwise read (about 40 ms a flow run).
    with prefect_test_harness(server_startup_timeout=120), \
            temporary_settings(updates={PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True}):
        yield
