"""Bundles for the tests, made with the city's own tool (campus_ops.bundle)."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from campus_ops.bundle import manifest_bytes, signed, write
from edge_agent.bundle import MANIFEST

DEVICE = """
[[devices.modbus]]
name = "{name}"
host = "127.0.0.1"
port = {port}
unit = 1
profile = "classroom-iaq"
"""


class CityKey:
    """An Ed25519 signing key and its public key file, as the city keeps them."""

    def __init__(self, directory: Path, name: str = "city") -> None:
        self.private = Ed25519PrivateKey.generate()
        directory.mkdir(parents=True, exist_ok=True)
        self.key_file = directory / f"{name}.key"
        self.key_file.write_bytes(
            self.private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.pub_file = directory / f"{name}.pub"
        self.pub_file.write_bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def bundle_files(
    content: dict[str, str],
    key: CityKey | None,
    *,
    version: int,
    school: str | None = "sh-test",
    group: str | None = None,
) -> dict[str, bytes]:
    """A bundle of ``content`` (name -> text), signed by ``key`` unless it is None."""
    files = {name: text.encode() for name, text in content.items()}
    created = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.UTC)
    files[MANIFEST] = manifest_bytes(
        files, version=version, school=None if group else school, group=group, created=created
    )
    return signed(files, key.private) if key is not None else files


def write_bundle(
    out: Path,
    content: dict[str, str],
    key: CityKey | None,
    *,
    version: int,
    school: str | None = "sh-test",
    group: str | None = None,
) -> Path:
    """The bundle written to ``out`` (a directory, or a file ending .tar.gz)."""
    write(bundle_files(content, key, version=version, school=school, group=group), out)
    return out
