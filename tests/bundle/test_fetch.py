"""Fetching a bundle from a real https server on loopback (a test CA), or from a local path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campus_ops.bundle import tarball
from edge_agent.bundle import BundleRefused
from edge_agent.bundle.fetch import FetchError, fetch
from tests.support.bundleserver import BundleServer
from tests.support.ports import LOOPBACK, free_port
from tests.support.tlsca import TestCA

from .helpers import DEVICE, CityKey, bundle_files, write_bundle

CONTENT = {"conf.d/city.toml": DEVICE.format(name="c-1", port=5020)}


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "ca")


@pytest.fixture
def server(ca: TestCA) -> Iterator[BundleServer]:
    running = BundleServer(ca)
    yield running
    running.close()


async def test_a_bundle_then_not_modified(server: BundleServer, ca: TestCA, tmp_path: Path) -> None:
    files = bundle_files(CONTENT, CityKey(tmp_path / "keys"), version=1)
    server.serve(tarball(files))
    first = await fetch(server.url, None, within=5, tls_ca=ca.cert)
    assert first.files == files and first.etag == server.etag
    again = await fetch(server.url, first.etag, within=5, tls_ca=ca.cert)
    assert again.files is None
    assert [r[2:] for r in server.requests] == [(None, 200), (first.etag, 304)]


async def test_an_error_status_is_a_failed_fetch(server: BundleServer, ca: TestCA) -> None:
    server.serve(None)
    with pytest.raises(FetchError, match="answered 404"):
        await fetch(server.url, None, within=5, tls_ca=ca.cert)


async def test_what_is_no_bundle_is_refused(server: BundleServer, ca: TestCA) -> None:
    server.serve(b"<html>maintenance</html>")
    with pytest.raises(BundleRefused, match="not a readable tarball"):
        await fetch(server.url, None, within=5, tls_ca=ca.cert)


async def test_a_server_that_hangs_meets_the_deadline(server: BundleServer, ca: TestCA) -> None:
    server.hang = True
    with pytest.raises(FetchError, match=r"no full answer within 0\.5s"):
        await fetch(server.url, None, within=0.5, tls_ca=ca.cert)


async def test_a_server_of_another_ca_is_not_trusted(server: BundleServer, tmp_path: Path) -> None:
    server.serve(b"x")
    other = TestCA(tmp_path / "other", "another CA")
    with pytest.raises(FetchError, match="certificate is not trusted"):
        await fetch(server.url, None, within=5, tls_ca=other.cert)


async def test_a_server_that_is_down_is_a_failed_fetch() -> None:
    with pytest.raises(FetchError, match="cannot connect"):
        await fetch(f"https://{LOOPBACK}:{free_port()}/b.tar.gz", None, within=5)


async def test_a_local_bundle_is_read_again_only_when_it_changed(tmp_path: Path) -> None:
    city = CityKey(tmp_path / "keys")
    folder = write_bundle(tmp_path / "usb" / "bundle", CONTENT, city, version=1)
    first = await fetch(str(folder), None, within=5)
    assert first.files is not None and first.etag is not None
    assert (await fetch(str(folder), first.etag, within=5)).files is None
    write_bundle(folder, CONTENT, city, version=2)
    assert (await fetch(str(folder), first.etag, within=5)).files is not None
    with pytest.raises(FetchError, match="cannot read"):
        await fetch(str(tmp_path / "not-mounted.tar.gz"), None, within=5)
