"""Web pages to read the local outbox: what the engine sent, to whom, and the links inside."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from send_inspection.mail.outbox import (
    link_spans,
    list_outbox,
    read_outbox_attachment,
    read_outbox_message,
    read_outbox_raw,
)
from send_inspection.web.templating import london

# The pages show mail content written by templates fed with people's answers: nothing may run,
# load from elsewhere or post anywhere. A srcdoc iframe inherits this policy too. (The app adds the other
# security headers to every answer: send_inspection/web/security_headers.py.)
_CONTENT_POLICY = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
}
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


def linkify(text: str) -> Markup:
    """Escape `text` for HTML and make its http(s) URLs clickable links."""
    pieces: list[str] = []
    position = 0
    for start, end in link_spans(text):
        url = text[start:end]
        pieces.append(str(escape(text[position:start])))
        pieces.append(f'<a href="{escape(url)}" rel="noreferrer noopener">{escape(url)}</a>')
        position = end
    pieces.append(str(escape(text[position:])))
    return Markup("".join(pieces))


def _preview_html(html: str) -> str:
    """Make links in the sandboxed preview open in the top window instead of inside the frame."""
    base = '<base target="_top">'
    match = _HEAD.search(html)
    if match is None:
        return base + html
    return html[: match.end()] + base + html[match.end() :]


def _content_disposition(filename: str) -> str:
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'attachment'}\"; filename*=UTF-8''{quote(filename, safe='')}"


def outbox_router(folder: Path, templates: jinja2.Environment) -> APIRouter:
    """Return the router serving /outbox pages for the .eml files in `folder`."""
    router = APIRouter()

    def page(name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        body = templates.get_template(name).render(**context)
        return HTMLResponse(body, status_code=status_code, headers=_CONTENT_POLICY)

    def not_found(request: Request, detail: str) -> HTMLResponse:
        return page(
            "not_found.html.j2",
            status_code=404,
            detail=detail,
            back_url=request.url_for("outbox_list").path,
            back_label="Back to the outbox",
        )

    @router.get("/outbox", response_class=HTMLResponse, name="outbox_list")
    def outbox_list(request: Request, to: str | None = None) -> HTMLResponse:
        """List the outbox messages newest first, optionally only those to one address."""
        recipient = (to or "").strip()
        entries = [
            {
                "url": request.url_for("outbox_message", message_id=entry.id).path,
                "date": london(entry.date),
                "iso_date": entry.date.isoformat(),
                "sender": entry.sender,
                "to": entry.to,
                "cc": entry.cc,
                "subject": entry.subject,
            }
            for entry in list_outbox(folder, recipient=recipient or None)
        ]
        return page(
            "outbox_list.html.j2",
            entries=entries,
            recipient=recipient,
            list_url=request.url_for("outbox_list").path,
        )

    # Declared before /outbox/{message_id} so that "<id>.eml" is not taken for a message id.
    @router.get("/outbox/{message_id}.eml", name="outbox_raw")
    def outbox_raw(request: Request, message_id: str) -> Response:
        """Download the raw message as a .eml file."""
        try:
            data = read_outbox_raw(folder, message_id)
        except KeyError:
            return not_found(request, "There is no message with this id in the outbox.")
        return Response(
            data,
            media_type="message/rfc822",
            headers={
                "Content-Disposition": f'attachment; filename="{message_id}.eml"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    @router.get("/outbox/{message_id}", response_class=HTMLResponse, name="outbox_message")
    def outbox_message(request: Request, message_id: str) -> HTMLResponse:
        """Show one message: headers, text with clickable links, sandboxed HTML, attachments."""
        try:
            message = read_outbox_message(folder, message_id)
        except KeyError:
            return not_found(request, "There is no message with this id in the outbox.")
        attachments = [
            {
                "url": request.url_for(
                    "outbox_attachment", message_id=message_id, index=str(attachment.index)
                ).path,
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": attachment.size,
            }
            for attachment in message.attachments
        ]
        return page(
            "outbox_message.html.j2",
            message=message,
            date=london(message.date),
            iso_date=message.date.isoformat(),
            text_html=None if message.text is None else linkify(message.text),
            srcdoc=None if message.html is None else _preview_html(message.html),
            attachments=attachments,
            list_url=request.url_for("outbox_list").path,
            eml_url=request.url_for("outbox_raw", message_id=message_id).path,
        )

    @router.get("/outbox/{message_id}/attachments/{index}", name="outbox_attachment")
    def outbox_attachment(request: Request, message_id: str, index: str) -> Response:
        """Download attachment number `index` of a message."""
        try:
            if not (index.isascii() and index.isdigit()) or len(index) > 4:
                raise KeyError(index)
            attachment = read_outbox_attachment(folder, message_id, index=int(index))
        except KeyError:
            return not_found(request, "This message has no such attachment.")
        return Response(
            attachment.data,
            media_type=attachment.content_type,
            headers={
                "Content-Disposition": _content_disposition(attachment.filename),
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    return router
