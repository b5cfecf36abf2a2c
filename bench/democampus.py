"""The demo school on free loopback ports: what bench.series and bench.report_on_change run.

``configs/demo/agent.toml`` and ``edge-agent demo``'s simulator arguments name fixed ports
(Modbus 15020-15026, SNMP 15030-15031, MQTT 15040, OPC UA 15050-15051, BACnet 15060 with
the agent's own endpoint on 15069, the store on 8428). A benchmark must not take those: a
demo may be running, or another engineer's benchmark. :class:`DemoPorts` picks free ones,
and :func:`agent_config` rewrites the demo config onto them, with its own state folder, a
/metrics listener and, if asked, every device reporting on change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from edge_agent.demo import (
    BACNET_AGENT_PORT,
    BACNET_PORT,
    BROKER_PORT,
    OPCUA_PORTS,
    SIM_PORTS,
    SNMP_PORTS,
    STORE_PORT,
    campus_arguments,
)
from tests.support.ports import free_port_range, free_udp_port, free_udp_ports

#: Every fixed port number the demo config names (Modbus, SNMP, OPC UA, BACnet, the store).
DEMO_PORT = re.compile(r"\b(150[2-6]\d|8428)\b")
DEVICE_TABLE = re.compile(r"^(\[\[devices\.\w+\]\])$", re.MULTILINE)
MQTT_TABLE = re.compile(r"^(\[\[devices\.mqtt\]\])$", re.MULTILINE)
REPORT_LINE = re.compile(r"^report = .*\n", re.MULTILINE)


@dataclass(frozen=True)
class DemoPorts:
    """Free loopback ports for the demo's simulated devices (the broker and stores pick their own)."""

    modbus: int
    snmp: int
    opcua: int
    bacnet: int

    @classmethod
    def free(cls) -> DemoPorts:
        """Ports nothing is bound to now: TCP for Modbus and OPC UA, UDP for SNMP and BACnet."""
        return cls(
            modbus=free_port_range(len(SIM_PORTS)),
            snmp=free_udp_ports(len(SNMP_PORTS)),
            opcua=free_port_range(len(OPCUA_PORTS)),
            bacnet=free_udp_port(),
        )

    def bacnet_agents(self, count: int) -> list[int]:
        """``count`` distinct free UDP ports for agents' own BACnet endpoints (on 127.0.0.1).

        None is the devices' port: on loopback a device and the agent must not share a port
        number (tests/drivers/bacnet/plant.py says why).
        """
        ports: list[int] = []
        while len(ports) < count:
            port = free_udp_port()
            if port != self.bacnet and port not in ports:
                ports.append(port)
        return ports

    def simulator_arguments(self, broker_url: str) -> list[str]:
        """``simulators campus``'s arguments: the demo's campus (and simulated morning) on these ports."""
        return campus_arguments(self.modbus, self.snmp, broker_url, self.opcua, self.bacnet)

    def mapping(self, broker: int, store: int, bacnet_agent: int) -> dict[int, int]:
        """Each demo port to its free one; ``bacnet_agent`` is the agent's own BACnet endpoint
        (two agents polling the same BACnet devices each need their own)."""
        return {
            **{old: self.modbus + i for i, old in enumerate(SIM_PORTS)},
            **{old: self.snmp + i for i, old in enumerate(SNMP_PORTS)},
            **{old: self.opcua + i for i, old in enumerate(OPCUA_PORTS)},
            BACNET_PORT: self.bacnet,
            BACNET_AGENT_PORT: bacnet_agent,
            BROKER_PORT: broker,
            STORE_PORT: store,
        }


def agent_config(
    text: str, ports: dict[int, int], state: Path, health: str, on_change: bool = False, mqtt_client: str = ""
) -> str:
    """The demo config with its fixed ports moved to free ones, its state and a /metrics.

    ``on_change``: every device gets ``report = "on_change"``, so the deadbands and
    heartbeats of its profile (or the defaults, 5 minutes and any change) decide what goes
    to the store; otherwise every device gets ``report = "always"`` (the demo config's own
    choices are replaced on both sides). ``mqtt_client``: each MQTT device's client id starts
    with it. Two agents of one school on one broker would otherwise share a client id (it is
    derived from the school and the device), and the broker drops the older session whenever
    the other connects: each would reconnect, and resend whole, every few seconds.
    """
    text = DEMO_PORT.sub(lambda m: str(ports.get(int(m.group(1)), m.group(1))), text)
    text = re.sub(r"^state_dir = .*$", f'state_dir = "{state}"', text, flags=re.MULTILINE)
    # The demo config states its own reporting on some devices; each side states its own on all.
    text = REPORT_LINE.sub("", text)
    report = "on_change" if on_change else "always"
    text = DEVICE_TABLE.sub(lambda m: f'{m.group(1)}\nreport = "{report}"', text)
    if mqtt_client:
        count = iter(range(1, 1000))
        text = MQTT_TABLE.sub(lambda m: f'{m.group(1)}\nclient_id = "{mqtt_client}-{next(count)}"', text)
    return text.replace("[log]", f'[health]\nlisten = "{health}"\n\n[log]', 1)
