"""``edge-agent scan bacnet``: a draft entry the agent accepts as it is, and Who-Is listings."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from campus_core.readings import DeviceError
from drivers.bacnet import BacnetDriver
from edge_agent.config import load

from .plant import AGENT, agent_port, sim


async def command(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge_agent",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def agent_config(tmp_path: Path, devices: str) -> Path:
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nschool = "sh-031"\nstate_dir = "{tmp_path / "state"}"\n\n' + devices)
    return config


async def test_the_draft_names_si_fields_leaves_out_faulty_objects_and_edge_agent_test_accepts_it(
    tmp_path: Path,
) -> None:
    async with sim(imperial=False) as ahu:
        ahu.set_fault("return_air_temp_c", "open-loop")
        port = str(agent_port())
        code, draft, err = await command(
            "scan", "bacnet", ahu.address, "--port", port, "--local-address", AGENT, "--timeout", "1s"
        )
        assert code == 0, err
        config = agent_config(tmp_path, draft)
        tested, out, test_err = await command("test", str(config))
    assert 'profile = "bacnet-ahu"' in draft  # every object of the profile is on this unit
    assert (
        "# [[devices.bacnet.objects]]  # analog-input,2 'RAT': left out, faulty at scan time (open-loop)"
        in draft
    )
    (entry,) = load(config).config.devices.bacnet
    fields = [o.field for o in entry.objects]
    assert fields[:7] == [
        "sat_c",
        "oat_c",
        "sa_static_pa",
        "sa_flow_m3h",
        "sf_pwr_kw",
        "ra_co2_ppm",
        "ra_rh_pct",
    ]
    assert "ahu_mode_code" in fields and entry.objects[fields.index("ahu_mode_code")].state_tag == "ahu_mode"
    assert entry.device_instance == ahu.instance and entry.name == "ahu-1"
    assert tested == 0, test_err
    assert out.startswith("hvac,") and "sat_c=" in out and "ahu_mode=" in out
    assert not {s for s in ahu.services if "Write" in s}


async def test_who_is_to_an_address_lists_the_device_as_an_entry_the_agent_accepts(tmp_path: Path) -> None:
    async with sim("bacnet-vav", "vav-1", instance=2201) as vav:
        port = str(agent_port())
        code, listing, err = await command(
            "scan", "bacnet", "--who-is", "--target", vav.address, "--port", port, "--local-address", AGENT
        )
        assert code == 0, err
        tested, out, test_err = await command("test", str(agent_config(tmp_path, listing)))
    assert "1 devices answered" in listing and "device_instance = 2201" in listing
    assert tested == 0, test_err
    assert "system_status_code=0" in out


async def test_a_device_that_is_not_there_is_named() -> None:
    code, _, err = await command(
        "scan",
        "bacnet",
        "127.0.0.251:47999",
        "--port",
        str(agent_port()),
        "--local-address",
        AGENT,
        "--timeout",
        "300ms",
    )
    assert code == 1 and "no answer from 127.0.0.251:47999 to Who-Is" in err


async def test_the_device_object_is_readable_as_an_object() -> None:
    async with sim() as ahu:
        from .plant import entry

        config = entry(
            ahu,
            agent_port(),
            objects=[
                {
                    "object": f"device,{ahu.instance}",
                    "property": "system-status",
                    "field": "system_status_code",
                }
            ],
        )
        async with BacnetDriver(config) as driver:
            try:
                (reading,) = await driver.poll()
            except DeviceError as exc:  # pragma: no cover - the message helps if it ever fails
                raise AssertionError(str(exc)) from None
    assert reading.fields == (("system_status_code", 0.0),)


async def test_who_is_through_a_bbmd_lists_the_devices_on_the_other_subnet(tmp_path: Path) -> None:
    from simulators.bacnet.network import Bbmd
    from tests.support.ports import free_udp_port

    async with (
        sim("bacnet-vav", "vav-1", instance=2201) as first,
        sim("bacnet-vav", "vav-2", instance=2202) as second,
        sim("bacnet-vav", "vav-3", instance=3999) as outside,
        Bbmd("127.0.0.9", free_udp_port(), peers=(first.address, second.address, outside.address)) as bbmd,
    ):
        code, listing, err = await command(
            "scan", "bacnet", "--who-is", "--range", "2000-2999", "--bbmd", bbmd.address,
            "--port", str(agent_port()), "--local-address", AGENT, "--timeout", "1s",
        )  # fmt: skip
        assert code == 0, err
        assert bbmd.registrations == 1
        tested, out, test_err = await command("test", str(agent_config(tmp_path, listing)))
    assert "Who-Is (2000-2999) through BBMD" in listing and "2 devices answered" in listing
    assert "device_instance = 2201" in listing and "device_instance = 2202" in listing
    assert "3999" not in listing and f'bbmd = "{bbmd.address}"' in listing
    assert tested == 0, test_err
    assert out.count("system_status_code=0") == 2
