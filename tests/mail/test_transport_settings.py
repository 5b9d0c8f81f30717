"""Choosing the mail transport from SEND_INSPECTION_MAIL and the EWS and Graph settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from send_inspection.mail.ews import VERSIONS, EwsTransport
from send_inspection.mail.graph import GraphTransport
from send_inspection.mail.outbox import OutboxTransport
from send_inspection.mail.smtp import SmtpTransport
from send_inspection.mail.transports import transport_from_settings
from send_inspection.settings import EWS_VERSIONS, SecretRef, load_settings

EWS_OAUTH = {
    "SEND_INSPECTION_MAIL": "ews",
    "SEND_INSPECTION_EWS_ENDPOINT": "https://outlook.office365.com/EWS/Exchange.asmx",
    "SEND_INSPECTION_EWS_AUTH": "oauth2",
    "SEND_INSPECTION_EWS_TENANT_ID": "demo-tenant",
    "SEND_INSPECTION_EWS_CLIENT_ID": "demo-client",
    "SEND_INSPECTION_EWS_SECRET": "demo-client-secret",
}
EWS_NTLM = {
    "SEND_INSPECTION_MAIL": "ews",
    "SEND_INSPECTION_EWS_ENDPOINT": "https://mail.demo-county.example/EWS/Exchange.asmx",
    "SEND_INSPECTION_EWS_AUTH": "ntlm",
    "SEND_INSPECTION_EWS_USERNAME": "DEMO\\svc-send",
    "SEND_INSPECTION_EWS_SECRET_BLOCK": "ews-password",
}
GRAPH = {
    "SEND_INSPECTION_MAIL": "graph",
    "SEND_INSPECTION_GRAPH_TENANT_ID": "demo-tenant",
    "SEND_INSPECTION_GRAPH_CLIENT_ID": "demo-client",
    "SEND_INSPECTION_GRAPH_SECRET": "demo-client-secret",
}


def without(env: dict[str, str], name: str) -> dict[str, str]:
    """Return `env` without the variable `name`."""
    return {key: value for key, value in env.items() if key != name}


def test_defaults_are_unchanged() -> None:
    """With no variables the outbox is used and neither EWS nor Graph is configured."""
    settings = load_settings({})
    assert settings.mail_transport == "outbox"
    assert (settings.ews, settings.graph) == (None, None)
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("127.0.0.1", 25, False)
    assert isinstance(transport_from_settings(settings), OutboxTransport)
    assert isinstance(transport_from_settings(load_settings({"SEND_INSPECTION_MAIL": "smtp"})), SmtpTransport)


def test_unknown_transport_lists_the_choices() -> None:
    """An unknown SEND_INSPECTION_MAIL names the four transports."""
    with pytest.raises(ValueError, match="outbox, smtp, ews, graph"):
        load_settings({"SEND_INSPECTION_MAIL": "exchange"})


def test_ews_oauth2_settings_build_an_ews_transport() -> None:
    """EWS with client credentials gives an EwsTransport with the endpoint, version and ids, by impersonation."""
    settings = load_settings(EWS_OAUTH)
    assert settings.ews is not None
    assert settings.ews.version == "Exchange2016" and settings.ews.max_wait == 300.0
    transport = transport_from_settings(settings)
    assert isinstance(transport, EwsTransport)
    assert transport.endpoint == EWS_OAUTH["SEND_INSPECTION_EWS_ENDPOINT"]
    assert (transport.tenant_id, transport.client_id, transport.access_type) == (
        "demo-tenant", "demo-client", "impersonation"
    )
    assert transport.token_url == "https://login.microsoftonline.com/demo-tenant/oauth2/v2.0/token"


def test_ews_ntlm_settings_keep_the_secret_block_for_later() -> None:
    """EWS with NTLM keeps the username and only the Secret block's name: nothing is loaded yet."""
    settings = load_settings({**EWS_NTLM, "SEND_INSPECTION_EWS_VERSION": "Exchange2019",
                              "SEND_INSPECTION_EWS_MAX_WAIT": "45"})
    assert settings.ews is not None
    ews = settings.ews
    assert (ews.auth, ews.username, ews.version) == ("ntlm", "DEMO\\svc-send", "Exchange2019")
    assert settings.ews.secret == SecretRef(variable="SEND_INSPECTION_EWS_SECRET", block="ews-password")
    assert settings.ews.max_wait == 45.0
    transport = transport_from_settings(settings)
    assert isinstance(transport, EwsTransport) and transport.access_type == "delegate"


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        (without(EWS_OAUTH, "SEND_INSPECTION_EWS_ENDPOINT"), "SEND_INSPECTION_EWS_ENDPOINT"),
        (without(EWS_OAUTH, "SEND_INSPECTION_EWS_AUTH"), "SEND_INSPECTION_EWS_AUTH"),
        (without(EWS_OAUTH, "SEND_INSPECTION_EWS_TENANT_ID"), "SEND_INSPECTION_EWS_TENANT_ID"),
        (without(EWS_OAUTH, "SEND_INSPECTION_EWS_CLIENT_ID"), "SEND_INSPECTION_EWS_CLIENT_ID"),
        (without(EWS_OAUTH, "SEND_INSPECTION_EWS_SECRET"), "SEND_INSPECTION_EWS_SECRET"),
        (without(EWS_NTLM, "SEND_INSPECTION_EWS_USERNAME"), "SEND_INSPECTION_EWS_USERNAME"),
        (without(GRAPH, "SEND_INSPECTION_GRAPH_TENANT_ID"), "SEND_INSPECTION_GRAPH_TENANT_ID"),
        (without(GRAPH, "SEND_INSPECTION_GRAPH_CLIENT_ID"), "SEND_INSPECTION_GRAPH_CLIENT_ID"),
        (without(GRAPH, "SEND_INSPECTION_GRAPH_SECRET"), "SEND_INSPECTION_GRAPH_SECRET"),
    ],
)
def test_a_missing_required_variable_is_named(env: dict[str, str], missing: str) -> None:
    """Each required EWS or Graph variable, when missing, is named in the error."""
    with pytest.raises(ValueError, match=f"^{missing} is not set"):
        load_settings(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SEND_INSPECTION_EWS_VERSION", "Exchange2010"),
        ("SEND_INSPECTION_EWS_AUTH", "kerberos"),
        ("SEND_INSPECTION_EWS_ACCESS_TYPE", "owner"),
        ("SEND_INSPECTION_EWS_MAX_WAIT", "five minutes"),
        ("SEND_INSPECTION_EWS_ENDPOINT", "http://mail.demo-county.example/EWS/Exchange.asmx"),
        ("SEND_INSPECTION_EWS_SECRET_BLOCK", "ews-secret"),
    ],
)
def test_a_bad_ews_value_is_named(name: str, value: str) -> None:
    """A wrong version, login kind, access type, number, plain-http endpoint or double secret names its variable."""
    with pytest.raises(ValueError, match=name.removesuffix("_BLOCK")):
        load_settings({**EWS_OAUTH, name: value})


def test_ews_version_names_match_the_transport() -> None:
    """The versions settings accept are exactly the ones the EWS transport knows."""
    assert set(EWS_VERSIONS) == set(VERSIONS)


def test_graph_settings_build_a_graph_transport() -> None:
    """Graph settings give a GraphTransport on Microsoft's authority and Graph, with the client secret."""
    settings = load_settings({**GRAPH, "SEND_INSPECTION_GRAPH_MAX_WAIT": "30"})
    transport = transport_from_settings(settings)
    assert isinstance(transport, GraphTransport)
    assert transport.client.tokens.authority == "https://login.microsoftonline.com/demo-tenant"
    assert transport.client.tokens.credential.kind == "secret"
    assert transport.graph_base == "https://graph.microsoft.com/v1.0"
    assert (transport.max_wait, transport.client.timeout) == (30.0, 30.0)


def test_graph_certificate_settings_read_the_key_from_a_file_or_a_block(tmp_path: Path) -> None:
    """A certificate's PEM file (or Secret block) and thumbprint replace the secret; the file is read when needed."""
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n")
    thumbprint = "a1:b2:c3:d4:e5:f6:a7:b8:c9:d0:e1:f2:a3:b4:c5:d6:e7:f8:a9:b0"
    env = {**without(GRAPH, "SEND_INSPECTION_GRAPH_SECRET"), "SEND_INSPECTION_GRAPH_CERTIFICATE_FILE": str(pem),
           "SEND_INSPECTION_GRAPH_CERTIFICATE_THUMBPRINT": thumbprint}
    settings = load_settings(env)
    assert settings.graph is not None and settings.graph.secret is None
    assert settings.graph.certificate == SecretRef(variable="SEND_INSPECTION_GRAPH_CERTIFICATE_FILE", path=pem)
    assert settings.graph.certificate.read().startswith("-----BEGIN PRIVATE KEY-----")
    assert settings.graph.thumbprint == "A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6E7F8A9B0"
    transport = transport_from_settings(settings)
    assert isinstance(transport, GraphTransport) and transport.client.tokens.credential.kind == "certificate"
    block = load_settings({**without(env, "SEND_INSPECTION_GRAPH_CERTIFICATE_FILE"),
                           "SEND_INSPECTION_GRAPH_CERTIFICATE_BLOCK": "graph-certificate"})
    assert block.graph is not None
    assert block.graph.certificate == SecretRef(variable="SEND_INSPECTION_GRAPH_CERTIFICATE", block="graph-certificate")


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"SEND_INSPECTION_GRAPH_CERTIFICATE_BLOCK": "graph-certificate"}, "not both"),
        ({"SEND_INSPECTION_GRAPH_TOKEN_URL": "https://login.example/t"}, "SEND_INSPECTION_GRAPH_AUTHORITY"),
        ({"SEND_INSPECTION_GRAPH_AUTHORITY": "http://login.demo-county.example"}, "SEND_INSPECTION_GRAPH_AUTHORITY"),
        ({"SEND_INSPECTION_GRAPH_CERTIFICATE_THUMBPRINT": "12345"}, "SEND_INSPECTION_GRAPH_CERTIFICATE_THUMBPRINT"),
        ({"SEND_INSPECTION_GRAPH_CA_BUNDLE": "/nowhere/ca.pem"}, "SEND_INSPECTION_GRAPH_CA_BUNDLE"),
        ({"SEND_INSPECTION_GRAPH_TIMEOUT": "0"}, "SEND_INSPECTION_GRAPH_TIMEOUT"),
    ],
)
def test_a_bad_graph_value_is_named(extra: dict[str, str], says: str) -> None:
    """A secret and a certificate together, the old token URL, a plain-http authority, a short thumbprint, a missing
    CA bundle or no time for a request is refused, naming the setting to fix."""
    with pytest.raises(ValueError, match=says):
        load_settings({**GRAPH, **extra})


def test_a_missing_certificate_file_is_named(tmp_path: Path) -> None:
    """A certificate file that is not there is refused when the settings load, naming the variable and the path."""
    env = {**without(GRAPH, "SEND_INSPECTION_GRAPH_SECRET"),
           "SEND_INSPECTION_GRAPH_CERTIFICATE_FILE": str(tmp_path / "missing.pem")}
    with pytest.raises(ValueError, match="SEND_INSPECTION_GRAPH_CERTIFICATE_FILE=.*missing.pem.*no such file"):
        load_settings(env)


def test_secret_value_is_not_shown_in_settings() -> None:
    """The secret itself never appears in the settings' repr (which may be logged)."""
    assert "demo-client-secret" not in repr(load_settings(GRAPH))
    assert "demo-client-secret" not in repr(load_settings(EWS_OAUTH))


def test_secret_block_is_loaded_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Prefect Secret block named in *_SECRET_BLOCK is loaded when the secret is read, not when settings load."""
    from prefect.blocks.system import Secret
    from pydantic import SecretStr

    loaded: list[str] = []

    def load(cls: Any, name: str, **kwargs: Any) -> Any:
        loaded.append(name)
        return Secret(value=SecretStr("demo-password"))

    monkeypatch.setattr(Secret, "load", classmethod(load))
    settings = load_settings(EWS_NTLM)
    assert loaded == []
    assert settings.ews is not None and settings.ews.secret.read() == "demo-password"
    assert loaded == ["ews-password"]


def test_missing_secret_block_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Secret block that does not exist gives an error naming the *_SECRET_BLOCK variable."""
    from prefect.blocks.system import Secret

    def load(cls: Any, name: str, **kwargs: Any) -> Any:
        raise ValueError(f"Unable to find block document named {name} for block type secret")

    monkeypatch.setattr(Secret, "load", classmethod(load))
    ref = SecretRef(variable="SEND_INSPECTION_GRAPH_SECRET", block="graph-secret")
    with pytest.raises(ValueError, match="SEND_INSPECTION_GRAPH_SECRET_BLOCK='graph-secret'"):
        ref.read()
