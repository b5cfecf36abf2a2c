"""The ``[[sinks.influxdb]]`` config model: a store that speaks the InfluxDB v2 write API."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from campus_core.files import SecretError, SecretFile, read_secret_file
from campus_core.names import Name
from campus_core.plugins import Factory
from campus_core.proxy import ProxyUrl
from campus_core.sinks import Sink
from campus_core.tls import TlsOptions
from campus_core.units import Duration


class InfluxDBSink(TlsOptions):
    """``[[sinks.influxdb]]``: a store that speaks the InfluxDB v2 write API."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(default="", description="in logs, metrics and the buffer's cursors; from the URL")
    url: str
    org: str = ""
    bucket: str = Field(min_length=1)
    token: SecretStr | None = None
    token_file: SecretFile | None = None
    timeout: Duration = 10.0
    retry_max: Duration = 30.0
    batch_points: int = Field(default=5000, ge=1, le=1_000_000)
    gzip: bool = True
    max_in_flight: int = Field(
        default=4, ge=1, le=64, description="requests at once at most; the sink adapts below it"
    )
    max_rate: float | None = Field(default=None, gt=0, description="points/s at most; none by default")
    proxy: ProxyUrl | None = Field(
        default=None, description="http://host:port of a proxy; none: HTTPS_PROXY/NO_PROXY decide"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError('must be an http:// or https:// URL such as "http://127.0.0.1:8086"')
        return url.rstrip("/")

    @model_validator(mode="after")
    def _one_token(self) -> InfluxDBSink:
        if self.token is not None and self.token_file is not None:
            raise ValueError("set token or token_file, not both")
        if not self.name:
            host = urlsplit(self.url).hostname or "store"
            self.name = f"influxdb-{host}-{self.bucket}"
        return self

    def without_tls(self) -> str | None:
        """The ``tls_*`` keys need an https:// URL."""
        return None if self.url.startswith("https:") else f"an https:// URL (TLS); the store is {self.url}"

    def create(self) -> Sink:
        """The sink this entry configures."""
        return _WRITER(self)

    def describe(self) -> str:
        """One line for ``edge-agent check``."""
        token = "token from file" if self.token_file else ("inline token" if self.token else "no token")
        via = f", through proxy {self.proxy}" if self.proxy else ""
        return f"influxdb {self.url} org {self.org or '-'} bucket {self.bucket} ({token}){via}"

    def resolve_token(self) -> str | None:
        """The token, read from ``token_file`` at the moment it is needed.

        Raises :class:`SecretError` when the file cannot be read or holds what no token is.
        """
        if self.token_file is None:
            token = self.token.get_secret_value() if self.token else None
            where = "the inline token"
        else:
            token = read_secret_file(self.token_file, "token_file").strip()
            where = f"token_file {str(self.token_file)!r}"
        if token and not (token.isascii() and token.isprintable()):
            # No HTTP header can carry it: every write would fail; say why once, here.
            raise SecretError(
                f"{where} holds characters no token has (a line break, non-ASCII text?): "
                "token_file should hold the token alone"
            )
        return token


# The writer imports this model; the model names it, so the arrow of imports runs one way.
_WRITER = Factory[Sink]("edge_agent.sinks.influxdb:InfluxDBSink")
