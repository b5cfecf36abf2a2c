"""Physics of the simulated devices, in pure Python.

Every model is a deterministic function of (seed, epoch, time): no hidden
state evolves between reads, so two models built alike give identical values
for the same instant whatever the order or rate of the reads.  Counters
(energy, run time) are exact integrals from ``epoch``, computed in closed
form or from per-day totals rather than by summing read intervals.

Times are Unix seconds of *simulated* time.  Schedules (lessons, building
load) use the local time ``t + utc_offset_s``; the default offset is 0 (UTC)
so results do not depend on the host's time zone.
"""

from __future__ import annotations

import itertools
import math
import random
from abc import ABC, abstractmethod
from bisect import bisect_right
from typing import ClassVar, Final, NamedTuple

Sample = dict[str, float | bool]

DAY: Final = 86_400.0
HOUR: Final = 3_600.0
MINUTE: Final = 60.0

# Lesson slots (start, end) in seconds of the day: 45 min lessons, 5 min
# changeovers, a 15 min morning break and a lunch break.
LESSONS: Final[tuple[tuple[float, float], ...]] = tuple(
    (h * HOUR + m * MINUTE, h * HOUR + m * MINUTE + 45 * MINUTE)
    for h, m in ((8, 0), (8, 50), (9, 50), (10, 40), (12, 15), (13, 5), (14, 0), (14, 50))
)


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def day_and_time(local_t: float) -> tuple[int, float]:
    """Split local time into (day number since 1970-01-01, seconds into the day)."""
    day = math.floor(local_t / DAY)
    return day, local_t - day * DAY


def is_weekday(day: int) -> bool:
    """Tell whether ``day`` (days since 1970-01-01, a Thursday) is Monday-Friday."""
    return (day + 3) % 7 < 5


class SmoothNoise:
    """Band-limited noise in [-1, 1]: a few seeded sinusoids.

    Sinusoids rather than random draws make the noise a smooth function of
    time (no jumps between two close reads) with a closed-form integral.
    """

    def __init__(self, rng: random.Random, min_period: float, max_period: float, terms: int = 3):
        """Draw ``terms`` sinusoids with periods in [min_period, max_period] seconds."""
        raw = [
            (
                2 * math.pi / rng.uniform(min_period, max_period),  # angular frequency
                rng.uniform(0, 2 * math.pi),  # phase
                rng.random() + 0.5,  # weight
            )
            for _ in range(terms)
        ]
        total = sum(weight for _, _, weight in raw)
        self._terms = [(omega, phase, weight / total) for omega, phase, weight in raw]

    def __call__(self, t: float) -> float:
        """Return the noise at ``t``."""
        return sum(w * math.sin(omega * t + phase) for omega, phase, w in self._terms)

    def integral(self, t0: float, t1: float) -> float:
        """Return the integral of the noise over [t0, t1]."""
        return sum(
            w * (math.cos(omega * t0 + phase) - math.cos(omega * t1 + phase)) / omega
            for omega, phase, w in self._terms
        )


class DeviceModel(ABC):
    """A device's physics: engineering values as a function of time."""

    kind: ClassVar[str]
    #: Fields that are counters; the server keeps them from ever going back.
    counters: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, seed: int, epoch: float, utc_offset_s: float = 0.0):
        """Seed the device (``seed`` = campus seed + device index) and fix its epoch."""
        self.seed = seed
        self.epoch = epoch
        self.utc_offset_s = utc_offset_s
        self.rng = random.Random(seed)

    def day_rng(self, day: int, salt: str = "") -> random.Random:
        """Return a generator for one simulated day, independent of read order."""
        return random.Random(f"{self.seed}/{day}/{salt}")

    @abstractmethod
    def sample(self, t: float) -> Sample:
        """Return every field's engineering value at simulated time ``t``."""


class ClassroomModel(DeviceModel):
    """Classroom air quality: CO2, noise, heat and humidity follow occupancy."""

    kind = "classroom-iaq"

    def __init__(self, seed: int, epoch: float, utc_offset_s: float = 0.0):
        """Draw the room's character (ventilation, usage, windows)."""
        super().__init__(seed, epoch, utc_offset_s)
        rng = self.rng
        self.co2_outdoor = rng.uniform(405, 440)
        self.co2_rise = rng.uniform(1000, 1450)  # ppm above outdoor with a full class
        self.tau_fill = rng.uniform(20, 30) * MINUTE
        self.tau_vent = rng.uniform(15, 30) * MINUTE
        self.usage = rng.uniform(0.6, 0.9)  # share of lesson slots the room is used
        self.temp_offset = rng.uniform(-0.8, 0.8)
        self.rh_offset = rng.uniform(-5, 5)
        self.pm_offset = rng.uniform(0, 6)
        self.window_lux = rng.uniform(250, 420)
        self.n_co2 = SmoothNoise(rng, 2 * MINUTE, 20 * MINUTE)
        self.n_temp = SmoothNoise(rng, 20 * MINUTE, 3 * HOUR)
        self.n_rh = SmoothNoise(rng, 15 * MINUTE, 2 * HOUR)
        self.n_pm = SmoothNoise(rng, 5 * MINUTE, HOUR)
        self.n_sound = SmoothNoise(rng, 10.0, 3 * MINUTE)
        self.n_cloud = SmoothNoise(rng, 10 * MINUTE, 2 * HOUR)
        self._days: dict[int, list[tuple[float, float, float]]] = {}

    def lessons(self, day: int) -> list[tuple[float, float, float]]:
        """Return the day's occupied slots as (start, end, share of seats taken)."""
        if (cached := self._days.get(day)) is not None:
            return cached
        slots: list[tuple[float, float, float]] = []
        if is_weekday(day):
            rng = self.day_rng(day, "lessons")
            for start, end in LESSONS:
                if rng.random() < self.usage:
                    slots.append((start, end, rng.uniform(0.7, 1.0)))
        if len(self._days) > 8:  # why: only today (and maybe yesterday) are read
            self._days.clear()
        self._days[day] = slots
        return slots

    def occupancy(self, t: float) -> float:
        """Return the share of seats taken at ``t`` (0 when empty)."""
        day, tod = day_and_time(t + self.utc_offset_s)
        return next((occ for s, e, occ in self.lessons(day) if s <= tod < e), 0.0)

    def co2(self, t: float) -> float:
        """CO2 (ppm): exact first-order fill/decay over today's lessons.

        Starts from outdoor level at midnight, which holds since the last
        lesson ends hours before.
        """
        day, tod = day_and_time(t + self.utc_offset_s)
        level, since = self.co2_outdoor, 0.0
        for start, end, occ in self.lessons(day):
            if start >= tod:
                break
            level = self.co2_outdoor + (level - self.co2_outdoor) * math.exp(-(start - since) / self.tau_vent)
            target = self.co2_outdoor + occ * self.co2_rise
            since = min(end, tod)
            level = target + (level - target) * math.exp(-(since - start) / self.tau_fill)
        level = self.co2_outdoor + (level - self.co2_outdoor) * math.exp(-(tod - since) / self.tau_vent)
        return level + 12 * self.n_co2(t)

    def sample(self, t: float) -> Sample:
        """Return temperature, humidity, CO2, PM2.5, noise and light at ``t``."""
        _, tod = day_and_time(t + self.utc_offset_s)
        co2 = self.co2(t)
        load = _clamp((co2 - self.co2_outdoor) / self.co2_rise, 0, 1)  # body heat/moisture proxy
        occupied = self.occupancy(t) > 0
        daily = math.sin(2 * math.pi * (tod - 9 * HOUR) / DAY)  # warmest mid-afternoon
        traffic = math.exp(-(((tod - 8 * HOUR) / (1.2 * HOUR)) ** 2)) + math.exp(
            -(((tod - 17 * HOUR) / (1.5 * HOUR)) ** 2)
        )
        daylight = max(0.0, math.sin(math.pi * (tod - 6 * HOUR) / (14 * HOUR))) if tod < 20 * HOUR else 0.0
        sound = 62.5 + 7.5 * self.n_sound(t) if occupied else 31 + 1.5 * self.n_sound(t)
        light = daylight * self.window_lux * (0.7 + 0.3 * self.n_cloud(t)) + (380 if occupied else 0)
        temperature = 22 + self.temp_offset + 1.8 * daily + 2 * load + 0.3 * self.n_temp(t)
        humidity = 48 + self.rh_offset + 6 * daily + 8 * load + 3 * self.n_rh(t)
        return {
            "temperature_c": _clamp(temperature, 19, 27),
            "humidity_pct": _clamp(humidity, 30, 70),
            "co2_ppm": _clamp(co2, 380, 2000),
            "pm25_ugm3": _clamp(10 + self.pm_offset + 8 * traffic + 18 * load + 4 * self.n_pm(t), 5, 60),
            "noise_db": sound,
            "light_lux": _clamp(light, 0, 800),
        }


# Weekday building load shape, piecewise linear: (seconds of day, share of the
# school-hours load).  Weekends only draw the base load.
_LOAD_KNOTS: Final[tuple[tuple[float, float], ...]] = (
    (0.0, 0.0),
    (6.5 * HOUR, 0.0),
    (8 * HOUR, 1.0),
    (15.5 * HOUR, 1.0),
    (18 * HOUR, 0.15),  # cleaning, evening classes
    (20 * HOUR, 0.15),
    (21 * HOUR, 0.0),
    (DAY, 0.0),
)
_KNOT_T: Final = [k[0] for k in _LOAD_KNOTS]


def _load_shape(tod: float) -> float:
    i = min(bisect_right(_KNOT_T, tod), len(_LOAD_KNOTS) - 1)
    (t0, v0), (t1, v1) = _LOAD_KNOTS[i - 1], _LOAD_KNOTS[i]
    return v0 + (v1 - v0) * (tod - t0) / (t1 - t0)


def _load_shape_integral(tod: float) -> float:
    """Integral of the weekday shape from midnight to ``tod`` (seconds)."""
    total = 0.0
    for (t0, v0), (t1, v1) in itertools.pairwise(_LOAD_KNOTS):
        if tod <= t0:
            break
        end = min(tod, t1)
        total += (end - t0) * (v0 + (v0 + (v1 - v0) * (end - t0) / (t1 - t0))) / 2
    return total


_WEEKDAY_SHAPE_INTEGRAL: Final = _load_shape_integral(DAY)


def _shape_cumulative(local_t: float) -> float:
    """Integral of the load shape from 1970-01-01 local midnight to ``local_t``."""
    day, tod = day_and_time(local_t)
    weeks, day_in_week = divmod(day, 7)
    # any 7 consecutive days hold 5 weekdays; day 0 is a Thursday.
    full_days = sum(1 for d in range(day_in_week) if is_weekday(d))
    partial = _load_shape_integral(tod) if is_weekday(day) else 0.0
    return (weeks * 5 + full_days) * _WEEKDAY_SHAPE_INTEGRAL + partial


class MeterModel(DeviceModel):
    """Building feeder: base load plus a school-hours load over three phases."""

    kind = "energy-meter-3ph"
    counters = frozenset({"energy_import_kwh"})

    def __init__(self, seed: int, epoch: float, utc_offset_s: float = 0.0):
        """Draw the building's loads, phase balance and initial counter."""
        super().__init__(seed, epoch, utc_offset_s)
        rng = self.rng
        self.base_w = rng.uniform(6_000, 15_000)
        self.school_w = rng.uniform(25_000, 60_000)
        self.noise_w = 0.08 * self.base_w + 0.04 * self.school_w  # keeps load > 0
        self.energy0_kwh = rng.uniform(10_000, 90_000)
        shares = [rng.uniform(0.30, 0.37) for _ in range(3)]
        self.phase_share = [s / sum(shares) for s in shares]
        self.v_offset = [rng.uniform(-2, 2) for _ in range(3)]
        self.n_load = SmoothNoise(rng, 30.0, 30 * MINUTE, terms=4)
        self.n_share = [SmoothNoise(rng, MINUTE, HOUR) for _ in range(3)]
        self.n_volt = [SmoothNoise(rng, 10.0, 10 * MINUTE) for _ in range(3)]
        self.n_pf = [SmoothNoise(rng, MINUTE, HOUR) for _ in range(3)]
        self.n_freq = SmoothNoise(rng, 20.0, 5 * MINUTE)

    def load_w(self, t: float) -> float:
        """Total active power (W) at ``t``."""
        local = t + self.utc_offset_s
        day, tod = day_and_time(local)
        shape = _load_shape(tod) if is_weekday(day) else 0.0
        return self.base_w + self.school_w * shape + self.noise_w * self.n_load(t)

    def energy_kwh(self, t: float) -> float:
        """Imported energy (kWh): initial value plus the exact integral of the load."""
        off = self.utc_offset_s
        joules = (
            self.base_w * (t - self.epoch)
            + self.school_w * (_shape_cumulative(t + off) - _shape_cumulative(self.epoch + off))
            + self.noise_w * self.n_load.integral(self.epoch, t)
        )
        return self.energy0_kwh + joules / 3.6e6

    def sample(self, t: float) -> Sample:
        """Return per-phase V/I/P, total power, frequency and energy at ``t``."""
        total = self.load_w(t)
        _, tod = day_and_time(t + self.utc_offset_s)
        sag = 3 * _load_shape(tod)  # voltage drops a little under load
        shares = [s + 0.015 * n(t) for s, n in zip(self.phase_share, self.n_share, strict=True)]
        values: Sample = {}
        power_sum = 0.0
        for i in range(3):
            volts = _clamp(230 + self.v_offset[i] + 2.5 * self.n_volt[i](t) - sag, 220, 235)
            pf = 0.95 + 0.025 * self.n_pf[i](t)
            amps = total * shares[i] / sum(shares) / (volts * pf)
            power = volts * amps * pf
            power_sum += power
            values[f"voltage_l{i + 1}_v"] = volts
            values[f"current_l{i + 1}_a"] = amps
            values[f"power_l{i + 1}_w"] = power
        values["power_total_w"] = power_sum
        values["frequency_hz"] = _clamp(50 + 0.06 * self.n_freq(t), 49.9, 50.1)
        values["energy_import_kwh"] = self.energy_kwh(t)
        return values


class Job(NamedTuple):
    """One machining job: the spindle runs from start to end (seconds of day)."""

    start: float
    end: float
    rpm: float
    load_pct: float


class Alarm(NamedTuple):
    """An alarm that stopped the machine from start to end (seconds of day)."""

    start: float
    end: float
    code: int


class MachineDay(NamedTuple):
    """One day of a machine: its jobs, alarms and total run seconds."""

    jobs: list[Job]
    alarms: list[Alarm]
    run_s: float


class MachineModel(DeviceModel):
    """Training-room CNC lathe: runs jobs during lab lessons, rare alarms."""

    kind = "training-machine"
    counters = frozenset({"run_time_h"})
    ALARM_CODES: ClassVar[tuple[int, ...]] = (1001, 1002, 2010, 2011, 3005)

    def __init__(self, seed: int, epoch: float, utc_offset_s: float = 0.0):
        """Draw how much the lab is used and the machine's run-time counter."""
        super().__init__(seed, epoch, utc_offset_s)
        rng = self.rng
        self.usage = rng.uniform(0.4, 0.8)
        self.alarm_chance = rng.uniform(0.01, 0.04)  # per job
        self.run_time0_h = rng.uniform(500, 8_000)
        self.n_rpm = SmoothNoise(rng, 5.0, MINUTE)
        self.n_load = SmoothNoise(rng, 3.0, 2 * MINUTE)
        self._days: dict[int, MachineDay] = {}

    def day(self, day: int) -> MachineDay:
        """Return the jobs and alarms of ``day`` (days since 1970-01-01)."""
        if (cached := self._days.get(day)) is not None:
            return cached
        jobs: list[Job] = []
        alarms: list[Alarm] = []
        if is_weekday(day):
            rng = self.day_rng(day, "jobs")
            for start, end in LESSONS:
                if rng.random() >= self.usage:
                    continue
                cursor = start + rng.uniform(4, 10) * MINUTE  # setup before the first cut
                while cursor < end - MINUTE:
                    stop = min(end, cursor + rng.uniform(3, 12) * MINUTE)
                    jobs.append(Job(cursor, stop, round(rng.uniform(800, 3000), -1), rng.uniform(25, 70)))
                    cursor = stop
                    if rng.random() < self.alarm_chance:
                        alarm_end = cursor + rng.uniform(3, 10) * MINUTE
                        alarms.append(Alarm(cursor, alarm_end, rng.choice(self.ALARM_CODES)))
                        cursor = alarm_end
                    else:
                        cursor += rng.uniform(1, 5) * MINUTE
        entry = MachineDay(jobs, alarms, sum(job.end - job.start for job in jobs))
        # why: unlike rooms, every day since the epoch feeds the run-time counter,
        # but the entries are small (a few dozen tuples a day).
        self._days[day] = entry
        return entry

    def _run_seconds(self, t: float) -> float:
        """Seconds run between the epoch and ``t``."""
        off = self.utc_offset_s
        day0, tod0 = day_and_time(self.epoch + off)
        day1, tod1 = day_and_time(t + off)

        def until(day: int, tod: float) -> float:
            return sum(max(0.0, min(job.end, tod) - job.start) for job in self.day(day).jobs)

        total = sum(self.day(d).run_s for d in range(day0, day1)) + until(day1, tod1)
        return total - until(day0, tod0)

    def sample(self, t: float) -> Sample:
        """Return running/alarm bits, spindle speed and load, run time, alarm code."""
        day, tod = day_and_time(t + self.utc_offset_s)
        today = self.day(day)
        job = next((j for j in today.jobs if j.start <= tod < j.end), None)
        alarm = next((a for a in today.alarms if a.start <= tod < a.end), None)
        rpm = _clamp(job.rpm * (1 + 0.01 * self.n_rpm(t)), 800, 3000) if job else 0.0
        load = _clamp(job.load_pct + 10 * self.n_load(t), 0, 100) if job else 0.0
        return {
            "running": job is not None,
            "alarm": alarm is not None,
            "spindle_rpm": rpm,
            "spindle_load_pct": load,
            "run_time_h": self.run_time0_h + self._run_seconds(t) / HOUR,
            "alarm_code": float(alarm.code) if alarm else 0.0,
        }


MODELS: Final[dict[str, type[DeviceModel]]] = {m.kind: m for m in (ClassroomModel, MeterModel, MachineModel)}


def make_model(kind: str, seed: int, epoch: float, utc_offset_s: float = 0.0) -> DeviceModel:
    """Build the model of ``kind``; ``seed`` should be campus seed + device index."""
    try:
        cls = MODELS[kind]
    except KeyError:
        raise ValueError(f"unknown device kind {kind!r}") from None
    return cls(seed, epoch, utc_offset_s)
