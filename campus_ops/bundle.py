"""``campus-ops bundle build|sign|verify|keygen``: the city's signed config bundles.

A bundle carries ``conf.d/*.toml`` drop-ins (devices and sinks only) and ``profiles/*.toml``
for one school or a group of schools, with a manifest (target, version, created, the
SHA-256 of every file) and a detached Ed25519 signature over the manifest. The gateways
verify it with :mod:`edge_agent.bundle` (the same code ``verify`` runs here) before they
validate and apply it; docs/operations.md says how a city serves them.

A tarball is written reproducibly (sorted names, no times, no owners), so the same files
give the same bytes and the same ETag on the bundle server.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import tomllib
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_agent.bundle import (
    MANIFEST,
    SIGNATURE,
    BundleRefused,
    Manifest,
    load_public_keys,
    read_bundle,
    read_dir,
    verify,
)
from edge_agent.bundle.manifest import parse_manifest, sign_bytes
from edge_agent.bundle.scope import CENTRAL_SECTIONS

HELP = "build, sign and verify the signed config bundles the gateways pull"


class BundleError(Exception):
    """The bundle cannot be built or signed; the message names the file."""


def collect(source: Path) -> dict[str, bytes]:
    """The files of a source folder (``conf.d/``, ``profiles/``), checked as TOML a bundle may carry."""
    try:
        files = {name: data for name, data in read_dir(source).items() if name not in (MANIFEST, SIGNATURE)}
    except BundleRefused as exc:
        raise BundleError(str(exc)) from None
    if not files:
        raise BundleError(f"{source} holds no conf.d/*.toml and no profiles/*.toml")
    for name, data in files.items():
        try:
            parsed = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise BundleError(f"{source / name}: not valid TOML: {exc}") from None
        if name.startswith("conf.d/") and (other := sorted(set(parsed) - set(CENTRAL_SECTIONS))):
            raise BundleError(
                f"{source / name}: sets [{'], ['.join(other)}]; a bundle's drop-ins "
                f"set only {', '.join(CENTRAL_SECTIONS)} (the rest is the school's)"
            )
    return files


def manifest_bytes(
    files: Mapping[str, bytes],
    *,
    version: int,
    school: str | None = None,
    group: str | None = None,
    created: datetime.datetime | None = None,
) -> bytes:
    """The manifest of ``files``, validated as the agent will read it."""
    when = created or datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    document: dict[str, object] = {"format": 1, "version": version, "created": when.isoformat()}
    document.update({"school": school} if school is not None else {"group": group})
    document["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    raw = (json.dumps(document, indent=2) + "\n").encode()
    try:
        parse_manifest(raw)
    except BundleRefused as exc:
        raise BundleError(str(exc)) from None
    return raw


def tarball(files: Mapping[str, bytes]) -> bytes:
    """A reproducible .tar.gz of ``files``: sorted, time 0, owner root, mode 0644."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)


def write(files: Mapping[str, bytes], out: Path) -> None:
    """Write a bundle as a tarball (``*.tar.gz``, ``*.tgz``) or into a directory."""
    if out.name.endswith((".tar.gz", ".tgz")):
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        partial.write_bytes(tarball(files))
        partial.replace(out)  # a server never serves half a bundle
        return
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise BundleError(f"{out} exists and holds something other than a bundle; choose another --out")
    if out.exists():
        # An older bundle here: its files the new one lacks (an old signature too) would
        # make the new one fail to verify.
        try:
            old = read_dir(out)
        except BundleRefused as exc:
            raise BundleError(f"{out}: {exc}; choose another --out") from None
        for stale in set(old) - set(files):
            (out / stale).unlink()
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The city's Ed25519 signing key (PEM, unencrypted: ``openssl genpkey -algorithm ed25519``)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise BundleError(f"cannot read the key {str(path)!r}: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{str(path)!r} holds no unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"{str(path)!r} is not an Ed25519 key; bundles are signed with Ed25519")
    return key


def signed(files: Mapping[str, bytes], key: Ed25519PrivateKey) -> dict[str, bytes]:
    """``files`` with a fresh ``manifest.sig`` over their manifest."""
    return {**files, SIGNATURE: sign_bytes(files[MANIFEST], key)}


def _build(args: argparse.Namespace) -> int:
    files = collect(args.source)
    files[MANIFEST] = manifest_bytes(files, version=args.version, school=args.school, group=args.group)
    if args.key is not None:
        files = signed(files, load_private_key(args.key))
    write(files, args.out)
    manifest = parse_manifest(files[MANIFEST])
    state = "signed" if args.key is not None else "not signed yet (campus-ops bundle sign)"
    print(
        f"bundle {args.out}: version {manifest.version} for {manifest.target}, "
        f"{len(manifest.files)} file(s), {state}"
    )
    return 0


def _sign(args: argparse.Namespace) -> int:
    key = load_private_key(args.key)
    try:
        files = read_bundle(args.bundle)
    except BundleRefused as exc:
        raise BundleError(f"{args.bundle}: {exc}") from None
    if MANIFEST not in files:
        raise BundleError(f"{args.bundle} has no {MANIFEST}; build it first (campus-ops bundle build)")
    files = signed(files, key)
    if args.bundle.is_dir():
        (args.bundle / SIGNATURE).write_bytes(files[SIGNATURE])
    else:
        write(files, args.bundle)
    print(f"signed {args.bundle} ({hashlib.sha256(files[MANIFEST]).hexdigest()[:12]})")
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        keys = load_public_keys(args.key)
    except ValueError as exc:
        raise BundleError(str(exc)) from None
    try:
        bundle = verify(read_bundle(args.bundle), keys, school=args.school, groups=args.group or ())
    except BundleRefused as exc:
        print(f"campus-ops bundle verify: {args.bundle}: refused ({exc.reason}): {exc}", file=sys.stderr)
        return 1
    manifest: Manifest = bundle.manifest
    print(
        f"bundle OK: {args.bundle}: version {manifest.version} for {manifest.target}, "
        f"created {manifest.created.isoformat()}, {len(manifest.files)} file(s), sha256 {bundle.sha256}"
    )
    for name in sorted(manifest.files):
        print(f"  {name}  {manifest.files[name]}")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    key = Ed25519PrivateKey.generate()
    public = args.out.with_name(args.out.name.removesuffix(".key") + ".pub")
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        args.out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL: a signing key is never overwritten, not even by a second keygen at the same moment.
        handle = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BundleError(f"{args.out} exists; a signing key is never overwritten") from None
    except OSError as exc:
        raise BundleError(f"cannot write the key {str(args.out)!r}: {exc.strerror}") from None
    with os.fdopen(handle, "wb") as out:
        out.write(private)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    print(f"signing key {args.out} (keep it offline), public key {public} (fleet.trusted_keys)")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``build``, ``sign``, ``verify`` and ``keygen``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="make a bundle from a folder of conf.d/ and profiles/")
    build.add_argument("source", type=Path, help="folder holding conf.d/*.toml and profiles/*.toml")
    target = build.add_mutually_exclusive_group(required=True)
    target.add_argument("--school", help="the school it is for (agent.school)")
    target.add_argument("--group", help="or the group of schools it is for (fleet.groups)")
    build.add_argument(
        "--version",
        type=int,
        required=True,
        help="greater than any bundle these gateways had before (they refuse a downgrade)",
    )
    build.add_argument("--out", type=Path, required=True, help="a directory, or a file ending .tar.gz")
    build.add_argument("--key", type=Path, help="sign it too, with this Ed25519 private key (PEM)")
    build.set_defaults(act=_build)
    sign = actions.add_parser("sign", help="sign a bundle's manifest (writes manifest.sig)")
    sign.add_argument("bundle", type=Path, help="bundle directory or .tar.gz")
    sign.add_argument("--key", type=Path, required=True, help="the Ed25519 private key (PEM)")
    sign.set_defaults(act=_sign)
    check = actions.add_parser("verify", help="check it as a gateway does; exit 1 if it would refuse it")
    check.add_argument("bundle", type=Path, help="bundle directory or .tar.gz")
    check.add_argument(
        "--key",
        type=Path,
        action="append",
        required=True,
        help="a trusted public key (PEM); repeat for several",
    )
    check.add_argument("--school", help="check that a gateway of this school would take it")
    check.add_argument("--group", action="append", help="with --school: a group the school is in")
    check.set_defaults(act=_verify)
    keygen = actions.add_parser("keygen", help="make an Ed25519 signing key and its public key")
    keygen.add_argument("--out", type=Path, required=True, help="private key file (NAME.key; NAME.pub too)")
    keygen.set_defaults(act=_keygen)


def run(args: argparse.Namespace) -> int:
    """Run the chosen action; 2 when its input cannot be used."""
    try:
        return int(args.act(args))
    except BundleError as exc:
        print(f"campus-ops bundle {args.action}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"campus-ops bundle {args.action}: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr
        )
        return 2
