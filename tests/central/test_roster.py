"""The roster refuses what would give a school no identity, or two schools one."""

from __future__ import annotations

from pathlib import Path

import pytest

from campus_ops.roster import RosterError, load_roster, read_token
from campus_ops.vmauth import render_vmauth
from tests.central.rosters import TWO
from tests.central.rosters import write_roster as roster

ROOT = Path(__file__).resolve().parents[2]


def test_a_good_roster_loads_with_token_files_beside_it(tmp_path: Path) -> None:
    path = roster(tmp_path, TWO)
    loaded = load_roster(path)
    assert loaded.codes() == ["sh-a", "sh-b"]
    assert read_token(path, 0, loaded.schools[0]) == "tok-a"


def test_the_example_roster_is_valid_in_form(tmp_path: Path) -> None:
    example = (ROOT / "deploy/central/roster.example.toml").read_text()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for code in ("sh-031", "sh-032"):
        (secrets / f"{code}.token").write_text(f"token-{code}")
    path = tmp_path / "roster.toml"
    path.write_text(example)
    assert load_roster(path).codes() == ["sh-031", "sh-032"]


def test_a_duplicate_school_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    path = roster(tmp_path, TWO.replace('"sh-b"', '"sh-a"'))
    with pytest.raises(
        RosterError,
        match=r"roster\.toml: schools\[1\]\.code: school 'sh-a' "
        r"is already listed at schools\[0\]",
    ):
        load_roster(path)


def test_a_missing_token_file_is_refused_where_tokens_are_needed(tmp_path: Path) -> None:
    path = roster(tmp_path, TWO.replace("b.token", "nope.token"))
    with pytest.raises(RosterError, match=r"schools\[1\]\.token_file: file .*nope\.token' does not exist"):
        load_roster(path, tokens=True)


def test_listing_the_schools_needs_no_token_file(tmp_path: Path) -> None:
    # An operator's fleet view or console lists schools; only vmauth needs their write secrets.
    path = roster(tmp_path, TWO, {})
    assert load_roster(path).codes() == ["sh-a", "sh-b"]


def test_an_unreadable_token_file_is_refused(tmp_path: Path) -> None:
    # root reads any mode; a folder where a file should be is unreadable as a token for everyone.
    (tmp_path / "dir.token").mkdir()
    path = roster(tmp_path, TWO.replace("b.token", "dir.token"))
    with pytest.raises(RosterError, match=r"schools\[1\]\.token_file: .*dir\.token' is not a regular file"):
        load_roster(path, tokens=True)


def test_an_empty_token_file_is_refused_when_rendered(tmp_path: Path) -> None:
    path = roster(tmp_path, TWO, {"a.token": "tok-a", "b.token": " \n"})
    with pytest.raises(
        RosterError,
        match=r"roster\.toml: schools\[1\]\.token_file: "
        r"file .*b\.token' is empty",
    ):
        render_vmauth(load_roster(path), "http://127.0.0.1:8428", roster_path=path)


def test_two_schools_sharing_a_token_are_refused(tmp_path: Path) -> None:
    path = roster(tmp_path, TWO, {"a.token": "same", "b.token": "same"})
    with pytest.raises(RosterError, match=r"schools\[1\]\.token_file: same token as school 'sh-a'"):
        render_vmauth(load_roster(path), "http://127.0.0.1:8428", roster_path=path)


@pytest.mark.parametrize("code", ["SH-A", "sh a", "-sh", "", "sh_031"])
def test_a_bad_code_is_refused_naming_the_key_and_the_value(tmp_path: Path, code: str) -> None:
    path = roster(tmp_path, TWO.replace('"sh-b"', f'"{code}"'))
    with pytest.raises(
        RosterError,
        match=rf"roster\.toml: schools\[1\]\.code: "
        rf".*school code .*given: '{code}'",
    ):
        load_roster(path)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = roster(tmp_path, TWO.replace('name = "School B"', 'nmae = "School B"'))
    with pytest.raises(RosterError, match=r"schools\[1\]\.nmae: Extra inputs"):
        load_roster(path)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = roster(tmp_path, "[[schools]\n")
    with pytest.raises(RosterError, match=r"roster\.toml: not valid TOML"):
        load_roster(path)
