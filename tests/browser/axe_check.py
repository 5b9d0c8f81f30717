"""axe-core (axe-playwright-python) run on a page for WCAG 2.0, 2.1 and 2.2 at levels A and AA."""

from __future__ import annotations

from typing import Any

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def assert_accessible(page: Any, what: str) -> None:
    """Run axe-core on the page for WCAG 2.0-2.2 A and AA and fail listing every violation and where it is."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    violations = results.response["violations"]
    found = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in violations]
    assert not found, f"axe found {len(found)} violation(s) on {what} ({page.url}):\n" + "\n".join(found)
