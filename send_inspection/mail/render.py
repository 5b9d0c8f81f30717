"""Render an email's subject, plain text and HTML from its Jinja2 template trio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from send_inspection import PROJECT_ROOT
from send_inspection.calendar import to_london

DEFAULT_TEMPLATES_DIR = PROJECT_ROOT / "templates" / "email"


@dataclass(frozen=True)
class RenderedMail:
    """The three rendered parts of an email."""

    subject: str
    text: str
    html: str


def email_template_names(templates_dir: Path | None = None) -> frozenset[str]:
    """Return the names of the email template trios in `templates_dir` (the shipped ones by default)."""
    folder = Path(templates_dir) if templates_dir is not None else DEFAULT_TEMPLATES_DIR
    return frozenset(path.name.removesuffix(".subject.j2") for path in folder.glob("*.subject.j2"))


def long_date(day: date) -> str:
    """Format a date as people write it: "Friday 1 December 2023"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def day_and_month(day: date) -> str:
    """Format a date without its year: "Friday 1 December"."""
    return f"{day:%A} {day.day} {day:%B}"


def london_time(moment: datetime) -> str:
    """Format a moment as its Europe/London clock time: "09:00"."""
    return f"{to_london(moment):%H:%M}"


def _autoescape(template_name: str | None) -> bool:
    """Escape HTML templates only: the subject and the text part are not HTML."""
    return template_name is not None and template_name.endswith(".html.j2")


class MailRenderer:
    """Render `<name>.subject.j2`, `<name>.txt.j2` and `<name>.html.j2` with strict variables."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self.templates_dir = Path(templates_dir) if templates_dir is not None else DEFAULT_TEMPLATES_DIR
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.templates_dir),
            autoescape=_autoescape,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["long_date"] = long_date
        self.env.filters["day_and_month"] = day_and_month
        self.env.filters["london_time"] = london_time

    # `name` is positional-only so that templates may use a variable called `name` too.
    def render(self, name: str, /, **context: Any) -> RenderedMail:
        """Render the template trio `name`; a variable missing from `context` raises UndefinedError."""
        subject = self.env.get_template(f"{name}.subject.j2").render(**context)
        text = self.env.get_template(f"{name}.txt.j2").render(**context)
        html = self.env.get_template(f"{name}.html.j2").render(**context)
        return RenderedMail(subject=" ".join(subject.split()), text=text, html=html)
