"""Reading a bundle, from a directory or a tarball, into memory and nothing else.

Nothing is extracted: each member is read into a dict by its name, and only the names a
bundle may hold are taken (``manifest.json``, ``manifest.sig``, ``conf.d/*.toml``,
``profiles/*.toml``). A link, a device, a path that climbs out, a name outside those, or
more than :data:`MAX_BYTES` refuses the bundle before any of it is looked at further.
"""

from __future__ import annotations

import io
import stat
import tarfile
import zlib
from pathlib import Path

from .manifest import FILE_NAME, MANIFEST, SIGNATURE, BundleRefused

#: A bundle's files together: far more than any school's drop-ins and profiles need.
MAX_BYTES = 16 * 2**20


def _allowed(name: str) -> bool:
    return name in (MANIFEST, SIGNATURE) or FILE_NAME.match(name) is not None


def read_tar(data: bytes) -> dict[str, bytes]:
    """The files of a tarball (gzip or plain), by name; BundleRefused("format") if it is no bundle."""
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if member.isdir():
                    continue
                if not member.isreg():
                    raise BundleRefused("format", f"{member.name!r} in the tarball is not a regular file")
                if not _allowed(name):
                    raise BundleRefused(
                        "format",
                        f"{member.name!r} is not a file a bundle may hold "
                        "(manifest.json, manifest.sig, conf.d/*.toml, profiles/*.toml)",
                    )
                if name in files:
                    raise BundleRefused("format", f"{name!r} is twice in the tarball")
                total += member.size
                if total > MAX_BYTES:
                    raise BundleRefused("format", f"the bundle is larger than {MAX_BYTES // 2**20} MiB")
                handle = tar.extractfile(member)
                assert handle is not None  # a regular file always has one
                files[name] = handle.read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BundleRefused("format", f"not a readable tarball: {exc}") from None
    return files


def read_dir(path: Path) -> dict[str, bytes]:
    """The files of a bundle directory, by name; links and stray files refuse it."""
    files: dict[str, bytes] = {}
    total = 0
    for name in (MANIFEST, SIGNATURE):
        if (path / name).exists() or (path / name).is_symlink():
            files[name] = _read_regular(path / name, name)
            total += len(files[name])
    for folder in ("conf.d", "profiles"):
        where = path / folder
        if where.is_symlink():
            raise BundleRefused("format", f"{where} is a link; a bundle holds plain folders")
        if not where.is_dir():
            continue
        for entry in sorted(where.iterdir()):
            name = f"{folder}/{entry.name}"
            if not FILE_NAME.match(name):
                raise BundleRefused(
                    "format", f"{entry} is not a file a bundle may hold ({folder}/<name>.toml)"
                )
            files[name] = _read_regular(entry, name)
            total += len(files[name])
            if total > MAX_BYTES:
                raise BundleRefused("format", f"the bundle is larger than {MAX_BYTES // 2**20} MiB")
    return files


def _read_regular(path: Path, name: str) -> bytes:
    try:
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode):
            raise BundleRefused("format", f"{name} is not a regular file (a link?)")
        return path.read_bytes()
    except OSError as exc:
        raise BundleRefused("format", f"cannot read {path}: {exc.strerror or exc}") from None


def read_bundle(path: Path) -> dict[str, bytes]:
    """A bundle from a directory or a tarball file."""
    if path.is_dir():
        return read_dir(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleRefused("fetch", f"cannot read {path}: {exc.strerror or exc}") from None
    return read_tar(data)
