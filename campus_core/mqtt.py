"""How to reach a broker: the settings a technician writes (shared by ``[[devices.mqtt]]``
and ``[[sinks.mqtt]]``), the aiomqtt client built from them, and connection errors said
in words a technician can act on.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import aiomqtt
import structlog
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ConfigDict, Field, field_validator, model_validator

from campus_core.files import SecretError, SecretFile, read_secret_file
from campus_core.tls import TlsFileError, TlsOptions
from campus_core.tls import explain as explain_tls
from campus_core.units import Duration

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
#: CONNACK codes that mean the credentials (or the client id) are refused: v3.1.1 and v5.
AUTH_CODES = frozenset({4, 5, 133, 134, 135, 138, 140})
PROTOCOL_CODES = frozenset({1, 132})


log = structlog.get_logger("campus_core.mqtt")


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker listens and whether TLS is spoken."""

    host: str
    port: int
    tls: bool

    @property
    def url(self) -> str:
        """``mqtt://host:port`` (never with credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://host[:1883]`` or ``mqtts://host[:8883]``; raise ValueError saying how to write it."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(
            'must be a broker URL such as "mqtt://10.31.0.5:1883" or "mqtts://broker.example:8883"'
        )
    if parts.username or parts.password:
        raise ValueError('put no credentials in the URL: use username = "..." and password_file')
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError('a broker URL has no path or query: "mqtt://host:port"')
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    return BrokerAddress(parts.hostname, port, parts.scheme == "mqtts")


class BrokerSettings(TlsOptions):
    """The keys that say how to reach a broker; ``[[devices.mqtt]]`` and ``[[sinks.mqtt]]`` share them.

    The ``tls_*`` keys and their checks are the store sink's (:class:`TlsOptions`).
    """

    model_config = ConfigDict(extra="forbid")

    broker: str = Field(description="mqtt://host:port or mqtts://host:port")
    username: str | None = Field(default=None, min_length=1)
    password_file: SecretFile | None = None
    client_id: str | None = Field(default=None, min_length=1, max_length=128)
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive: Duration = 30.0
    timeout: Duration = 10.0

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, url: str) -> str:
        parse_broker_url(url)
        return url.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> BrokerSettings:
        if self.password_file is not None and self.username is None:
            raise ValueError("password_file is set but username is not")
        if self.keepalive < 5 or self.keepalive > 65535:
            raise ValueError("keepalive must be between 5s and 65535s")
        return self

    def without_tls(self) -> str | None:
        """The ``tls_*`` keys need an mqtts:// URL."""
        return None if self.address.tls else f"an mqtts:// broker URL (TLS); the broker is {self.broker}"

    @property
    def address(self) -> BrokerAddress:
        """Host, port and TLS, from ``broker``."""
        return parse_broker_url(self.broker)


@dataclass(frozen=True, slots=True)
class Session:
    """How a client keeps its session: persistent (ingest) or clean (uplink)."""

    client_id: str
    persistent: bool
    expiry: float = 0.0
    receive_maximum: int | None = None


async def make_client(settings: BrokerSettings, session: Session) -> aiomqtt.Client:
    """An unconnected aiomqtt client; secrets and TLS files are read here, off the event loop."""
    address = settings.address
    password = None
    if settings.password_file is not None:
        try:
            password = (
                await asyncio.to_thread(read_secret_file, settings.password_file, "password_file")
            ).strip()
        except SecretError as exc:
            # A BrokerError, which callers retry; an OSError would read as an unreachable broker.
            raise BrokerError(str(exc)) from None
    context = await asyncio.to_thread(tls_context, settings) if address.tls else None
    kwargs: dict[str, object] = {}
    if settings.protocol == "5":
        protocol = aiomqtt.ProtocolVersion.V5
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if session.persistent:
            properties.SessionExpiryInterval = min(int(session.expiry), 0xFFFFFFFF)
        if session.receive_maximum:
            properties.ReceiveMaximum = session.receive_maximum
        kwargs["properties"] = properties
        # Never clean: a restart resumes the session and gets what was queued meanwhile.
        kwargs["clean_start"] = not session.persistent
    else:
        protocol = aiomqtt.ProtocolVersion.V311
        kwargs["clean_session"] = not session.persistent
    return aiomqtt.Client(
        address.host,
        address.port,
        identifier=session.client_id,
        protocol=protocol,
        username=settings.username,
        password=password,
        tls_context=context,
        keepalive=int(settings.keepalive),
        timeout=settings.timeout,
        **kwargs,  # type: ignore[arg-type]
    )


def tls_context(settings: BrokerSettings) -> ssl.SSLContext:
    """Verify the broker against ``tls_ca`` (or the system CAs); present the client cert if set."""
    try:
        context = settings.client_context()
    except TlsFileError as exc:
        raise BrokerError(str(exc)) from None
    if settings.insecure_skip_verify:
        log.warning(
            "TLS verification is OFF for this broker (insecure_skip_verify): anyone on the "
            "path can read and change what is sent; for a lab only",
            broker=settings.address.url,
        )
    return context


class BrokerError(Exception):
    """The broker cannot be reached or refused us; the message says what to check."""

    def __init__(self, reason: str, auth: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.auth = auth


def explain(exc: BaseException, settings: BrokerSettings) -> BrokerError:
    """A connection failure in a technician's words: what happened and what to check."""
    if isinstance(exc, BrokerError):
        return exc
    where = settings.address.url
    text = str(exc) or type(exc).__name__
    if isinstance(exc, MqttConnectError):
        code = getattr(exc.rc, "value", exc.rc)
        if code in AUTH_CODES:
            return BrokerError(
                f"{where} refused the connection ({text}): check username, "
                "password_file and the broker's ACL for this client id",
                auth=True,
            )
        if code in PROTOCOL_CODES:
            return BrokerError(
                f'{where} does not speak MQTT {settings.protocol} ({text}): set protocol = "3.1.1"'
            )
        return BrokerError(f"{where} refused the connection: {text}")
    if (tls_problem := explain_tls(exc)) is not None:
        # The same words as for the store: expired, not yet valid, wrong host, unknown CA.
        return BrokerError(f"{where}: {tls_problem}")
    # What follows reads the text, for a client library that lost the ssl error on the way.
    if "CERTIFICATE_VERIFY_FAILED" in text or isinstance(exc, ssl.SSLCertVerificationError):
        if "mismatch" in text.lower():
            return BrokerError(
                f"{where}: the broker's TLS certificate does not name {settings.address.host} ({text})"
            )
        return BrokerError(
            f"{where}: the broker's TLS certificate is not trusted ({text}); "
            "check that tls_ca is the CA that signed the broker's certificate"
        )
    if "SSL" in text or "TLS" in text:
        return BrokerError(
            f"{where}: TLS handshake failed ({text}); check tls_ca, tls_cert and "
            "tls_key, and that the broker speaks TLS on this port"
        )
    if "timed out" in text.lower():
        hint = (
            "; over TLS, a broker that wants a client certificate (tls_cert, tls_key) also refuses this way"
            if settings.address.tls and settings.tls_cert is None
            else ""
        )
        return BrokerError(f"{where} did not answer within {settings.timeout:g}s ({text}){hint}")
    if "refused" in text.lower() or "Errno" in text:
        return BrokerError(f"cannot connect to {where}: {text}; is the broker running and reachable?")
    return BrokerError(f"{where}: {text}")
