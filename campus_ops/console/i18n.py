"""The console's words in Chinese and English, and which of the two a request gets.

``?lang=zh|en`` wins; otherwise the first of Chinese or English in the browser's
``Accept-Language`` (by its q-values); otherwise English. Alert summaries are not here: they
are shown as the rules wrote them. What the fleet view says of a gateway (``problems``) is
translated by pattern, so :mod:`campus_ops.fleet` stays the one judge of a school's state.
"""

from __future__ import annotations

import re

from campus_core import suffixes

from .strings import FIELDS, STRINGS, UNITS

LANGS = ("en", "zh")
DEFAULT = "en"


def choose(query_lang: str | None, accept_language: str | None) -> str:
    """The language of a request: ``?lang=`` if it names one we have, else Accept-Language."""
    if query_lang:
        short = query_lang.strip().lower()[:2]
        if short in LANGS:
            return short
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        short = tag.strip().lower()[:2]
        if short in LANGS and quality > 0:
            ranked.append((-quality, index, short))
    return min(ranked)[2] if ranked else DEFAULT


def strings(lang: str) -> dict[str, str]:
    """Every string of the interface in ``lang``, by key (the pages' scripts read these)."""
    column = LANGS.index(lang)
    return {key: pair[column] for key, pair in STRINGS.items()}


def t(lang: str, key: str) -> str:
    """One string in ``lang``; the key itself when there is none (a missing string shows)."""
    pair = STRINGS.get(key)
    return pair[LANGS.index(lang)] if pair else key


# What campus_ops.fleet.judge writes, and the same in Chinese.
_PROBLEMS = [
    (re.compile(r"^quiet for (\S+)$"), "静默已 {0}"),
    (re.compile(r"^(\d+) device\(s\) down$"), "{0} 台设备离线"),
    (re.compile(r"^backlog (\S+) old$"), "积压数据最早 {0} 前"),
    (re.compile(r"^(\d+) point\(s\) dropped$"), "丢弃 {0} 个数据点"),
    (re.compile(r"^(\d+) point\(s\) dead-lettered$"), "{0} 个数据点被拒收"),
    (re.compile(r"^(\d+) sink error\(s\)$"), "发送失败 {0} 次"),
    (re.compile(r"^never reported$"), "从未上报"),
]
_AGE_UNITS = {"s": "秒", "m": "分钟", "h": "小时", "d": "天"}


def problem(lang: str, text: str) -> str:
    """One of the fleet view's problems in ``lang`` (as written when no pattern knows it)."""
    if lang != "zh":
        return text
    for pattern, template in _PROBLEMS:
        match = pattern.match(text)
        if match:
            return template.format(*(_age_zh(group) for group in match.groups()))
    return text


def _age_zh(text: str) -> str:
    match = re.fullmatch(r"(\d+)([smhd])", text)
    return f"{match.group(1)} {_AGE_UNITS[match.group(2)]}" if match else text


def field(lang: str, name: str) -> tuple[str, str]:
    """A field's label and unit in ``lang``: ``co2_ppm`` gives ("CO₂", "ppm").

    Fields the table does not know keep their name; their unit is read from the name's
    suffix, which the schema's naming rule makes a unit.
    """
    column = LANGS.index(lang)
    known = FIELDS.get(name)
    if known is not None:
        return known[column], unit(lang, known[2])
    found = _suffix_unit(name)
    if found is None:
        return name, ""
    stem, symbol = found
    return stem, unit(lang, symbol)


def unit(lang: str, symbol: str) -> str:
    """A unit as ``lang`` writes it: symbols stay, words (hours, minutes) are translated."""
    words = UNITS.get(symbol)
    return words[LANGS.index(lang)] if words else symbol


# What the agent derives from counters (SNMP's rates and byte counts): not units of the
# schema's table, which campus_core.suffixes holds for every other field.
_DERIVED = {"bps": "bit/s", "ps": "/s", "bytes": "B"}


def _suffix_unit(name: str) -> tuple[str, str] | None:
    """``voltage_l1_v`` -> ("voltage_l1", "V"); None when the name ends in no unit."""
    stem, _, last = name.rpartition("_")
    if stem and last in _DERIVED:
        return stem, _DERIVED[last]
    suffix = suffixes.field_suffix(name)
    if suffix is None:
        return None
    return name.removesuffix(f"_{suffix}"), suffixes.unit_for_suffix(suffix) or suffix
