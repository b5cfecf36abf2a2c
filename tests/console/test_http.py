"""The console's JSON endpoints and pages over plain HTTP, against a real VictoriaMetrics.

The store holds what gateways write (tests/console/data.py); the console runs as the
operator runs it, ``campus-ops console``. Stores that fail are real where a real one can
fail that way (nothing listening, a query past the store's own limit) and a stub only for
an answer no VictoriaMetrics gives (a proxy's 503).
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campus_ops.console import runbooks
from tests.central.rules import alerts as alert_rules
from tests.console import data
from tests.console.servers import Console
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import wait_for
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """A store with three gateways and one school's devices."""
    server = VictoriaMetrics(tmp_path_factory.mktemp("store") / "data")
    server.start()
    data.city(server)
    wait_for(lambda: len(server.points("edge_agent_uptime_s")) >= 3, 20, what="the gateways' points")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def console(store: VictoriaMetrics, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The console on that store, without vmalert."""
    server = Console(tmp_path_factory.mktemp("console"), store.url)
    server.start()
    yield server
    server.stop()


def _fleet(store: VictoriaMetrics) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "campus_ops", "fleet", "--store", store.url, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    schools: list[dict[str, Any]] = json.loads(result.stdout)["schools"]
    return schools


def test_the_city_shows_the_fleet_views_states_and_figures(console: Console, store: VictoriaMetrics) -> None:
    city = console.json("/api/city")
    rows = city["schools"]["rows"]
    fleet = _fleet(store)
    assert [(r["school"], r["state"]) for r in rows] == [(s["school"], s["state"]) for s in fleet]
    assert [r["state"] for r in rows] == ["silent", "degraded", "ok"]
    for row, line in zip(rows, fleet, strict=True):
        for key in ("version", "devices_up", "devices_down", "points_waiting", "dropped", "problems"):
            assert row[key] == line[key], key
        assert row["url"] == f"/school/{row['school']}"
    # The headline charts ask the store; without vmalert the alerts panel says so.
    assert all(chart["ok"] for chart in city["charts"])
    points = {chart["title"]: chart for chart in city["charts"]}["chart.schools_reporting"]
    assert points["series"] and points["series"][0]["points"][-1][1] == 2  # sh-quiet is not reporting
    assert city["alerts"] == {"ok": False, "error": _absent()}


def _absent() -> dict[str, Any]:
    return {
        "source": "vmalert",
        "url": "",
        "kind": "absent",
        "message": "the console was started without --vmalert URL",
        "query": None,
    }


def test_problems_are_translated_and_the_language_is_chosen(console: Console) -> None:
    zh = console.json("/api/city?lang=zh")
    problems = {r["school"]: r["problems"] for r in zh["schools"]["rows"]}
    assert problems["sh-down"] == ["1 台设备离线"]
    assert problems["sh-quiet"][0].startswith("静默已 ") and problems["sh-quiet"][0].endswith("分钟")
    _, _, page = console.get("/", {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-CN">' in page and "城市运维控制台" in page
    _, _, page = console.get("/?lang=en", {"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in page and "City console" in page
    assert 'href="/alerts?lang=en"' in page  # a chosen language stays chosen


def test_a_school_lists_its_gateway_and_devices_by_building_and_room(console: Console) -> None:
    school = console.json("/api/school/sh-ok")
    assert [g["state"] for g in school["gateway"]["rows"]] == ["ok"]
    buildings = {b["building"]: b["rooms"] for b in school["devices"]["buildings"]}
    assert list(buildings) == ["A", "B"]
    (room,) = buildings["A"]
    (iaq,) = room["devices"]
    assert (room["room"], iaq["device"], iaq["state"], iaq["kind"]) == (
        "301",
        "a301-iaq",
        "up",
        "classroom-iaq",
    )
    assert {v["field"]: (v["value"], v["unit"]) for v in iaq["values"]} == {
        "co2_ppm": (812, "ppm"),
        "temperature_c": (22.5, "°C"),
    }
    assert iaq["url"] == "/school/sh-ok/device/a301-iaq" and iaq["age_s"] < 120
    # The meter reports on change and had nothing new for 280 s: quiet, not down.
    (meter,) = buildings["B"][0]["devices"]
    assert meter["state"] == "up" and meter["silent_s"] == 280
    assert meter["values"][0]["field"] == "power_total_w" and 280 <= meter["age_s"] < 400
    assert all(chart["ok"] for chart in school["charts"])


def test_each_sensor_behind_a_wildcard_is_up_or_down_in_its_own_room(console: Console) -> None:
    school = console.json("/api/school/sh-down")
    rooms = {r["room"]: r["devices"] for b in school["devices"]["buildings"] for r in b["rooms"]}
    assert [(d["device"], d["state"]) for d in rooms["201"]] == [("wireless-iaq", "up")]
    assert [(d["device"], d["state"]) for d in rooms["202"]] == [("wireless-iaq", "down")]
    assert rooms["202"][0]["silent_s"] == 900
    page = console.json("/api/school/sh-down/device/wireless-iaq?range=1h")
    assert page["state"]["state"] == "up"  # its broker session
    assert [(s["room"], s["state"]) for s in page["state"]["sensors"]] == [("201", "up"), ("202", "down")]
    answering = next(c for c in page["readings"]["charts"] if c["field"] == "up")
    assert sorted(s["name"] for s in answering["series"]) == ["", "B 201", "B 202"]


def test_a_device_shows_its_fields_and_its_identity_once_known(console: Console) -> None:
    meter = console.json("/api/school/sh-ok/device/meter-1?range=1h")
    assert meter["range"] == "1h" and meter["state"]["state"] == "up"
    identity = meter["identity"]
    assert identity.pop("last_seen_s") == pytest.approx(time.time() - 5, abs=60)
    assert identity == {
        "ok": True,
        "known": True,
        "vendor": "Eastron",
        "model": "SDM630",
        "firmware": "1.3.0",  # the newest identity: the upgrade's, not the series before it
        "serial": "E123",
        "register": "/assets?q=meter-1&school=sh-ok",
    }
    fields = {c["field"]: c for c in meter["readings"]["charts"]}
    assert set(fields) == {"up", "power_total_w"}
    assert fields["power_total_w"]["unit"] == "W" and fields["power_total_w"]["series"][0]["points"]
    iaq = console.json("/api/school/sh-ok/device/a301-iaq")
    assert iaq["range"] == "6h" and iaq["identity"] == {"ok": True, "known": False}


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/school/sh-nowhere", "There is no school sh-nowhere"),
        ("/school/sh-ok/device/no-such-device", "School sh-ok has no device no-such-device"),
        ("/school/sh-nowhere/device/meter-1", "There is no school sh-nowhere"),
        ("/school/Not%20A%20Code", "There is no school Not A Code"),
        ("/no/such/page", "There is no such page"),
    ],
)
def test_what_does_not_exist_is_a_404_page_back_to_the_city(console: Console, path: str, says: str) -> None:
    status, headers, page = console.get(path)
    assert status == 404 and headers["Content-Type"].startswith("text/html")
    assert says in page and '<a id="back" href="/">Back to the city</a>' in page


def test_the_json_of_what_does_not_exist_is_a_404_that_says_so(console: Console) -> None:
    status, _, body = console.get("/api/school/sh-nowhere")
    assert status == 404 and json.loads(body) == {
        "error": "There is no school sh-nowhere in the roster or the store."
    }
    status, _, body = console.get("/api/school/sh-ok/device/nope?lang=zh")
    assert status == 404 and json.loads(body) == {"error": "数据库中学校 sh-ok 没有设备 nope。"}


def test_the_pages_load_only_from_the_console(console: Console) -> None:
    status, headers, _ = console.get("/")
    assert status == 200
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, script = console.get("/static/vendor/echarts.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert "echarts" in script[:5000].lower()


def test_every_alerts_runbook_is_served(console: Console) -> None:
    for rule in alert_rules():
        anchor = rule.annotations["runbook"].rpartition("#")[2]
        status, _, page = console.get(f"/runbook/{anchor}")
        assert status == 200 and f"Runbook: {rule.name}" in page, rule.name
    assert anchor in runbooks.load(None)
    assert console.get("/runbook/nothing-here")[0] == 404


def test_a_store_that_does_not_answer_is_said_on_each_panel(tmp_path: Path) -> None:
    down = f"http://{LOOPBACK}:{free_port()}"
    with _running(Console(tmp_path, down)) as console:
        city = console.json("/api/city")
        for panel in [city["schools"], *city["charts"]]:
            assert panel["ok"] is False
            assert panel["error"]["kind"] == "unreachable" and panel["error"]["url"] == down
        # The store cannot say whether the school exists: its page is served, its panels say why.
        assert console.get("/school/sh-unsure")[0] == 200
        school = console.json("/api/school/sh-unsure")
        assert school["devices"]["error"]["kind"] == "unreachable"
        assert school["devices"]["error"]["query"]


def test_a_promql_error_shows_the_query_and_the_stores_words(tmp_path: Path) -> None:
    # A real store refusing a real query: more series than it will select.
    strict = VictoriaMetrics(tmp_path / "strict", flags=("-search.maxUniqueTimeseries=2",))
    strict.start()
    try:
        data.city(strict)
        with _running(Console(tmp_path, strict.url)) as console:
            schools = console.json("/api/city")["schools"]
    finally:
        strict.stop()
    assert schools["ok"] is False
    error = schools["error"]
    assert error["kind"] == "refused" and "edge_agent_uptime_s" in error["query"]
    assert "-search.max" in error["message"], error  # the store names its limit


class _Proxy503(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.end_headers()
        self.wfile.write(b"upstream store unavailable")

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


def test_an_error_answer_and_a_silent_vmalert_fail_alone(tmp_path: Path, store: VictoriaMetrics) -> None:
    proxy = http.server.ThreadingHTTPServer((LOOPBACK, 0), _Proxy503)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    with socket.socket() as hanging:
        hanging.bind((LOOPBACK, 0))
        hanging.listen(8)  # accepts, never answers
        vmalert = f"http://{LOOPBACK}:{hanging.getsockname()[1]}"
        try:
            url = f"http://{LOOPBACK}:{proxy.server_address[1]}"
            with _running(Console(tmp_path, url, "--vmalert", vmalert, "--timeout", "1s")) as console:
                city = console.json("/api/city")
        finally:
            proxy.shutdown()
            proxy.server_close()
    assert city["schools"]["error"]["kind"] == "status"
    assert "503" in city["schools"]["error"]["message"]
    assert city["alerts"]["error"]["kind"] == "timeout" and city["alerts"]["error"]["source"] == "vmalert"


def _console_exit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campus_ops", "console", "--store", "http://127.0.0.1:1", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("listen", ["0.0.0.0:8090", ":8090", "10.31.0.5:8090", "console.example:80"])
def test_a_listen_beyond_loopback_without_a_credential_is_refused(listen: str) -> None:
    result = _console_exit("--listen", listen)
    assert result.returncode == 2
    assert "refusing to start" in result.stderr and "can be reached from other machines" in result.stderr
    assert "--token-file" in result.stderr and "--basic-auth-file" in result.stderr


def test_bad_options_are_named() -> None:
    result = _console_exit("--listen", "8090")
    assert result.returncode == 2 and "give HOST:PORT" in result.stderr
    result = _console_exit("--token-file", "/nonexistent/token")
    assert result.returncode == 2 and "/nonexistent/token" in result.stderr


def test_a_token_is_asked_of_every_request_when_given(tmp_path: Path, store: VictoriaMetrics) -> None:
    token = tmp_path / "operators.token"
    token.write_text("s3cret-read-token\n")
    with _running(Console(tmp_path, store.url, "--token-file", str(token))) as console:
        status, _, body = console.get("/api/city")
        assert status == 401 and "bearer token" in body
        assert console.get("/api/city", {"Authorization": "Bearer wrong"})[0] == 401
        assert console.get("/api/city", {"Authorization": "Bearer s3cret-read-token"})[0] == 200
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"{console.url}/school/sh-ok", timeout=30)
        assert (
            redirect.value.code == 303 and redirect.value.headers["Location"] == "/login?next=/school/sh-ok"
        )
        cookie = _sign_in(console, "s3cret-read-token")
        assert console.get("/school/sh-ok", {"Cookie": cookie})[0] == 200
        assert _sign_in(console, "wrong") == ""


def test_basic_auth_users(tmp_path: Path, store: VictoriaMetrics) -> None:
    users = tmp_path / "users"
    users.write_text("# the operators\nwang:pa55word\n")
    with _running(Console(tmp_path, store.url, "--basic-auth-file", str(users))) as console:
        status, headers, _ = console.get("/")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
        good = "Basic " + _b64("wang:pa55word")
        assert console.get("/", {"Authorization": good})[0] == 200
        assert console.get("/", {"Authorization": "Basic " + _b64("wang:nope")})[0] == 401


def test_a_missing_chart_library_says_how_to_install_it(tmp_path: Path, store: VictoriaMetrics) -> None:
    with _running(Console(tmp_path, store.url, "--charts", str(tmp_path / "none.js"))) as console:
        assert console.get("/static/vendor/echarts.js")[0] == 404
        _, _, page = console.get("/")
        assert "npm ci" in page  # the page's charts say it, from data-charts-hint
    assert "no chart library at" in console.log.read_text() and "make demo" in console.log.read_text()


# Helpers.


class _running:
    """Start a console for one test and stop it after."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __enter__(self) -> Console:
        self.console.start()
        return self.console

    def __exit__(self, *exc: object) -> None:
        self.console.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _sign_in(console: Console, token: str) -> str:
    """The cookie the sign-in page sets for ``token`` ("" when it refuses)."""
    body = urllib.parse.urlencode({"token": token, "next": "/"}).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(urllib.request.Request(f"{console.url}/login", data=body), timeout=30)
    except urllib.error.HTTPError as exc:
        if exc.code == 303:
            return str(exc.headers["Set-Cookie"]).split(";")[0]
        assert exc.code == 401
    return ""


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_the_asset_register_lists_every_school_s_devices_newest_identity_first(console: Console) -> None:
    data = console.json("/api/assets")
    rows = {(row["school"], row["device"]): row for row in data["register"]["rows"]}
    assert set(rows) == {("sh-ok", "meter-1"), ("sh-ok", "@gateway"), ("sh-down", "ups-1")}
    meter = rows[("sh-ok", "meter-1")]
    assert (meter["firmware"], meter["asset_id"], meter["room"]) == ("1.3.0", "EM-0042", "plant-1")
    assert meter["url"] == "/school/sh-ok/device/meter-1"
    assert rows[("sh-ok", "@gateway")]["url"] is None
    assert rows[("sh-down", "ups-1")]["vendor"] == "Simulated Power"
    (change,) = data["changes"]["rows"]
    told = (change["device"], change["what"], change["old"], change["new"])
    assert told == ("meter-1", "firmware", "1.2.3", "1.3.0")
    one = console.json("/api/assets?school=sh-down")
    assert [row["device"] for row in one["register"]["rows"]] == ["ups-1"]
    assert one["changes"]["rows"] == []


def test_the_register_downloads_as_csv_for_excel_searched_as_the_page(console: Console) -> None:
    status, headers, body = console.get("/assets.csv?q=" + urllib.parse.quote("配电房"))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert 'filename="asset-register-city-' in headers["Content-Disposition"]
    assert body.startswith("\ufeff")  # Excel then reads the Chinese room as UTF-8
    lines = body.lstrip("\ufeff").splitlines()
    header = "school,device,room,asset_id,protocol,vendor,model,firmware,serial,first_seen,last_seen"
    assert lines[0] == header
    assert len(lines) == 2
    assert lines[1].startswith("sh-down,ups-1,配电房,,snmp,Simulated Power,SP-3000,1.7,UPS9,")
    status, _, body = console.get("/assets.csv?school=sh-ok&q=eastron+1.3")
    assert status == 200 and [line.split(",")[1] for line in body.splitlines()[1:]] == ["meter-1"]
    status, _, _ = console.get("/assets?school=../etc")
    assert status == 404


def test_the_register_page_is_the_frame_with_its_script(console: Console) -> None:
    status, _, page = console.get("/assets?lang=zh")
    assert status == 200 and "资产台账" in page and "/static/assets.js" in page
    assert 'data-api="/api/assets"' in page
    status, _, page = console.get("/assets?school=sh-ok")
    assert 'data-api="/api/assets?school=sh-ok"' in page and "Asset register of sh-ok" in page
