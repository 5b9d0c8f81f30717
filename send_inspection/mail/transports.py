"""Make the mail transport the settings name (the local outbox, SMTP, Exchange by EWS or Microsoft Graph), and the
calendar and inbox watchers that go with an Exchange transport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from send_inspection.config.models import HandledMark
from send_inspection.mail.meetings import HeldMeetings, Meetings
from send_inspection.mail.outbox import OutboxTransport
from send_inspection.mail.received import ReceivedMessage, Watcher
from send_inspection.mail.smtp import SmtpTransport
from send_inspection.mail.transport import MailTransport
from send_inspection.settings import INTAKE_TRANSPORTS, Settings


def transport_from_settings(settings: Settings) -> MailTransport:
    """Return the mail transport the settings name."""
    if settings.mail_transport == "ews":
        from send_inspection.mail.ews import EwsTransport

        ews = settings.ews
        if ews is None:
            raise ValueError("SEND_INSPECTION_MAIL=ews needs the SEND_INSPECTION_EWS_* settings")
        return EwsTransport(
            ews.endpoint,
            ews.version,
            auth=ews.auth,
            secret=ews.secret.read,
            username=ews.username,
            tenant_id=ews.tenant_id,
            client_id=ews.client_id,
            token_url=ews.token_url,
            access_type=ews.access_type,
            max_wait=ews.max_wait,
        )
    if settings.mail_transport == "graph":
        from send_inspection.mail.graph import GraphTransport

        graph = settings.graph
        if graph is None:
            raise ValueError("SEND_INSPECTION_MAIL=graph needs the SEND_INSPECTION_GRAPH_* settings")
        return GraphTransport(
            graph.tenant_id,
            graph.client_id,
            secret=graph.secret.read if graph.secret else None,
            certificate=graph.certificate.read if graph.certificate else None,
            thumbprint=graph.thumbprint,
            authority=graph.authority,
            graph_base=graph.graph_base,
            max_wait=graph.max_wait,
            timeout=graph.timeout,
            ca_bundle=graph.ca_bundle,
        )
    if settings.mail_transport == "smtp":
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    return OutboxTransport(settings.outbox_dir)


def meetings_for(transport: MailTransport, sessions: Callable[[], Session], *,
                 allowed: Callable[[datetime], datetime] | None = None) -> Meetings | None:
    """Return the meetings of the transport's Exchange calendar (EWS or Graph), or None for mail without one.

    `allowed` says when a meeting request due now may go (the partnership's quiet hours); None: at once.
    """
    meetings: Meetings
    if transport.name == "ews":
        from send_inspection.mail.ews import EwsTransport
        from send_inspection.mail.ews_calendar import EwsMeetings

        assert isinstance(transport, EwsTransport)
        meetings = EwsMeetings(transport, sessions)
    elif transport.name == "graph":
        from send_inspection.mail.graph import GraphTransport
        from send_inspection.mail.graph_calendar import GraphMeetings

        assert isinstance(transport, GraphTransport)
        meetings = GraphMeetings(transport, sessions)
    else:
        return None
    return meetings if allowed is None else HeldMeetings(meetings, allowed=allowed)


def inbox_watcher_for(transport: MailTransport, sessions: Callable[[], Session], *, mailbox: str,
                      handle: Callable[[ReceivedMessage], str | None], not_before: datetime,
                      mark: HandledMark) -> Watcher:
    """Return the watcher of the shared inbox `mailbox` for the transport (EWS or Graph), marking messages by `mark`."""
    if transport.name == "ews":
        from send_inspection.mail.ews import EwsTransport
        from send_inspection.mail.inbox_watch import InboxWatcher

        assert isinstance(transport, EwsTransport)
        return InboxWatcher(transport, sessions, mailbox=mailbox, handle=handle, not_before=not_before, mark=mark)
    if transport.name == "graph":
        from send_inspection.mail.graph import GraphTransport
        from send_inspection.mail.graph_inbox import GraphInboxWatcher

        assert isinstance(transport, GraphTransport)
        return GraphInboxWatcher(transport, sessions, mailbox=mailbox, handle=handle, not_before=not_before,
                                 mark=mark)
    raise ValueError(f"mail by {transport.name}: no shared inbox can be watched (only with "
                     f"{' or '.join(INTAKE_TRANSPORTS)})")
