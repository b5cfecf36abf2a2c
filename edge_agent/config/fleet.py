"""``[fleet]``: where this gateway pulls the city's signed config bundles from, and what they may set.

Only the technician's own files can set ``[fleet]``: a bundle's drop-ins may set devices
and sinks, never this section, so the city can neither widen what it may set nor point the
gateway at another server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campus_core.files import SecretFile
from campus_core.names import is_name
from campus_core.proxy import ProxyUrl
from campus_core.tls import TlsFileError, client_context
from campus_core.units import Duration, format_duration
from edge_agent.bundle import load_public_keys

#: The parts of the config a bundle can carry.
Part = Literal["devices", "sinks", "profiles"]


class FleetSection(BaseModel):
    """``[fleet]``: pull, verify and apply signed config bundles (docs/operations.md)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        description="https://... of this gateway's bundle (a .tar.gz), or the absolute "
        "path of a bundle directory or tarball (a mounted medium)"
    )
    interval: Duration = Field(default=300.0, ge=1.0, description="how often the bundle is fetched")
    timeout: Duration = Field(default=30.0, gt=0.0, description="the whole fetch, connect to last byte")
    trusted_keys: list[SecretFile] = Field(
        min_length=1, description="Ed25519 public keys (PEM) a bundle must be signed with, one of them"
    )
    tls_ca: SecretFile | None = Field(
        default=None, description="CA file for the https server, instead of the system's"
    )
    proxy: ProxyUrl | None = Field(
        default=None, description="http://host:port of a proxy; none: HTTPS_PROXY/NO_PROXY decide"
    )
    groups: list[str] = Field(
        default_factory=list, description="groups of schools this gateway is in (a bundle may name one)"
    )
    allow: list[Part] = Field(
        default_factory=lambda: list[Part](["devices", "profiles"]),
        description="which parts a bundle may set; anything else refuses it",
    )

    @field_validator("url")
    @classmethod
    def _where(cls, url: str) -> str:
        if url.startswith("https://"):
            if len(url) <= len("https://") or url[len("https://")] == "/":
                raise ValueError("an https:// URL needs a host, e.g. https://cfg.example/sh-031.tar.gz")
            return url
        if url.startswith("http://"):
            raise ValueError(
                "must be https://: a bundle fetched over plain http shows every "
                "device and sink of the school to anyone on the way"
            )
        if not Path(url).is_absolute():
            raise ValueError("must be an https:// URL or an absolute path to a bundle directory or .tar.gz")
        return url

    @field_validator("groups")
    @classmethod
    def _group_names(cls, groups: list[str]) -> list[str]:
        for group in groups:
            if not is_name(group):
                raise ValueError(f"group {group!r}: letters, digits, '.', '_' and '-' only")
        return groups

    @field_validator("trusted_keys")
    @classmethod
    def _keys(cls, keys: list[Path]) -> list[Path]:
        load_public_keys(keys)  # a file that holds no Ed25519 public key is named now
        return keys

    @model_validator(mode="after")
    def _tls(self) -> FleetSection:
        if self.proxy is not None and not self.is_https:
            raise ValueError("proxy is for an https:// url; a local bundle is read from disk")
        if self.tls_ca is not None:
            if not self.is_https:
                raise ValueError("tls_ca is for an https:// url; a local bundle needs none")
            try:
                client_context(self.tls_ca, None, None)
            except TlsFileError as exc:
                raise ValueError(str(exc)) from None
        return self

    @property
    def is_https(self) -> bool:
        """Whether the bundle comes from a server (else from a local path)."""
        return self.url.startswith("https://")

    def describe(self) -> str:
        """One line for ``edge-agent check``."""
        return (
            f"{self.url} every {format_duration(self.interval)}, "
            f"{len(self.trusted_keys)} trusted key(s), may set {', '.join(self.allow) or 'nothing'}"
            + (f", groups {', '.join(self.groups)}" if self.groups else "")
        )
