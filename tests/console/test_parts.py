"""The console's parts that need no server: its words, its queries, who may look, runbooks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from campus_ops import dashboards
from campus_ops.console import auth, i18n, queries, runbooks
from campus_ops.console.strings import FIELDS, STRINGS
from tests.central.rules import alerts as alert_rules

STATIC = Path(__file__).resolve().parents[2] / "campus_ops" / "console" / "static"


@pytest.mark.parametrize(
    ("query", "header", "chosen"),
    [
        (None, None, "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, "en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        (None, "fr-FR,zh-TW;q=0.5", "zh"),
        (None, "zh;q=0.2,en;q=0.7", "en"),
        (None, "de", "en"),
        ("zh", "en-US", "zh"),
        ("en", "zh-CN", "en"),
        ("ZH-cn", None, "zh"),
        ("klingon", "zh-CN", "zh"),
    ],
)
def test_the_language_is_chosen_by_lang_then_accept_language(
    query: str | None, header: str | None, chosen: str
) -> None:
    assert i18n.choose(query, header) == chosen


def test_every_string_the_pages_ask_for_is_in_both_languages() -> None:
    asked = set()
    for script in STATIC.glob("*.js"):
        asked |= set(re.findall(r"\bt\('([a-z_.]+)'", script.read_text()))
    asked |= {f"state.{s}" for s in ("missing", "silent", "degraded", "ok", "up", "down", "unknown")}
    asked |= {f"alertstate.{s}" for s in ("firing", "pending")} | {"severity.critical", "severity.info"}
    asked |= {
        f"err.{source}.{kind}" for source in ("store", "vmalert") for kind in ("unreachable", "timeout")
    }
    assert asked - set(STRINGS) == set()
    for key, (en, zh) in STRINGS.items():
        assert en and zh, key
        assert set(re.findall(r"\{\w+\}", en)) == set(re.findall(r"\{\w+\}", zh)), key


def test_the_fleet_views_problems_read_in_chinese() -> None:
    assert i18n.problem("zh", "quiet for 12m") == "静默已 12 分钟"
    assert i18n.problem("zh", "3 device(s) down") == "3 台设备离线"
    assert i18n.problem("zh", "backlog 2h old") == "积压数据最早 2 小时 前"
    assert i18n.problem("zh", "120 point(s) dropped") == "丢弃 120 个数据点"
    assert i18n.problem("zh", "7 point(s) dead-lettered") == "7 个数据点被拒收"
    assert i18n.problem("zh", "3 sink error(s)") == "发送失败 3 次"
    assert i18n.problem("zh", "never reported") == "从未上报"
    assert i18n.problem("zh", "something new") == "something new"
    assert i18n.problem("en", "3 device(s) down") == "3 device(s) down"


def test_fields_have_labels_and_units() -> None:
    assert i18n.field("en", "co2_ppm") == ("CO₂", "ppm")
    assert i18n.field("zh", "run_time_h") == ("累计运行时间", "小时")
    assert i18n.field("en", "apparent_power_total_va") == ("apparent_power_total", "VA")
    assert i18n.field("zh", "mystery") == ("mystery", "")
    assert i18n.field("zh", "supply_air_temp_c") == ("送风温度", "°C")
    assert all(len(entry) == 3 for entry in FIELDS.values())


def test_every_schema_suffix_has_its_unit() -> None:
    # HVAC's pressures, power and airflow (BACnet) read as units, as the schema's table names them.
    assert i18n.field("en", "duct_static_pressure_pa") == ("duct_static_pressure", "Pa")
    assert i18n.field("en", "demand_kw") == ("demand", "kW")
    assert i18n.field("zh", "supply_airflow_fan_2_m3h") == ("supply_airflow_fan_2", "m³/h")
    # The agent's rates from counters are not units of that table, and keep theirs.
    assert i18n.field("en", "errors_in_ps") == ("errors_in", "/s")
    assert i18n.field("en", "in_octets_bytes") == ("in_octets", "B")


def test_label_values_cannot_break_out_of_a_query() -> None:
    assert queries.label('sh-1"} or vector(1) #') == '"sh-1\\"} or vector(1) #"'
    assert queries.label("a\\b") == '"a\\\\b"'
    assert 'school="sh-031"' in queries.last_values("sh-031")


def test_the_school_charts_borrow_the_dashboards_queries() -> None:
    known = {(uid, query.title): query.expr for uid, query in dashboards.queries()}
    for key, (uid, title, _) in queries.SCHOOL_CHARTS.items():
        expr, _ = queries.school_chart(key, "sh-031")
        assert (uid, title) in known, key
        assert "$" not in expr and 'school="sh-031"' in expr
    assert queries.schools_reporting() == known[("campus-city-overview", "Schools reporting")]


@pytest.mark.parametrize(
    ("text", "host", "port", "loopback"),
    [
        ("127.0.0.1:8090", "127.0.0.1", 8090, True),
        ("127.9.9.9:80", "127.9.9.9", 80, True),
        ("[::1]:8090", "::1", 8090, True),
        ("localhost:8090", "localhost", 8090, True),
        ("0.0.0.0:8090", "0.0.0.0", 8090, False),
        (":8090", "0.0.0.0", 8090, False),
        ("[::]:8090", "::", 8090, False),
        ("10.31.0.5:443", "10.31.0.5", 443, False),
        ("console.example:80", "console.example", 80, False),
    ],
)
def test_where_the_console_listens(text: str, host: str, port: int, loopback: bool) -> None:
    listen = auth.parse_listen(text)
    assert (listen.host, listen.port, listen.loopback) == (host, port, loopback)
    refused = auth.refusal(listen, auth.Credentials())
    assert (refused is None) == loopback
    assert auth.refusal(listen, auth.Credentials(token="t")) is None


@pytest.mark.parametrize("text", ["8090", "host:", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:http"])
def test_a_listen_address_that_is_not_one(text: str) -> None:
    with pytest.raises(auth.AuthError, match="give HOST:PORT"):
        auth.parse_listen(text)


def test_credential_files(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("# operators\nwang:pa55:word\n\nli:x\n")
    assert auth.read_users(users) == {"wang": "pa55:word", "li": "x"}
    users.write_text("wang\n")
    with pytest.raises(auth.AuthError, match="line 1: write user:password"):
        auth.read_users(users)
    token = tmp_path / "token"
    token.write_text("two words\n")
    with pytest.raises(auth.AuthError, match="one word"):
        auth.read_token(token)


def test_every_alert_has_its_runbook_section() -> None:
    found = runbooks.load(None)
    for rule in alert_rules():
        anchor = rule.annotations["runbook"].rpartition("#")[2]
        title, paragraphs = found[anchor]
        assert title == rule.name and paragraphs
    assert runbooks.to_html("Run `a<b` now & then") == "Run <code>a&lt;b</code> now &amp; then"
    assert runbooks.load(Path("/nonexistent/central.md")) == {}
