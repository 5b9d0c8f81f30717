"""Make the mail transport the settings name: the local outbox, SMTP, Exchange (EWS) or Microsoft Graph."""

from __future__ import annotations

from send_inspection.mail.outbox import OutboxTransport
from send_inspection.mail.smtp import SmtpTransport
from send_inspection.mail.transport import MailTransport
from send_inspection.settings import Settings


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
            secret=graph.secret.read,
            token_url=graph.token_url,
            graph_base=graph.graph_base,
            max_wait=graph.max_wait,
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
