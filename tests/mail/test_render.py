"""Rendering email template trios."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from send_inspection.mail.render import MailRenderer, RenderedMail

CONTEXT = {
    "partnership_name": "Demo County SEND partnership",
    "person_name": "Sam <O'Neil> & co",
    "item_ref": "1.3",
    "item_title": "EHCP timeliness",
    "deadline": "Tuesday 3 March 2026, 17:00",
    "link": "https://engine.example/a/tok?x=1&y=2",
}


def test_example_renders_three_parts() -> None:
    """The example trio renders a one-line subject, a text part and an HTML part in the layout."""
    rendered = MailRenderer().render("example", **CONTEXT)
    assert isinstance(rendered, RenderedMail)
    assert rendered.subject == "Evidence due for item 1.3 – Demo County SEND partnership"
    assert "\n" not in rendered.subject
    assert "https://engine.example/a/tok?x=1&y=2" in rendered.text
    assert '<html lang="en">' in rendered.html
    assert "Demo County SEND partnership" in rendered.html
    assert "do not forward" in rendered.html


def test_html_is_escaped_and_text_is_not() -> None:
    """Values are HTML-escaped in the html part only."""
    rendered = MailRenderer().render("example", **CONTEXT)
    assert "Sam &lt;O&#39;Neil&gt; &amp; co" in rendered.html
    assert "Sam <O'Neil>" not in rendered.html
    assert 'href="https://engine.example/a/tok?x=1&amp;y=2"' in rendered.html
    assert "Dear Sam <O'Neil> & co," in rendered.text


def test_missing_variable_raises() -> None:
    """A variable missing from the context raises instead of rendering an empty string."""
    context = dict(CONTEXT)
    del context["deadline"]
    with pytest.raises(jinja2.UndefinedError, match="deadline"):
        MailRenderer().render("example", **context)


def test_custom_directory_and_subject_is_one_line(tmp_path: Path) -> None:
    """A renderer on another folder uses its templates and collapses the subject to one line."""
    (tmp_path / "hello.subject.j2").write_text("\n  Hello\n  {{ name }}  \n", encoding="utf-8")
    (tmp_path / "hello.txt.j2").write_text("Hi {{ name }}\n", encoding="utf-8")
    (tmp_path / "hello.html.j2").write_text("<p>Hi {{ name }}</p>\n", encoding="utf-8")
    rendered = MailRenderer(tmp_path).render("hello", name="<b>Ann</b>")
    assert rendered == RenderedMail(
        subject="Hello <b>Ann</b>", text="Hi <b>Ann</b>\n", html="<p>Hi &lt;b&gt;Ann&lt;/b&gt;</p>\n"
    )


def test_unknown_template_raises() -> None:
    """An unknown template name raises TemplateNotFound."""
    with pytest.raises(jinja2.TemplateNotFound):
        MailRenderer().render("no-such-template", **CONTEXT)
