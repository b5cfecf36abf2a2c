"""Topic filters: named levels become tags; + and # match as MQTT says."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.mqtt.topic import TopicPattern


def test_named_levels_become_plus_and_tags() -> None:
    pattern = TopicPattern.parse("campus/{building}/{room}/iaq")
    assert pattern.filter == "campus/+/+/iaq"
    assert pattern.match("campus/A/301/iaq") == (("building", "A"), ("room", "301"))
    assert pattern.tag_names == ("building", "room")


@pytest.mark.parametrize(
    ("pattern", "topic", "tags"),
    [
        ("a/+/c", "a/b/c", ()),
        ("a/+/c", "a/b/d", None),
        ("a/+/c", "a/b/c/d", None),
        ("a/#", "a", ()),
        ("a/#", "a/b/c", ()),
        ("{site}/#", "x/y/z", (("site", "x"),)),
        ("#", "$SYS/broker/uptime", None),
        ("+/broker", "$SYS/broker", None),
        ("$SYS/#", "$SYS/broker", ()),
        ("a/{b}", "a/", (("b", ""),)),
    ],
)
def test_matching_follows_mqtt(pattern: str, topic: str, tags: tuple[tuple[str, str], ...] | None) -> None:
    assert TopicPattern.parse(pattern).match(topic) == tags


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("", "cannot be empty"),
        ("a/#/b", "'#' must be the last level"),
        ("a/b+/c", "stand alone"),
        ("a/{Building}/c", "a tag is a whole level"),
        ("a/x{room}/c", "a tag is a whole level"),
        ("a/{room}/{room}", "appears twice"),
        ("a/{device}", "set by the agent"),
    ],
)
def test_bad_filters_say_how_to_write_them(pattern: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        TopicPattern.parse(pattern)


LEVEL = st.text(alphabet="abcXYZ019-_", min_size=0, max_size=5)


@given(levels=st.lists(LEVEL, min_size=1, max_size=6), data=st.data())
def test_a_pattern_with_names_matches_its_topics_and_gives_their_levels(
    levels: list[str], data: st.DataObject
) -> None:
    named = data.draw(st.sets(st.integers(0, len(levels) - 1)))
    pattern = "/".join(f"{{t{i}}}" if i in named else (level or "+") for i, level in enumerate(levels))
    topic = "/".join(levels)
    tags = TopicPattern.parse(pattern).match(topic)
    assert tags == tuple((f"t{i}", levels[i]) for i in sorted(named))
