"""What a Modbus device states about itself: Read Device Identification and the SunSpec common model.

FC 43 / MEI 14 first (mei.py): the regular objects in one stream from object 0, which
includes the basic ones; a device that finds read code 2 too much (exception 3) is asked
for the basic stream instead. A device that answers exception 1 or 2, or stays silent
(at two probes in a row: many serial devices ignore a function code they lack), does not
have it: it is asked nothing more by FC 43 until the agent restarts. Then the SunSpec common model (model 1)
at holding register 40000, when the marker ``SunS`` is there; a device without it is not
asked again either. Both are reads; a garbled answer is counted (``identity_garbled``) and
leaves its part out of this probe. What no part states, the profile's make and model fill
in (the agent does that).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import structlog

from campus_core.identity import Identity, RawText

from . import mei
from .config import ModbusDevice
from .errors import BadAnswer, DeviceStats, NoAnswer, describe_exception
from .link import Link

log = structlog.get_logger("drivers.modbus")

#: Pages of one identification stream at most (each carries what fits in a frame).
MAX_PAGES = 8
#: Where SunSpec devices keep their models, the marker, and the common model's layout.
SUNSPEC_BASE = 40000
SUNSPEC_MARKER = (0x5375, 0x6E53)  # "SunS"
COMMON_MODEL = 1
#: Marker (2) + model id and length (2) + the common model's 66 registers.
SUNSPEC_READ = 70
#: Probes in a row a part went unanswered (while the device answered its polls) before
#: the device is taken not to have it.
SILENT_PROBES = 2
#: The common model's text points: (name, offset from the base, registers).
SUNSPEC_TEXT = {"Mn": (4, 16), "Md": (20, 16), "Opt": (36, 8), "Vr": (44, 8), "SN": (52, 16)}


class IdentityProbe:
    """Reads one device's identity and remembers what the device does not have."""

    def __init__(self, config: ModbusDevice, stats: DeviceStats) -> None:
        self._config = config
        self._stats = stats
        #: The device refuses FC 43 (exception 1 or 2, or silence): not asked again.
        self.refuses_identification = False
        #: None: not known yet; False: no SunSpec common model at 40000.
        self.sunspec: bool | None = None
        self._silent = {"identification": 0, "sunspec": 0}

    async def read(self, link: Link) -> Identity:
        """What the device states now. Raises the link's :class:`LinkDown` when it cannot be reached."""
        objects = {} if self.refuses_identification else await self._identification(link)
        common = await self._common_model(link) if self.sunspec is not False else {}
        model = objects.get(5) or objects.get(1)
        values: list[tuple[str, RawText]] = [
            ("vendor", objects.get(0)),
            ("vendor", common.get("Mn")),
            ("model", model),
            ("model", common.get("Md")),
            ("firmware", objects.get(2)),
            ("firmware", common.get("Vr")),
            ("serial", common.get("SN")),
            ("product_code", objects.get(1)),
            ("product_name", objects.get(4)),
            ("vendor_url", objects.get(3)),
            ("application", objects.get(6)),
            ("options", common.get("Opt")),
        ]
        return Identity.stated(values)

    async def _identification(self, link: Link) -> dict[int, bytes]:
        config, stats = self._config, self._stats
        objects: dict[int, bytes] = {}
        read_code, start = mei.REGULAR, 0
        for _ in range(MAX_PAGES):
            try:
                answer = await link.identification(config.unit, read_code, start, config.timeout)
            except NoAnswer:
                if self._quiet("identification"):
                    self._refused("no answer to function code 43")
                break
            except BadAnswer as exc:
                stats.identity["garbled"] += 1
                log.info("garbled identification answer; left out", device=config.name, reason=str(exc))
                break
            code = answer.exception
            if code == 3 and read_code == mei.REGULAR and not objects:
                read_code = mei.BASIC  # a basic-only device
                continue
            if code in (1, 2):
                self._refused(describe_exception(code))
                break
            if code is not None or answer.page is None:
                break  # busy or failing now: the next probe asks again
            self._silent["identification"] = 0
            page = answer.page
            for object_id, value in page.objects:
                objects.setdefault(object_id, value)
            if not page.more or page.next_object <= start:
                break
            start = page.next_object
        return objects

    def _quiet(self, part: str) -> bool:
        """One more probe without an answer to ``part``; True once that makes it absent."""
        self._stats.identity["timeouts"] += 1
        self._silent[part] += 1
        return self._silent[part] >= SILENT_PROBES

    def _refused(self, why: str) -> None:
        self.refuses_identification = True
        log.info(
            "device does not identify itself (Modbus FC 43); not asked again until the agent restarts",
            device=self._config.name,
            unit=self._config.unit,
            reason=why,
        )

    async def _common_model(self, link: Link) -> dict[str, bytes]:
        config, stats = self._config, self._stats
        try:
            answer = await link.read(config.unit, "holding", SUNSPEC_BASE, SUNSPEC_READ, config.timeout)
        except NoAnswer:
            if self._quiet("sunspec"):
                self.sunspec = False
            return {}
        except BadAnswer as exc:
            stats.identity["garbled"] += 1
            log.info("garbled answer at the SunSpec base; left out", device=config.name, reason=str(exc))
            return {}
        self._silent["sunspec"] = 0
        if answer.exception is not None:
            # 1-3: nothing there. Busy or failing: asked again at the next probe.
            if answer.exception in (1, 2, 3):
                self.sunspec = False
            return {}
        words = answer.values
        if tuple(words[:2]) != SUNSPEC_MARKER or words[2] != COMMON_MODEL or words[3] not in (65, 66):
            self.sunspec = False
            return {}
        self.sunspec = True
        return {name: _text(words, offset, size) for name, (offset, size) in SUNSPEC_TEXT.items()}


def _text(words: Sequence[int | bool], offset: int, size: int) -> bytes:
    """Registers as the bytes they carry, two a register, high byte first."""
    return struct.pack(f">{size}H", *(int(w) for w in words[offset : offset + size]))
