"""The bundle's manifest and its verification: signature first, then files, then target.

The signature is checked over the manifest's bytes exactly as they came, before they are
parsed: nothing an attacker wrote is interpreted until a trusted key vouched for it. The
manifest then lists every file with its SHA-256; a file missing, added or changed refuses
the whole bundle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    # cryptography is ~8 MB of memory a gateway without [fleet] never needs: imported when used.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
#: The only files a bundle may carry besides its manifest and signature: flat TOML files.
FILE_NAME = re.compile(r"^(conf\.d|profiles)/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.toml$")
#: A school code or group name, as ``agent.school`` takes it.
TARGET_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class BundleRefused(Exception):
    """A bundle that must not be applied. ``reason`` is one word for metrics and logs
    (signature, manifest, files, target, downgrade, config, fetch); the message says what
    was wrong and what to do."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Manifest(BaseModel):
    """``manifest.json``: who the bundle is for, its version, and every file's SHA-256."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = Field(default=1, ge=1, le=1, description="manifest format; this agent reads 1")
    school: str | None = Field(default=None, pattern=TARGET_NAME, description="the one school it is for")
    group: str | None = Field(
        default=None, pattern=TARGET_NAME, description="or the group of schools (fleet.groups) it is for"
    )
    version: int = Field(ge=1, description="grows with every bundle the city issues; never reused")
    created: AwareDatetime
    files: dict[str, str] = Field(description="path inside the bundle -> SHA-256 (hex)")

    @field_validator("files")
    @classmethod
    def _files(cls, files: dict[str, str]) -> dict[str, str]:
        for name, sha in files.items():
            if not FILE_NAME.match(name):
                raise ValueError(
                    f"file {name!r}: a bundle holds only conf.d/<name>.toml and profiles/<name>.toml"
                )
            if not SHA256_HEX.match(sha):
                raise ValueError(f"file {name!r}: {sha!r} is not a SHA-256 in lower-case hex")
        return files

    @model_validator(mode="after")
    def _one_target(self) -> Manifest:
        if (self.school is None) == (self.group is None):
            raise ValueError("a manifest names exactly one target: school or group")
        return self

    @property
    def target(self) -> str:
        """``school sh-031`` or ``group xuhui``, for messages."""
        return f"school {self.school}" if self.school is not None else f"group {self.group}"

    def is_for(self, school: str, groups: Iterable[str]) -> bool:
        """Whether an agent of ``school`` in ``groups`` may apply it."""
        return self.school == school if self.school is not None else self.group in set(groups)


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose signature, files and target were checked."""

    manifest: Manifest
    #: Every file as it came, manifest and signature included (what the state dir keeps).
    files: Mapping[str, bytes]
    #: SHA-256 of the manifest's bytes: it names the bundle, for the manifest hashes the rest.
    sha256: str

    def content(self, folder: str) -> dict[str, bytes]:
        """The files of ``conf.d`` or ``profiles``, by their name in that folder."""
        prefix = f"{folder}/"
        return {
            name[len(prefix) :]: data for name, data in sorted(self.files.items()) if name.startswith(prefix)
        }


def load_public_keys(paths: Sequence[Path]) -> list[Ed25519PublicKey]:
    """The Ed25519 public keys in these PEM files (``openssl pkey -pubout``); ValueError naming
    the file that holds none."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys = []
    for path in paths:
        try:
            key = load_pem_public_key(path.read_bytes())
        except OSError as exc:
            raise ValueError(f"cannot read the key {str(path)!r}: {exc.strerror or exc}") from None
        except ValueError:
            raise ValueError(
                f"{str(path)!r} holds no PEM public key (make one with: openssl pkey -in city.key -pubout)"
            ) from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(
                f"{str(path)!r} holds a {type(key).__name__.removeprefix('_')}, not an Ed25519 public key"
            )
        keys.append(key)
    return keys


def verify(
    files: Mapping[str, bytes],
    keys: Sequence[Ed25519PublicKey],
    *,
    school: str | None,
    groups: Iterable[str] = (),
) -> VerifiedBundle:
    """Check a bundle read by :mod:`edge_agent.bundle.archive`; raise :class:`BundleRefused`.

    ``school=None`` skips the target check (``campus-ops bundle verify`` without ``--school``).
    """
    raw = files.get(MANIFEST)
    if raw is None:
        raise BundleRefused("manifest", f"no {MANIFEST} in the bundle")
    check_signature(raw, files.get(SIGNATURE), keys)
    manifest = parse_manifest(raw)
    listed = set(manifest.files)
    present = set(files) - {MANIFEST, SIGNATURE}
    if missing := sorted(listed - present):
        raise BundleRefused("files", f"the manifest lists {', '.join(missing)}, which the bundle lacks")
    if extra := sorted(present - listed):
        raise BundleRefused("files", f"{', '.join(extra)} in the bundle but not in its manifest")
    for name in sorted(listed):
        if hashlib.sha256(files[name]).hexdigest() != manifest.files[name]:
            raise BundleRefused(
                "files", f"{name} does not match its SHA-256 in the manifest (changed after signing)"
            )
    if school is not None and not manifest.is_for(school, groups):
        raise BundleRefused(
            "target",
            f"the bundle is for {manifest.target}, and this gateway is "
            f"school {school}" + (f" in groups {', '.join(groups)}" if groups else ""),
        )
    return VerifiedBundle(manifest, dict(files), hashlib.sha256(raw).hexdigest())


def check_signature(manifest: bytes, signature: bytes | None, keys: Sequence[Ed25519PublicKey]) -> None:
    """The manifest's bytes must carry a valid signature by one of ``keys``."""
    from cryptography.exceptions import InvalidSignature

    if signature is None:
        raise BundleRefused("signature", f"no {SIGNATURE}: the bundle is not signed")
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BundleRefused("signature", f"{SIGNATURE} is not base64 text") from None
    for key in keys:
        try:
            key.verify(raw, manifest)
        except InvalidSignature:
            continue
        return
    raise BundleRefused("signature", f"the signature matches none of the {len(keys)} trusted key(s)")


def parse_manifest(raw: bytes) -> Manifest:
    """``manifest.json`` as a :class:`Manifest`; BundleRefused("manifest") saying what is wrong."""
    try:
        return Manifest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        raise BundleRefused("manifest", f"{MANIFEST}: {where}: {message}{more}") from None


def sign_bytes(manifest: bytes, key: Ed25519PrivateKey) -> bytes:
    """The ``manifest.sig`` of ``manifest``: its Ed25519 signature in base64, one line."""
    return base64.b64encode(key.sign(manifest)) + b"\n"
