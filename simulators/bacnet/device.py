"""One simulated BACnet/IP controller: a bacpypes3 device whose objects follow an HVAC model.

Example::

    async with BacnetSimDevice("ahu-1", "bacnet-ahu", "127.0.0.21", 47808, instance=2101) as ahu:
        ahu.set_fault("supply_air_temp_c", "over-range")   # reliability over-range, fault flag set
        ahu.refuse_rpm = True                              # ReadPropertyMultiple: Reject unrecognized-service
        ahu.refuse_cov = True                              # SubscribeCOV: Reject unrecognized-service
        ahu.silent = True                                  # answers nothing, the socket stays open
        ahu.services                                       # Counter of the requests received, by service

Each object's present value is written every ``UPDATE_S`` from the model, so COV
subscribers are notified as on a real controller. The device binds only loopback
addresses, answers Who-Is by unicast, and refuses every write (WriteProperty and friends
are counted in ``services``: the agent must send none).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from bacpypes3.app import Application
from bacpypes3.errors import ExecutionError, UnrecognizedService
from bacpypes3.ipv4.link import NormalLinkLayer
from bacpypes3.local.analog import AnalogInputObject, AnalogOutputObject, AnalogValueObject
from bacpypes3.local.binary import BinaryInputObject, BinaryValueObject
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.multistate import MultiStateValueObject
from bacpypes3.pdu import IPv4Address, LocalStation
from bacpypes3.vlan.link import VirtualLinkLayer

from ..campus import check_loopback
from ..models import DeviceModel
from .models import AHU_MODES, FCU_FAN_SPEEDS, FCU_MODES, AhuModel, FcuModel, VavModel
from .network import leave, virtual_network

__all__ = ["POINTS", "BacnetSimDevice", "Point"]

UPDATE_S = 1.0
VENDOR_ID = 999
WRITES = frozenset(
    {
        "WritePropertyRequest",
        "WritePropertyMultipleRequest",
        "AddListElementRequest",
        "RemoveListElementRequest",
    }
)


@dataclass(frozen=True)
class Point:
    """One object of a simulated controller: what it is and which model value it shows."""

    key: str
    object_type: str
    instance: int
    name: str
    units: str | None = None
    #: A multi-state value's state texts, numbered from 1.
    states: tuple[str, ...] = ()


POINTS: dict[str, tuple[Point, ...]] = {
    "bacnet-ahu": (
        Point("supply_air_temp_c", "analog-input", 1, "SAT", "degrees-celsius"),
        Point("return_air_temp_c", "analog-input", 2, "RAT", "degrees-celsius"),
        Point("outside_air_temp_c", "analog-input", 3, "OAT", "degrees-celsius"),
        Point("supply_static_pa", "analog-input", 4, "SA-STATIC", "pascals"),
        Point("supply_airflow_m3h", "analog-input", 5, "SA-FLOW", "cubic-meters-per-hour"),
        Point("fan_power_kw", "analog-input", 6, "SF-PWR", "kilowatts"),
        Point("return_air_co2_ppm", "analog-input", 7, "RA-CO2", "parts-per-million"),
        Point("return_air_humidity_pct", "analog-input", 8, "RA-RH", "percent-relative-humidity"),
        Point("cooling_valve_pct", "analog-output", 1, "CHW-VLV", "percent"),
        Point("heating_valve_pct", "analog-output", 2, "HW-VLV", "percent"),
        Point("outside_air_damper_pct", "analog-output", 3, "OA-DMPR", "percent"),
        Point("supply_air_setpoint_c", "analog-value", 1, "SAT-SP", "degrees-celsius"),
        Point("fan_running", "binary-input", 1, "SF-STS"),
        Point("alarm", "binary-value", 1, "AHU-ALM"),
        Point("mode_code", "multi-state-value", 1, "AHU-MODE", states=AHU_MODES),
        Point("mixed_air_temp_c", "analog-input", 9, "MAT", "degrees-celsius"),
        Point("preheat_temp_c", "analog-input", 10, "PHT", "degrees-celsius"),
        Point("filter_dp_pa", "analog-input", 11, "FLTR-DP", "pascals"),
        Point("supply_air_humidity_pct", "analog-input", 12, "SA-RH", "percent-relative-humidity"),
        Point("return_fan_power_kw", "analog-input", 13, "RF-PWR", "kilowatts"),
        Point("supply_fan_speed_pct", "analog-output", 4, "SF-VFD", "percent"),
        Point("return_fan_speed_pct", "analog-output", 5, "RF-VFD", "percent"),
        Point("exhaust_damper_pct", "analog-output", 6, "EA-DMPR", "percent"),
        Point("return_damper_pct", "analog-output", 7, "RA-DMPR", "percent"),
        Point("humidifier_valve_pct", "analog-output", 8, "HUM-VLV", "percent"),
        Point("fan_run_time_h", "analog-value", 2, "SF-HRS", "hours"),
        Point("return_fan_running", "binary-input", 2, "RF-STS"),
        Point("filter_alarm", "binary-input", 3, "FLTR-ALM"),
        Point("freeze_alarm", "binary-input", 4, "FRZ-STAT"),
        Point("occupied", "binary-value", 2, "OCC-MODE"),
    ),
    "bacnet-vav": (
        Point("zone_temp_c", "analog-input", 1, "ZN-T", "degrees-celsius"),
        Point("airflow_m3h", "analog-input", 2, "AIRFLOW", "liters-per-second"),
        Point("zone_co2_ppm", "analog-input", 3, "ZN-CO2", "parts-per-million"),
        Point("damper_pct", "analog-output", 1, "DMPR", "percent"),
        Point("reheat_valve_pct", "analog-output", 2, "RHT-VLV", "percent"),
        Point("zone_setpoint_c", "analog-value", 1, "ZN-SP", "degrees-celsius"),
        Point("occupied", "binary-value", 1, "OCC"),
        Point("alarm", "binary-value", 2, "VAV-ALM"),
    ),
    # As configs/profiles/bacnet-fcu.toml maps a fan-coil controller.
    "bacnet-fcu": (
        Point("zone_temp_c", "analog-input", 1, "RM-T", "degrees-celsius"),
        Point("zone_setpoint_c", "analog-value", 1, "RM-SP", "degrees-celsius"),
        Point("valve_pct", "analog-output", 1, "VLV", "percent"),
        Point("fan_running", "binary-input", 1, "FAN-STS"),
        Point("alarm", "binary-value", 1, "FCU-ALM"),
        Point("fan_speed_code", "multi-state-value", 1, "FAN-SPD", states=FCU_FAN_SPEEDS),
        Point("mode_code", "multi-state-value", 2, "FCU-MODE", states=FCU_MODES),
    ),
}
#: Each kind's physics.
MODELS: dict[str, type[DeviceModel]] = {
    "bacnet-ahu": AhuModel,
    "bacnet-vav": VavModel,
    "bacnet-fcu": FcuModel,
}
#: What a US-made VAV controller shows instead (``imperial=True``).
IMPERIAL = {"degrees-celsius": "degrees-fahrenheit", "liters-per-second": "cubic-feet-per-minute"}
#: SI value -> what the controller shows, as (scale, offset).
_FROM_SI: dict[str, tuple[float, float]] = {
    "degrees-fahrenheit": (9 / 5, 32.0),
    "cubic-feet-per-minute": (1 / 1.6990108, 0.0),
    "liters-per-second": (1 / 3.6, 0.0),
}


class _SimApplication(Application):  # type: ignore[misc]
    """bacpypes3's application with the simulator's faults and its request count."""

    sim: BacnetSimDevice

    async def indication(self, apdu: Any) -> None:
        sim = self.sim
        sim.services[type(apdu).__name__] += 1
        if sim.silent:
            return
        await super().indication(apdu)

    async def do_ReadPropertyMultipleRequest(self, apdu: Any) -> None:
        if self.sim.refuse_rpm:
            raise UnrecognizedService()
        await super().do_ReadPropertyMultipleRequest(apdu)

    async def do_SubscribeCOVRequest(self, apdu: Any) -> None:
        if self.sim.refuse_cov:
            raise UnrecognizedService()
        await super().do_SubscribeCOVRequest(apdu)

    async def do_WritePropertyRequest(self, apdu: Any) -> None:
        raise ExecutionError(errorClass="property", errorCode="writeAccessDenied")

    async def do_WritePropertyMultipleRequest(self, apdu: Any) -> None:
        raise ExecutionError(errorClass="property", errorCode="writeAccessDenied")


class BacnetSimDevice:
    """One simulated controller (``bacnet-ahu``, ``-vav`` or ``-fcu``) on its own loopback address."""

    def __init__(
        self,
        name: str,
        kind: str,
        host: str,
        port: int = 47808,
        *,
        instance: int,
        seed: int = 1,
        epoch: float | None = None,
        imperial: bool = False,
        max_apdu: int = 1476,
        segmentation: str = "segmented-both",
        vlan: str | None = None,
        mac: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if kind not in POINTS:
            raise ValueError(f"kind {kind!r}: one of {', '.join(POINTS)}")
        self.name = name
        self.kind = kind
        self.host = check_loopback(host)
        self.port = port
        self.instance = instance
        self.imperial = imperial
        self.max_apdu = max_apdu
        self.segmentation = segmentation
        #: On an in-process virtual network (behind a :class:`~.network.Router`) at ``mac``, not on UDP.
        self.vlan = vlan
        self.mac = mac
        #: Simulated time (the wall clock unless the campus moves it).
        self.clock = clock
        start = clock() if epoch is None else epoch
        self.model: DeviceModel = MODELS[kind](seed, start)
        #: Requests received, by bacpypes3 APDU class name (``ReadPropertyMultipleRequest``).
        self.services: Counter[str] = Counter()
        self.silent = False
        self.refuse_rpm = False
        self.refuse_cov = False
        #: Values that replace the model's (a test forcing a zone out of range).
        self.overrides: dict[str, float | bool] = {}
        #: What its device object states (the firmware differs from device to device, so the
        #: asset register finds something); ``simulators ctl firmware`` changes it.
        self.firmware = f"2.{instance % 7}.1"
        self._faults: dict[str, str] = {}
        self._objects: dict[str, Any] = {}
        self._app: _SimApplication | None = None
        self._link: NormalLinkLayer | VirtualLinkLayer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        """``host:port`` as the agent's config writes it."""
        return f"{self.host}:{self.port}"

    @property
    def cov_subscriptions(self) -> int:
        """COV subscriptions the device holds now (bacpypes3 keeps them per object it watches)."""
        if self._app is None:
            return 0
        return sum(len(d.cov_subscriptions) for d in self._app._cov_detections.values())

    @property
    def points(self) -> tuple[Point, ...]:
        """The objects of this controller."""
        return POINTS[self.kind]

    def units_of(self, point: Point) -> str | None:
        """The units the controller shows for ``point``."""
        if point.units is None:
            return None
        return IMPERIAL.get(point.units, point.units) if self.imperial else point.units

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen (again, after :meth:`stop`: a restart, which forgets every COV subscription)."""
        device = DeviceObject(
            objectIdentifier=("device", self.instance),
            objectName=self.name,
            vendorIdentifier=VENDOR_ID,
            # Made-up makers, so nothing passes for a real product (as the Modbus simulators').
            vendorName="Simulated HVAC Controls",
            modelName=f"SIM-{self.kind.removeprefix('bacnet-').upper()}-200",
            firmwareRevision=self.firmware,
            applicationSoftwareVersion=f"sim-{self.kind} 1.4",
            serialNumber=f"HV{self.instance:07d}",
            maxApduLengthAccepted=self.max_apdu,
            segmentationSupported=self.segmentation,
        )
        self._objects = {point.key: self._object(point) for point in self.points}
        app = _SimApplication.from_object_list([device, *self._objects.values()])
        app.sim = self
        if self.vlan is not None:
            virtual_network(self.vlan)
            station = LocalStation(bytes([self.mac]))
            self._link = VirtualLinkLayer(station, self.vlan)
            app.nsap.bind(self._link, address=station)
        else:
            local = IPv4Address(self.address)
            link = NormalLinkLayer(local, bind_socket=self._socket())
            self._link = link
            app.nsap.bind(link, address=local)
            # bacpypes3 makes the socket's transport in a task of its own, and closing the link
            # before that task ran closes nothing: the socket would stay bound and answering
            # after stop(). Started means listening. (Its event for that is private: polled.)
            async with asyncio.timeout(5):
                while link.server.local_transport is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)
        self._app = app
        self._update()
        self._task = asyncio.create_task(self._follow(), name=f"bacnet-sim-{self.name}")

    def _socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(f"{self.name}: cannot listen on udp {self.address}: {exc.strerror or exc}") from exc
        return sock

    async def stop(self) -> None:
        """Stop answering and close the socket."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        link, self._link, self._app = self._link, None, None
        if isinstance(link, VirtualLinkLayer):
            leave(link)
        elif link is not None:
            link.close()
            # asyncio frees the socket on the loop's next turn: a start() right after can bind.
            await asyncio.sleep(0)
            await asyncio.sleep(0)

    def set_fault(self, key: str, reliability: str | None = "over-range") -> None:
        """Let the object of ``key`` report a fault (a reliability such as ``over-range``,
        ``out-of-service`` for an object taken out of service), or be good again with None."""
        if reliability is None:
            self._faults.pop(key, None)
        else:
            self._faults[key] = reliability
        self._update()

    def _object(self, point: Point) -> Any:
        common: dict[str, Any] = {
            "objectIdentifier": (point.object_type, point.instance),
            "objectName": point.name,
            "statusFlags": [0, 0, 0, 0],
            "outOfService": False,
        }
        if point.object_type.startswith("analog"):
            cls = {"analog-input": AnalogInputObject, "analog-output": AnalogOutputObject}.get(
                point.object_type, AnalogValueObject
            )
            return cls(
                **common,
                presentValue=0.0,
                units=self.units_of(point),
                covIncrement=0.1,
                reliability="no-fault-detected",
            )
        if point.object_type.startswith("binary"):
            # No reliability property here (it is optional), as on many controllers.
            cls = BinaryInputObject if point.object_type == "binary-input" else BinaryValueObject
            return cls(**common, presentValue="inactive")
        return MultiStateValueObject(
            **common,
            presentValue=1,
            numberOfStates=len(point.states),
            stateText=list(point.states),
            reliability="no-fault-detected",
        )

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(UPDATE_S)
            self._update()

    def _update(self) -> None:
        sample = {**self.model.sample(self.clock()), **self.overrides}
        for point in self.points:
            obj = self._objects.get(point.key)
            if obj is None:
                continue
            value = sample[point.key]
            if point.object_type.startswith("binary"):
                obj.presentValue = "active" if value else "inactive"
            elif point.object_type.startswith("multi-state"):
                obj.presentValue = int(value)
            else:
                units = self.units_of(point) or ""
                scale, offset = _FROM_SI.get(units, (1.0, 0.0))
                obj.presentValue = float(value) * scale + offset
            fault = self._faults.get(point.key)
            out = fault == "out-of-service"
            obj.statusFlags = [0, int(fault is not None and not out), 0, int(out)]
            obj.outOfService = out
            if hasattr(obj, "reliability") and obj.reliability is not None:
                obj.reliability = fault if fault and not out else "no-fault-detected"
