"""Render an email's subject, plain text and HTML from its Jinja2 template trio."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from send_inspection import PROJECT_ROOT

DEFAULT_TEMPLATES_DIR = PROJECT_ROOT / "templates" / "email"


@dataclass(frozen=True)
class RenderedMail:
    """The three rendered parts of an email."""

    subject: str
    text: str
    html: str


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

    # `name` is positional-only so that templates may use a variable called `name` too.
    def render(self, name: str, /, **context: Any) -> RenderedMail:
        """Render the template trio `name`; a variable missing from `context` raises UndefinedError."""
        subject = self.env.get_template(f"{name}.subject.j2").render(**context)
        text = self.env.get_template(f"{name}.txt.j2").render(**context)
        html = self.env.get_template(f"{name}.html.j2").render(**context)
        return RenderedMail(subject=" ".join(subject.split()), text=text, html=html)
