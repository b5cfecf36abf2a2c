"""HVAC physics of the simulated BACnet devices: an air-handling unit, its VAV boxes, fan coils.

Like :mod:`simulators.models`, every value is a deterministic function of (seed, time):
no state evolves between reads. The building is occupied on weekdays from 07:00 to 18:00
(the fan starts at 06:30 to pre-condition); classrooms follow the school timetable of
:mod:`simulators.models`. Values are in SI; a device that shows °F or cfm converts them
itself (``simulators.bacnet.device``).
"""

from __future__ import annotations

import math

from ..models import (
    HOUR,
    LESSONS,
    MINUTE,
    DeviceModel,
    Sample,
    SmoothNoise,
    _clamp,
    day_and_time,
    is_weekday,
)

__all__ = ["AHU_MODES", "FCU_FAN_SPEEDS", "FCU_MODES", "AhuModel", "FcuModel", "VavModel"]

#: The AHU's operating modes, as its multi-state value numbers them (from 1).
AHU_MODES = ("Off", "Heating", "Cooling", "Economizer", "Ventilation")
#: A fan coil's fan speeds and modes, as its two multi-state values number them (from 1).
FCU_FAN_SPEEDS = ("Off", "Low", "Medium", "High")
FCU_MODES = ("Off", "Heating", "Cooling", "Fan only")
START, PRESTART, STOP = 7 * HOUR, 6.5 * HOUR, 18 * HOUR


def _occupied(local_t: float) -> bool:
    day, tod = day_and_time(local_t)
    return is_weekday(day) and PRESTART <= tod < STOP


class AhuModel(DeviceModel):
    """An air-handling unit: outside air, supply and return temperatures, fan, valves, damper."""

    kind = "bacnet-ahu"

    def __init__(self, seed: int, epoch: float, utc_offset_s: float = 0.0):
        """Draw the climate of the day and the unit's size."""
        super().__init__(seed, epoch, utc_offset_s)
        rng = self.rng
        self.oat_mean = rng.uniform(12, 26)
        self.max_flow = rng.uniform(8000, 12000)
        self.fan_kw = rng.uniform(5.5, 11)
        self.n_oat = SmoothNoise(rng, 20 * MINUTE, 4 * HOUR)
        self.n_sat = SmoothNoise(rng, 1 * MINUTE, 15 * MINUTE)
        self.n_flow = SmoothNoise(rng, 2 * MINUTE, 20 * MINUTE)

    def outside(self, t: float) -> float:
        """Outside air temperature (°C): a daily swing around a seeded mean."""
        _, tod = day_and_time(t + self.utc_offset_s)
        return (
            self.oat_mean + 6 * math.sin(2 * math.pi * (tod - 9 * HOUR) / (24 * HOUR)) + 1.5 * self.n_oat(t)
        )

    def alarm(self, t: float) -> bool:
        """A rare common alarm (a dirty filter, a freeze stat) of 20-60 minutes on some weekdays."""
        day, tod = day_and_time(t + self.utc_offset_s)
        rng = self.day_rng(day, "alarm")
        if not is_weekday(day) or rng.random() > 0.15:
            return False
        start = rng.uniform(START, STOP - HOUR)
        return start <= tod < start + rng.uniform(20, 60) * MINUTE

    def sample(self, t: float) -> Sample:
        """Every point of the unit at ``t``."""
        local = t + self.utc_offset_s
        running = _occupied(local)
        oat = self.outside(t)
        if not running:
            mode = 1
        elif oat > 24:
            mode = 3
        elif oat < 14:
            mode = 2
        elif oat < 20:
            mode = 4
        else:
            mode = 5
        setpoint = {2: 30.0, 3: 13.0}.get(mode, 16.0)
        occupancy = _school_occupancy(local)
        flow = self.max_flow * (0.55 + 0.3 * occupancy + 0.05 * self.n_flow(t)) if running else 0.0
        ret = 22.5 + 1.5 * occupancy + 0.3 * self.n_sat(t) if running else 0.6 * oat + 9
        return {
            "supply_air_temp_c": setpoint + 0.4 * self.n_sat(t) if running else ret - 0.5,
            "return_air_temp_c": ret,
            "outside_air_temp_c": oat,
            "supply_air_setpoint_c": setpoint,
            "supply_static_pa": 250 + 15 * self.n_flow(t) if running else 0.0,
            "supply_airflow_m3h": flow,
            "fan_power_kw": self.fan_kw * (flow / self.max_flow) ** 3,
            "cooling_valve_pct": _clamp((oat - 20) * 9, 0, 100) if mode == 3 else 0.0,
            "heating_valve_pct": _clamp((16 - oat) * 8, 0, 100) if mode == 2 else 0.0,
            "outside_air_damper_pct": (100.0 if mode == 4 else 20.0 + 10 * occupancy) if running else 0.0,
            "return_air_co2_ppm": 430 + 500 * occupancy + 10 * self.n_flow(t),
            "return_air_humidity_pct": 50 + 8 * self.n_oat(t) + 5 * occupancy,
            "fan_running": running,
            "alarm": running and self.alarm(t),
            "mode_code": float(mode),
            # The rest of a typical AHU point list (the profile reads the fifteen above).
            "mixed_air_temp_c": 0.8 * ret + 0.2 * oat if running else ret,
            "preheat_temp_c": max(oat, 5.0) if running else oat,
            "filter_dp_pa": 120 + 40 * (flow / self.max_flow) ** 2 + 5 * self.n_flow(t) if running else 0.0,
            "supply_fan_speed_pct": 100 * flow / self.max_flow,
            "return_fan_speed_pct": 90 * flow / self.max_flow,
            "return_fan_power_kw": 0.6 * self.fan_kw * (flow / self.max_flow) ** 3,
            "exhaust_damper_pct": (80.0 if mode == 4 else 15.0) if running else 0.0,
            "return_damper_pct": (20.0 if mode == 4 else 80.0) if running else 0.0,
            "humidifier_valve_pct": _clamp((45 - (50 + 8 * self.n_oat(t))) * 10, 0, 100) if running else 0.0,
            "supply_air_humidity_pct": 55 + 6 * self.n_sat(t),
            "fan_run_time_h": 8000 + max(0.0, t - self.epoch) / HOUR * 0.45,
            "return_fan_running": running,
            "filter_alarm": False,
            "freeze_alarm": False,
            "occupied": _occupied(local) and day_and_time(local)[1] >= START,
        }


class VavModel(DeviceModel):
    """A VAV box serving one classroom: zone temperature, airflow, damper, reheat, occupancy."""

    kind = "bacnet-vav"

    def __init__(self, seed: int, epoch: float, utc_offset_s: float = 0.0):
        """Draw the zone's character: its sun load, its box size, its hot afternoons."""
        super().__init__(seed, epoch, utc_offset_s)
        rng = self.rng
        self.sun = rng.uniform(0.5, 2.5)
        self.min_flow = rng.uniform(300, 400)  # m3/h
        self.max_flow = rng.uniform(1200, 1600)
        self.n_temp = SmoothNoise(rng, 5 * MINUTE, 1 * HOUR)
        self.n_co2 = SmoothNoise(rng, 2 * MINUTE, 20 * MINUTE)

    def hot(self, day: int) -> bool:
        """A day when the box cannot keep up in the afternoon (a stuck damper, a sunny west room)."""
        return is_weekday(day) and self.day_rng(day, "hot").random() < 0.2

    def sample(self, t: float) -> Sample:
        """Every point of the box at ``t``."""
        local = t + self.utc_offset_s
        day, tod = day_and_time(local)
        occupied = _occupied(local)
        occupancy = _school_occupancy(local)
        setpoint = 22.0 if occupied else 26.0
        sun = self.sun * max(0.0, math.sin(math.pi * (tod - 8 * HOUR) / (10 * HOUR)))
        demand = _clamp((sun + 2.5 * occupancy) / 4, 0, 1) if occupied else 0.0
        temp = setpoint + 0.3 * self.n_temp(t) + 0.4 * demand
        if not occupied:
            temp = 20 + 0.3 * sun + self.n_temp(t)
        elif self.hot(day) and 13 * HOUR <= tod < 16 * HOUR:
            temp += 4.5 + sun  # out of range, for the alert
        flow = (self.min_flow + (self.max_flow - self.min_flow) * demand) if occupied else 0.0
        reheat = _clamp((setpoint - 0.8 - temp) * 40, 0, 100) if occupied else 0.0
        return {
            "zone_temp_c": temp,
            "zone_setpoint_c": setpoint,
            "airflow_m3h": flow,
            "damper_pct": 100 * flow / self.max_flow,
            "reheat_valve_pct": reheat,
            "zone_co2_ppm": 420 + 900 * occupancy + 15 * self.n_co2(t),
            "occupied": occupied,
            "alarm": False,
        }


class FcuModel(DeviceModel):
    """A fan-coil unit in a classroom or office: a room thermostat, a three-speed fan, one water valve.

    Heating below its setpoint and cooling above it (a two-pipe unit changed over by the
    season: here by the room), the fan's speed stepping with how far the room is off.
    """

    kind = "bacnet-fcu"

    def __init__(self, seed: int, epoch: float, utc_offset_s: float = 0.0):
        """Draw the room: how warm it runs left to itself, and how much sun it takes."""
        super().__init__(seed, epoch, utc_offset_s)
        rng = self.rng
        self.base = rng.uniform(19.5, 24.5)
        self.sun = rng.uniform(0.3, 2.0)
        self.n_temp = SmoothNoise(rng, 5 * MINUTE, 1 * HOUR)

    def alarm(self, day: int, tod: float) -> bool:
        """A condensate-tray alarm of an hour on the odd weekday afternoon."""
        rng = self.day_rng(day, "alarm")
        return is_weekday(day) and rng.random() < 0.1 and 14 * HOUR <= tod < 15 * HOUR

    def sample(self, t: float) -> Sample:
        """Every point of the unit at ``t``."""
        local = t + self.utc_offset_s
        day, tod = day_and_time(local)
        occupied = _occupied(local)
        occupancy = _school_occupancy(local)
        setpoint = 22.0 if occupied else 26.0
        sun = self.sun * max(0.0, math.sin(math.pi * (tod - 8 * HOUR) / (10 * HOUR)))
        free = self.base + sun + 1.5 * occupancy + 0.4 * self.n_temp(t)  # the room left to itself
        error = free - setpoint
        if not occupied or abs(error) < 0.5:
            mode, speed, valve = (1 if not occupied else 4), (1 if not occupied else 2), 0.0
        else:
            mode = 3 if error > 0 else 2
            speed = 2 if abs(error) < 1.5 else 3 if abs(error) < 3 else 4
            valve = _clamp(abs(error) * 30, 0, 100)
        # What the unit holds the room at: the setpoint, give or take what it cannot reach.
        temp = free if mode in (1, 4) else setpoint + math.copysign(max(0.0, abs(error) - 3.5), error)
        return {
            "zone_temp_c": temp + 0.1 * self.n_temp(t),
            "zone_setpoint_c": setpoint,
            "valve_pct": valve,
            "fan_running": speed > 1,
            "alarm": occupied and self.alarm(day, tod),
            "fan_speed_code": float(speed),
            "mode_code": float(mode),
        }


def _school_occupancy(local_t: float) -> float:
    """1 during a lesson on a weekday, else 0 (the same timetable as the classrooms)."""
    day, tod = day_and_time(local_t)
    if not is_weekday(day):
        return 0.0
    return 1.0 if any(start <= tod < end for start, end in LESSONS) else 0.0
