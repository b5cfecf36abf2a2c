"""The console in a real browser (Debian's Chromium), on a real city: a store, vmalert, agents.

One city for the module: school sh-031's agent polls a simulated campus (classrooms, a
meter, machines, a switch, a UPS; each reporting on change) into a VictoriaMetrics; school
sh-017's gateway went quiet ten minutes ago, so vmalert (the central rules, evaluated every
2 s) fires GatewaySilent; sh-099 is in the roster and never reported. Each page is taken
in English and Chinese; the pictures go to $CONSOLE_SCREENSHOTS (docs/images refreshes the
ones docs/central.md shows) or to a temporary folder.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.central.campus import reporting, write_lines
from tests.central.rules import fast_copies
from tests.central.servers import VMAlert
from tests.console import data
from tests.console.servers import CHROMEDRIVER, CHROMIUM, Console, browser
from tests.support.agentconfig import agent_toml
from tests.support.processes import AgentProcess, SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="chromium and chromium-driver are not installed (make test installs them)",
    ),
]

ROSTER = """
[[schools]]
code = "sh-031"
name = "第三十一职业技术学校"
token_file = "sh-031.token"

[[schools]]
code = "sh-017"
name = "第十七职业技术学校"
token_file = "sh-017.token"

[[schools]]
code = "sh-099"
name = "第九十九职业技术学校"
token_file = "sh-099.token"
"""


@dataclass
class City:
    """The module's city, its console, its browser, and every request the browser made."""

    console: Console
    campus: SimulatedCampus
    driver: Any
    shots: Path
    requests: list[str] = field(default_factory=list)

    def visit(self, path: str, *, wait_for_data: bool = True) -> None:
        """Open a page and wait until its script has drawn the JSON it fetched."""
        self.driver.get(f"{self.console.url}{path}")
        if wait_for_data:
            wait_for(lambda: self.driver.execute_script("return document.body.dataset.loaded"), 30, what=path)
        self._drain()

    def visit_until(self, path: str, selector: str, timeout: float = 30) -> None:
        """Open a page again and again until ``selector`` finds something (a store takes a few
        seconds to show a new series to range queries)."""

        def found() -> bool:
            self.visit(path)
            return self.count(selector) > 0

        wait_for(found, timeout, interval=2, what=f"{selector} on {path}")

    def shot(self, name: str) -> None:
        """The whole page, below the window's fold too, as ``name``.png."""
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
        )
        (self.shots / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))

    def text(self, selector: str) -> str:
        """The text of the first element ``selector`` finds."""
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.CSS_SELECTOR, selector).text)

    def count(self, selector: str) -> int:
        """How many elements ``selector`` finds."""
        from selenium.webdriver.common.by import By

        return len(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def errors(self) -> list[str]:
        """What the page's scripts complained of (the console's log at SEVERE)."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def _drain(self) -> None:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    work = tmp_path_factory.mktemp("city")
    store = VictoriaMetrics(work / "store")
    store.start()
    campus = SimulatedCampus(
        work / "campus", classrooms=2, meters=1, machines=2, switches=1, ups=1, control=True
    )
    campus.start()
    config = work / "agent" / "agent.toml"
    config.parent.mkdir()
    sink = f'[[sinks.influxdb]]\nurl = "{store.url}"\nbucket = "campus"\ntoken = "t"\nretry_max = "2s"\n'
    # Its devices report on change, as the demo's do: quiet ones must show up, not silent.
    devices = reporting(campus.config())
    toml = agent_toml([devices], sink=sink, interval="1s").replace('"sh-test"', '"sh-031"')
    config.write_text(toml)
    agent = AgentProcess(config)
    agent.start()
    write_lines(store, data.gateway("sh-017", ago_s=600))
    (work / "rules").mkdir()
    vmalert = VMAlert(fast_copies(work / "rules", "2s"), store.url, work)
    vmalert.start()
    for code in ("sh-031", "sh-017", "sh-099"):
        (work / f"{code}.token").write_text(f"token-{code}\n")
    (work / "roster.toml").write_text(ROSTER)
    console = Console(work, store.url, "--vmalert", vmalert.url, "--roster", str(work / "roster.toml"))
    console.start()
    shots = Path(os.environ.get("CONSOLE_SCREENSHOTS") or work / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        # Every device answered, the switch's rates need two polls, and GatewaySilent fired.
        wait_for(lambda: _ready(console, vmalert), 90, what="sh-031's devices in the store and GatewaySilent")
        for driver in browser():
            # What Chromium's own new-tab page asked for before any console page is not ours.
            driver.get("about:blank")
            driver.get_log("performance")
            yield City(console, campus, driver, shots)
    finally:
        console.stop()
        vmalert.stop()
        agent.stop()
        campus.stop()
        store.stop()


def _ready(console: Console, vmalert: VMAlert) -> bool:
    schools = {row["school"]: row["state"] for row in console.json("/api/city")["schools"].get("rows", [])}
    if schools.get("sh-031") != "ok":
        return False
    school = console.json("/api/school/sh-031")
    devices = [d for b in school["devices"].get("buildings", []) for r in b["rooms"] for d in r["devices"]]
    firing = {a["name"] for a in vmalert.alerts() if a["state"] == "firing"}
    rates = [v for d in devices if d["device"] == "switch-1" for v in d["values"] if v["field"] == "in_bps"]
    return (
        len(devices) >= 7
        and all(d["state"] == "up" for d in devices)
        and bool(rates)
        and ("GatewaySilent" in firing)
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_city_page_shows_every_school_worst_first_the_alerts_and_the_charts(
    city: City, lang: str
) -> None:
    city.visit(f"/?lang={lang}")
    schools = [link.text for link in city.driver.find_elements("css selector", "#schools a.school")]
    assert schools == ["sh-099", "sh-017/main", "sh-031/main"]  # missing, silent, ok
    states = city.text("#schools tbody").splitlines()
    words = {"en": ("missing", "silent", "ok"), "zh": ("缺失", "失联", "正常")}[lang]
    assert all(any(word in line for line in states) for word in words)
    alerts = city.text("#alerts")
    assert "GatewaySilent" in alerts
    assert (
        "School sh-017 (main): its gateway has sent nothing for 5 minutes" in alerts
    )  # as the rule wrote it
    assert (
        city.driver.find_element("css selector", "#alerts a.runbook")
        .get_attribute("href")
        .endswith("/runbook/gatewaysilent" + (f"?lang={lang}"))
    )
    assert city.count("#charts canvas") >= 3
    assert city.errors() == []
    city.shot(f"console-city-{lang}")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_school_page_shows_its_gateway_devices_and_charts(city: City, lang: str) -> None:
    city.visit(f"/school/sh-031?lang={lang}")
    assert "第三十一职业技术学校" in city.text("#title")
    devices = city.text("#devices")
    for device in ("classroom-1", "classroom-2", "meter-1", "machine-1", "machine-2", "switch-1", "ups-1"):
        assert device in devices
    assert city.count('.device-state[data-state="up"]') >= 7
    assert ("Building A" if lang == "en" else "A 楼") in devices
    assert ("CO₂" if lang == "en" else "二氧化碳") in devices
    assert city.count("#charts canvas") >= 4
    assert city.errors() == []
    city.shot(f"console-school-{lang}")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_device_page_draws_its_fields_with_zoom(city: City, lang: str) -> None:
    city.visit_until(f"/school/sh-031/device/classroom-1?lang={lang}&range=1h", "#readings canvas")
    assert city.count('#readings [data-field="co2_ppm"] canvas') == 1
    assert city.count("#readings canvas") >= 6
    assert city.text(".ranges a.chosen") == "1h"
    identity = city.text("#identity")
    assert "Simulated Sensors" in identity and ("Firmware" if lang == "en" else "固件版本") in identity
    register = city.driver.find_element("css selector", "#identity a.register")
    assert "/assets?q=classroom-1" in register.get_attribute("href")
    assert city.errors() == []
    city.shot(f"console-device-{lang}")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_alerts_page_groups_by_school_with_expressions(city: City, lang: str) -> None:
    city.visit(f"/alerts?lang={lang}")
    assert "sh-017" in [group.text for group in city.driver.find_elements("css selector", "#alerts h3.group")]
    assert "max_over_time(edge_agent_uptime_s[5m])" in city.text("#alerts pre")
    assert city.errors() == []
    city.shot(f"console-alerts-{lang}")


def test_a_stopped_device_shows_as_down_on_the_school_page(city: City) -> None:
    stopped = city.campus.ctl("stop", "machine-2")
    assert stopped.returncode == 0, stopped.stderr
    try:

        def down() -> bool:
            city.visit("/school/sh-031")
            return city.count('.device-state[data-device="machine-2"][data-state="down"]') == 1

        wait_for(down, 45, interval=2, what="machine-2 down on the school page")
        assert city.count('.device-state[data-device="machine-1"][data-state="up"]') == 1
    finally:
        assert city.campus.ctl("start", "machine-2").returncode == 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_asset_register_is_searchable_and_downloads_what_it_shows(city: City, lang: str) -> None:
    from selenium.webdriver.common.by import By

    everything = ("classroom-1", "classroom-2", "meter-1", "machine-1", "machine-2", "switch-1", "ups-1")

    def every_device() -> bool:
        city.visit(f"/assets?lang={lang}")
        return city.count("#register tbody tr") >= 8

    wait_for(every_device, 60, interval=2, what="the register of the whole campus")
    register = city.text("#register")
    assert all(device in register for device in everything)
    assert ("the gateway itself" if lang == "en" else "网关本机") in register
    assert ("Firmware" if lang == "en" else "固件版本") in register
    city.shot(f"console-assets-{lang}")

    search = city.driver.find_element(By.ID, "asset-search")
    search.send_keys("Simulated Metering")
    wait_for(lambda: city.count("#register tbody tr") == 1, 10, what="the search to keep the meter")
    assert "meter-1" in city.text("#register tbody")
    assert city.text("#asset-count") == ("1 of 8 devices" if lang == "en" else "共 8 台设备，显示 1 台")
    link = city.driver.find_element(By.ID, "asset-csv").get_attribute("href")
    assert link.startswith(city.console.url + "/assets.csv?") and "q=Simulated+Metering" in link
    status, headers, body = city.console.get(link.removeprefix(city.console.url))
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    (row,) = body.lstrip("\ufeff").splitlines()[1:]
    assert row.startswith("sh-031,meter-1,plant-1,,modbus,Simulated Metering,EM3 three-phase meter,")
    assert "q=Simulated+Metering" in city.driver.current_url  # the search stays in the address
    assert city.errors() == []


def test_an_unknown_school_is_a_page_that_leads_back_to_the_city(city: City) -> None:
    city.visit("/school/sh-nowhere", wait_for_data=False)
    assert "There is no school sh-nowhere" in city.text("main")
    city.driver.find_element("css selector", "#back").click()
    wait_for(
        lambda: city.driver.execute_script("return document.body.dataset.page") == "city", 10, what="city"
    )
    city.visit("/")


def test_no_request_left_the_console(city: City) -> None:
    # Last in the module: every page above was visited by now.
    origin = city.console.url
    assert any(url.endswith("/static/vendor/echarts.js") for url in city.requests)
    assert any("/api/city" in url for url in city.requests)
    elsewhere = [url for url in city.requests if not url.startswith((origin + "/", "data:", "blob:"))]
    assert elsewhere == [], sorted({u.split("?")[0][:80] for u in elsewhere})
