"""Fetching the city's bundle: one GET with If-None-Match and a deadline, or a read of a local path.

A server that does not answer, answers an error or hangs is a :class:`FetchError`: nothing
was offered, so nothing is refused and the config in force stays. What did arrive but is no
bundle (an HTML error page with 200, a broken tarball, too large) is a
:class:`~edge_agent.bundle.BundleRefused` like any bundle that fails a check.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from campus_core.tls import client_context, explain

from .archive import MAX_BYTES, read_bundle, read_tar
from .manifest import MANIFEST, BundleRefused


class FetchError(Exception):
    """The bundle could not be fetched (server down, error status, no answer in time)."""


@dataclass(frozen=True)
class Fetched:
    """What a fetch brought: the bundle's files, or None when it did not change (304)."""

    files: dict[str, bytes] | None
    #: The ETag to send next time (a local bundle's is its manifest's SHA-256).
    etag: str | None


async def fetch(
    url: str, etag: str | None, *, within: float, tls_ca: Path | None = None, proxy: str | None = None
) -> Fetched:
    """The bundle at ``url`` (https:// or a local path), unless it still has ``etag``; an https
    fetch takes ``within`` seconds at most, connect to last byte.

    It goes through ``proxy`` when one is given, else through the proxy that ``HTTPS_PROXY``
    names unless ``NO_PROXY`` exempts the host (the environment of the service).
    """
    if url.startswith("https://"):
        context = await asyncio.to_thread(client_context, tls_ca, None, None)
        return await _get(url, etag, within, context, proxy)
    return await asyncio.to_thread(_read_local, Path(url), etag)


async def _get(
    url: str, etag: str | None, within: float, context: ssl.SSLContext, proxy: str | None
) -> Fetched:
    headers = {"If-None-Match": etag} if etag else {}
    timeout = aiohttp.ClientTimeout(total=within)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, trust_env=True) as session,
            # Not followed: the gateway fetches only from where [fleet] says.
            session.get(url, headers=headers, ssl=context, proxy=proxy, allow_redirects=False) as response,
        ):
            if response.status == 304:
                return Fetched(None, etag)
            if response.status != 200:
                raise FetchError(
                    f"{url} answered {response.status} {response.reason or ''}".rstrip()
                    + ("; is the bundle for this school published?" if response.status == 404 else "")
                )
            body = await _read_capped(response, url)
            return Fetched(read_tar(body), response.headers.get("ETag"))
    except TimeoutError:
        raise FetchError(f"{url} gave no full answer within {within:g}s (fleet.timeout)") from None
    except aiohttp.ClientConnectorCertificateError as exc:
        reason = getattr(exc.certificate_error, "verify_message", None) or exc.certificate_error
        raise FetchError(
            f"{url}: the server's certificate is not trusted ({reason}); check fleet.tls_ca"
        ) from None
    except aiohttp.ClientHttpProxyError as exc:
        raise FetchError(
            f"{url}: the proxy refused ({exc.status} {exc.message}); check fleet.proxy"
        ) from None
    except aiohttp.ClientProxyConnectionError as exc:
        raise FetchError(f"{url}: cannot reach the proxy ({exc.os_error}); check fleet.proxy") from None
    except (aiohttp.ClientError, OSError) as exc:
        tls_problem = explain(exc)
        if tls_problem is not None:
            raise FetchError(f"{url}: {tls_problem}; check fleet.tls_ca") from None
        if isinstance(exc, aiohttp.ClientConnectionError | OSError):
            raise FetchError(f"{url}: cannot connect ({exc or type(exc).__name__})") from None
        raise FetchError(f"{url}: no proper HTTP answer ({exc or type(exc).__name__})") from None


async def _read_capped(response: aiohttp.ClientResponse, url: str) -> bytes:
    """The whole body, or BundleRefused once it passes what a bundle can be."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_BYTES:
            raise BundleRefused(
                "format", f"{url} sent more than {MAX_BYTES // 2**20} MiB; no bundle is that large"
            )
    return bytes(body)


def _read_local(path: Path, etag: str | None) -> Fetched:
    try:
        files = read_bundle(path)
    except BundleRefused as exc:
        if exc.reason == "fetch":
            raise FetchError(str(exc)) from None
        raise
    manifest = files.get(MANIFEST)
    tag = f'"sha256:{hashlib.sha256(manifest).hexdigest()}"' if manifest is not None else None
    if tag is not None and tag == etag:
        return Fetched(None, etag)
    return Fetched(files, tag)
