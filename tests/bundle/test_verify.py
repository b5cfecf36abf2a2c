"""What a gateway checks in a bundle before it looks at its config: signature, files, target."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from campus_ops.bundle import signed, tarball
from edge_agent.bundle import (
    MANIFEST,
    SIGNATURE,
    BundleRefused,
    load_public_keys,
    read_bundle,
    read_tar,
    verify,
)

from .helpers import DEVICE, CityKey, bundle_files, write_bundle

CONTENT = {"conf.d/city.toml": DEVICE.format(name="c-1", port=5020), "profiles/extra.toml": "kind = 'x'\n"}


@pytest.fixture
def city(tmp_path: Path) -> CityKey:
    return CityKey(tmp_path / "keys")


def refused(
    files: dict[str, bytes], city: CityKey, school: str = "sh-test", groups: tuple[str, ...] = ()
) -> BundleRefused:
    with pytest.raises(BundleRefused) as caught:
        verify(files, load_public_keys([city.pub_file]), school=school, groups=groups)
    return caught.value


def test_a_signed_bundle_for_this_school_verifies(city: CityKey) -> None:
    keys = load_public_keys([city.pub_file])
    bundle = verify(bundle_files(CONTENT, city, version=3), keys, school="sh-test")
    assert bundle.manifest.version == 3 and bundle.manifest.school == "sh-test"
    assert set(bundle.content("conf.d")) == {"city.toml"}
    assert set(bundle.content("profiles")) == {"extra.toml"}


def test_a_tampered_file_is_refused(city: CityKey) -> None:
    files = bundle_files(CONTENT, city, version=3)
    files["conf.d/city.toml"] = files["conf.d/city.toml"].replace(b"5020", b"5021")
    error = refused(files, city)
    assert error.reason == "files" and "conf.d/city.toml does not match its SHA-256" in str(error)


def test_a_file_added_after_signing_is_refused(city: CityKey) -> None:
    files = {**bundle_files(CONTENT, city, version=3), "conf.d/zz.toml": b"[[sinks.influxdb]]\n"}
    assert "conf.d/zz.toml in the bundle but not in its manifest" in str(refused(files, city))


def test_a_file_removed_after_signing_is_refused(city: CityKey) -> None:
    files = bundle_files(CONTENT, city, version=3)
    del files["profiles/extra.toml"]
    assert "lists profiles/extra.toml, which the bundle lacks" in str(refused(files, city))


def test_a_manifest_changed_after_signing_is_refused(city: CityKey) -> None:
    files = bundle_files(CONTENT, city, version=3)
    files[MANIFEST] = files[MANIFEST].replace(b'"version": 3', b'"version": 4')
    error = refused(files, city)
    assert error.reason == "signature" and "none of the 1 trusted key(s)" in str(error)


def test_a_bundle_signed_with_another_key_is_refused(city: CityKey, tmp_path: Path) -> None:
    other = CityKey(tmp_path / "other", "intruder")
    error = refused(bundle_files(CONTENT, other, version=3), city)
    assert error.reason == "signature"


def test_any_one_of_several_trusted_keys_will_do(city: CityKey, tmp_path: Path) -> None:
    rolled = CityKey(tmp_path / "next", "city-2027")
    keys = load_public_keys([city.pub_file, rolled.pub_file])
    assert verify(bundle_files(CONTENT, rolled, version=3), keys, school="sh-test").manifest.version == 3


def test_an_unsigned_bundle_is_refused(city: CityKey) -> None:
    error = refused(bundle_files(CONTENT, None, version=3), city)
    assert error.reason == "signature" and "not signed" in str(error)


def test_a_signature_that_is_not_base64_is_refused(city: CityKey) -> None:
    files = {**bundle_files(CONTENT, city, version=3), SIGNATURE: b"%%% not base64 %%%"}
    assert "not base64" in str(refused(files, city))


def test_a_bundle_for_another_school_is_refused(city: CityKey) -> None:
    error = refused(bundle_files(CONTENT, city, version=3, school="sh-999"), city)
    assert error.reason == "target"
    assert "for school sh-999, and this gateway is school sh-test" in str(error)


def test_a_group_bundle_applies_to_the_schools_of_that_group(city: CityKey) -> None:
    files = bundle_files(CONTENT, city, version=3, group="xuhui")
    keys = load_public_keys([city.pub_file])
    assert verify(files, keys, school="sh-test", groups=["xuhui"]).manifest.group == "xuhui"
    assert refused(files, city, groups=("minhang",)).reason == "target"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: m.pop("version"), "version: Field required"),
        (lambda m: m.update(version=0), "version: Input should be greater than or equal to 1"),
        (lambda m: m.update(created="yesterday"), "created:"),
        (lambda m: m.update(created="2026-12-05T12:00:00"), "created: Input should have timezone info"),
        (lambda m: m.update(group="xuhui"), "exactly one target"),
        (lambda m: m.pop("school"), "exactly one target"),
        (lambda m: m.update(format=2), "format:"),
        (lambda m: m.update(comment="hi"), "comment: Extra inputs are not permitted"),
        (lambda m: m["files"].update({"../agent.toml": "0" * 64}), "a bundle holds only conf.d/<name>.toml"),
        (lambda m: m["files"].update({"conf.d/city.toml": "xyz"}), "is not a SHA-256"),
    ],
)
def test_a_bad_manifest_is_refused_saying_which_key(city: CityKey, change: object, expected: str) -> None:
    files = bundle_files(CONTENT, city, version=3)
    manifest = json.loads(files[MANIFEST])
    change(manifest)  # type: ignore[operator]
    files[MANIFEST] = json.dumps(manifest).encode()
    error = refused(signed(files, city.private), city)  # signed: the manifest itself is what is wrong
    assert error.reason == "manifest" and expected in str(error), str(error)


def test_a_manifest_that_is_not_json_is_refused(city: CityKey) -> None:
    files = signed({**bundle_files(CONTENT, city, version=3), MANIFEST: b"{version = 3"}, city.private)
    assert refused(files, city).reason == "manifest"


def test_directory_and_tarball_read_the_same(city: CityKey, tmp_path: Path) -> None:
    as_dir = read_bundle(write_bundle(tmp_path / "b", CONTENT, city, version=3))
    as_tar = read_bundle(write_bundle(tmp_path / "b.tar.gz", CONTENT, city, version=3))
    assert as_dir == as_tar == bundle_files(CONTENT, city, version=3) | {SIGNATURE: as_dir[SIGNATURE]}


def test_the_same_files_make_the_same_tarball(city: CityKey) -> None:
    files = bundle_files(CONTENT, city, version=3)
    assert tarball(files) == tarball(dict(reversed(list(files.items()))))


def _tar(*members: tarfile.TarInfo, data: bytes = b"x") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for member in members:
            member.size = len(data) if member.isreg() else 0
            tar.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return out.getvalue()


def test_a_tarball_with_a_link_or_a_path_outside_is_refused() -> None:
    link = tarfile.TarInfo("conf.d/evil.toml")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    with pytest.raises(BundleRefused, match="not a regular file"):
        read_tar(_tar(link))
    with pytest.raises(BundleRefused, match="not a file a bundle may hold"):
        read_tar(_tar(tarfile.TarInfo("conf.d/../../agent.toml")))
    with pytest.raises(BundleRefused, match="not a file a bundle may hold"):
        read_tar(_tar(tarfile.TarInfo("agent.toml")))
    with pytest.raises(BundleRefused, match="not a readable tarball"):
        read_tar(b"<html>502 Bad Gateway</html>")


def test_a_directory_with_a_link_is_refused(city: CityKey, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b", CONTENT, city, version=3)
    (bundle / "conf.d" / "more.toml").symlink_to("/etc/hostname")
    with pytest.raises(BundleRefused, match="not a regular file"):
        read_bundle(bundle)


def test_the_agent_verifies_without_the_central_side() -> None:
    import subprocess
    import sys

    code = "import sys, edge_agent.bundle; assert not [m for m in sys.modules if m.startswith('campus_ops')]"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_a_gateway_without_fleet_loads_no_cryptography() -> None:
    import subprocess
    import sys

    # ~8 MB of resident memory on every gateway, for bundles most of them may never get.
    code = (
        "import sys, edge_agent.agent, edge_agent.cli; "
        "assert not [m for m in sys.modules if m.startswith('cryptography')]"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
