"""The Jinja2 environment shared by every web page of the product."""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2

from send_inspection import PROJECT_ROOT
from send_inspection.calendar import to_london

WEB_TEMPLATES_DIR = PROJECT_ROOT / "templates" / "web"


def london(moment: datetime) -> str:
    """Format a moment as Europe/London wall time, e.g. "Mon 2 Mar 2026, 09:05 GMT"."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = to_london(moment)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def web_templates() -> jinja2.Environment:
    """Return the web pages' Jinja2 environment: autoescaped, strict about undefined variables."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["london"] = london
    return env
