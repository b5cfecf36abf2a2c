"""A day at the city store in which every alert's state comes and goes, as the agent writes it.

Each alert gets a school of its own, so its firing can be told apart from the others'. The
points are line protocol with the agent's measurements, fields and tags (docs/schema.md),
one a minute for each series, over :data:`MINUTES`; the state each alert is for holds in
minutes ``[START, END)`` and is gone afterwards, so the alert must fire in between and be
resolved by the end.

Each school with device readings has a twin whose devices report on change
(:data:`ON_CHANGE` appended to its code): a field goes out when it changed or when its
5-minute heartbeat is due, as the agent sends it with ``report = "on_change"``; the
gateway's own points stay one a minute. The twin's alert must fire and resolve the same
way. School ``sh-quiet`` is healthy and quiet (a subscription with nothing new, sensors
reporting on change, a wildcard device's sensors): no alert may fire for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

MINUTES = 150
START, END = 30, 90
VERSION = "0.1.0"
#: Appended to a school's code for its twin that reports on change.
ON_CHANGE = "-oc"
#: The heartbeat of the twins, in minutes: a field goes unsent at most this long.
HEARTBEAT = 5
#: The healthy, quiet school.
QUIET = "sh-quiet"

Scenario = Callable[[int, int], Iterator[str]]


def _active(minute: int) -> bool:
    return START <= minute < END


def _agent(school: str, fields: str, ts: int) -> str:
    return f"edge_agent,school={school},campus=main,version={VERSION} {fields} {ts}"


def _device(
    measurement: str,
    school: str,
    device: str,
    kind: str,
    building: str,
    room: str,
    fields: str,
    ts: int,
    extra: str = "",
) -> str:
    return (
        f"{measurement},school={school},campus=main,device={device},kind={kind},"
        f"building={building},room={room}{extra} {fields} {ts}"
    )


def _healthy(uptime: int) -> str:
    return (
        f"uptime_s={uptime},devices=4,devices_ok=4,devices_failed=0,points_accepted={uptime * 10},"
        f"points_dropped=0,points_sent={uptime * 10},points_dead_lettered=0,sink_failures=0,"
        f"sink_auth_failures=0,buffer_errors=0,reloads=0,buffer_points=10,buffer_bytes=4096,"
        f"buffer_oldest_age_s=0"
    )


def gateway_silent(minute: int, ts: int) -> Iterator[str]:
    if not _active(minute):
        yield _agent("sh-silent", _healthy(minute * 60), ts)


def gateway_restarting(minute: int, ts: int) -> Iterator[str]:
    starts = [0, *(m for m in (START + 10, START + 15, START + 20) if m <= minute)]
    yield _agent("sh-restart", _healthy((minute - starts[-1]) * 60 + 5), ts)


def device_down(minute: int, ts: int) -> Iterator[str]:
    """classroom-1 stops answering through the state; so does the sensor of room 202 behind
    the wildcard device ``wireless-iaq``, whose broker session stays up."""
    on = _active(minute)
    silent = (minute - START) * 60 if on else 3
    yield _device(
        "edge_agent_device",
        "sh-devdown",
        "classroom-1",
        "classroom-iaq",
        "A",
        "101",
        f"up={0 if on else 1},alive={0 if on else 1},consecutive_failures={silent // 10},"
        f"silent_s={silent},interval_s=10,fields_sent={minute * 6},fields_suppressed=0",
        ts,
    )
    yield from _wireless("sh-devdown", {"201": 1, "202": 0 if on else 1}, minute, ts)


def _wireless(school: str, sensors: dict[str, int], minute: int, ts: int) -> Iterator[str]:
    """A wildcard MQTT device's own point (session up) and one per sensor (room: alive)."""
    tags = f"school={school},campus=main,device=wireless-iaq,kind=wireless-iaq"
    yield (
        f"edge_agent_device,{tags} up=1,alive=1,consecutive_failures=0,silent_s=20,interval_s=60,"
        f"fields_sent={minute * 4},fields_suppressed={minute * 8} {ts}"
    )
    for room, alive in sensors.items():
        silent = 20 if alive else 400
        yield f"edge_agent_device,{tags},building=B,room={room} alive={alive},silent_s={silent} {ts}"


def quiet(minute: int, ts: int) -> Iterator[str]:
    """A healthy school whose devices have nothing new to say: rig-1, an OPC UA subscription
    (alive, no reading since minute 0), classrooms and sensors reporting on change."""
    yield _agent(QUIET, _healthy(minute * 60), ts)
    yield _device(
        "edge_agent_device",
        QUIET,
        "rig-1",
        "opcua-plc-rig",
        "T",
        "plc-lab-1",
        f"up=1,alive=1,consecutive_failures=0,silent_s={minute * 60},interval_s=2,"
        f"fields_sent=12,fields_suppressed={minute * 360}",
        ts,
    )
    yield _device(
        "edge_agent_device",
        QUIET,
        "classroom-1",
        "classroom-iaq",
        "A",
        "101",
        f"up=1,alive=1,consecutive_failures=0,silent_s={(minute % HEARTBEAT) * 60},interval_s=10,"
        f"fields_sent={minute},fields_suppressed={minute * 30}",
        ts,
    )
    yield from _wireless(QUIET, {"201": 1, "202": 1}, minute, ts)
    if minute % HEARTBEAT == 0:
        yield _device(
            "classroom_env",
            QUIET,
            "classroom-1",
            "classroom-iaq",
            "A",
            "101",
            "temperature_c=20.5,humidity_pct=45,co2_ppm=650,pm25_ugm3=12,noise_db=48,light_lux=420",
            ts,
        )


def buffer_backlog(minute: int, ts: int) -> Iterator[str]:
    age = (minute - START) * 60 if _active(minute) else 0
    yield _agent(
        "sh-backlog", _healthy(minute * 60).replace("buffer_oldest_age_s=0", f"buffer_oldest_age_s={age}"), ts
    )


def counters(minute: int, ts: int) -> Iterator[str]:
    """Drops and dead letters once at START; refused credentials all through the state."""
    hit = minute >= START
    yield _agent(
        "sh-dropped",
        _healthy(minute * 60).replace("points_dropped=0", f"points_dropped={500 if hit else 0}"),
        ts,
    )
    yield _agent(
        "sh-dead",
        _healthy(minute * 60).replace("points_dead_lettered=0", f"points_dead_lettered={7 if hit else 0}"),
        ts,
    )
    refused = 2 * (min(minute, END) - START) if hit else 0
    yield _agent(
        "sh-auth", _healthy(minute * 60).replace("sink_auth_failures=0", f"sink_auth_failures={refused}"), ts
    )


def classroom(minute: int, ts: int) -> Iterator[str]:
    """CO2, PM2.5 and (winter, school hours) temperature out of bounds, each in its own school."""
    on = _active(minute)
    normal = "temperature_c=20.5,humidity_pct=45,co2_ppm=650,pm25_ugm3=12,noise_db=48,light_lux=420"
    for school, field, bad in (
        ("sh-co2", "co2_ppm=650", "co2_ppm=1250"),
        ("sh-pm25", "pm25_ugm3=12", "pm25_ugm3=95"),
        ("sh-temp", "temperature_c=20.5", "temperature_c=27.5"),
    ):
        fields = normal.replace(field, bad) if on else normal
        yield _device("classroom_env", school, "classroom-1", "classroom-iaq", "A", "101", fields, ts)


def machine(minute: int, ts: int) -> Iterator[str]:
    on = _active(minute)
    yield _device(
        "training_machine",
        "sh-alarm",
        "machine-1",
        "training-machine",
        "T",
        "lab-1",
        f"running={'false' if on else 'true'},alarm={'true' if on else 'false'},"
        f"spindle_rpm={0 if on else 2400},spindle_load_pct={0 if on else 35},"
        f"run_time_h={100 + minute / 60:.3f},alarm_code={1021 if on else 0}",
        ts,
    )


def hvac(minute: int, ts: int) -> Iterator[str]:
    """An air-handling unit in alarm, and a zone 5 K above its setpoint, each in its own school."""
    on = _active(minute)
    yield _device(
        "hvac",
        "sh-hvac-alarm",
        "ahu-1",
        "bacnet-ahu",
        "A",
        "plant-1",
        f"supply_air_temp_c=16.2,fan_running=true,alarm={'true' if on else 'false'},mode_code=4",
        ts,
    )
    yield _device(
        "hvac",
        "sh-hvac-zone",
        "vav-1",
        "bacnet-vav",
        "A",
        "101",
        f"zone_temp_c={27.0 if on else 22.4},zone_setpoint_c=22,airflow_m3h=1400,occupied=true,alarm=false",
        ts,
    )


def ups(minute: int, ts: int) -> Iterator[str]:
    """On battery through the state; the charge falls under 30 % in its second half."""
    on = _active(minute)
    charge = max(5, 100 - 2 * (minute - START)) if on else 100
    state = "batteryLow" if on and charge < 30 else "batteryNormal"
    tags = f",battery_state={state},power_source={'battery' if on else 'normal'},ups_model=SIM-3000"
    yield _device(
        "ups",
        "sh-ups",
        "ups-1",
        "ups",
        "A",
        "closet-1",
        f"battery_status={3 if state == 'batteryLow' else 2},battery_charge_pct={charge},"
        f"battery_runtime_min={charge // 2},on_battery_s={(minute - START) * 60 if on else 0},"
        f"input_voltage_v={0 if on else 229.5},output_source={5 if on else 3},"
        f"output_voltage_v=230,output_load_pct=40",
        ts,
        tags,
    )


def switch(minute: int, ts: int) -> Iterator[str]:
    """Port 3 errors through the state (sh-swerr); port 5 down through it (sh-swdown)."""
    on = _active(minute)
    port = (
        ",if_index={i},if_name=Gi1/0/{i},if_alias=A30{i},if_type=ethernetCsmacd,oper_state={s},admin_state=up"
    )
    yield _device(
        "network_interface",
        "sh-swerr",
        "switch-1",
        "switch",
        "A",
        "closet-1",
        f"in_bps=1200000,out_bps=800000,in_errors_ps={6 if on else 0},out_errors_ps=0,"
        f"oper_status=1,admin_status=1,speed_bps=1000000000",
        ts,
        port.format(i=3, s="up"),
    )
    state, code = ("down", 2) if on else ("up", 1)
    yield _device(
        "network_interface",
        "sh-swdown",
        "switch-1",
        "switch",
        "A",
        "closet-1",
        f"in_bps={0 if on else 900000},out_bps={0 if on else 500000},in_errors_ps=0,"
        f"out_errors_ps=0,oper_status={code},admin_status=1,speed_bps=1000000000",
        ts,
        port.format(i=5, s=state),
    )


SCENARIOS: dict[str, Scenario] = {
    "GatewaySilent": gateway_silent,
    "GatewayRestarting": gateway_restarting,
    "DeviceDown": device_down,
    "BufferBacklog": buffer_backlog,
    "ReadingsDropped": counters,
    "DeadLetters": counters,
    "SinkAuthFailing": counters,
    "ClassroomCO2High": classroom,
    "ClassroomPM25High": classroom,
    "ClassroomTemperatureOutOfRange": classroom,
    "TrainingMachineAlarm": machine,
    "UpsOnBattery": ups,
    "UpsBatteryLow": ups,
    "SwitchPortErrors": switch,
    "SwitchPortDown": switch,
    "HvacUnitAlarm": hvac,
    "HvacZoneTemperatureOutOfRange": hvac,
}
#: Healthy schools, in which no alert may fire.
HEALTHY: tuple[Scenario, ...] = (quiet,)
#: The school each alert's state is in.
SCHOOL = {
    "GatewaySilent": "sh-silent",
    "GatewayRestarting": "sh-restart",
    "DeviceDown": "sh-devdown",
    "BufferBacklog": "sh-backlog",
    "ReadingsDropped": "sh-dropped",
    "DeadLetters": "sh-dead",
    "SinkAuthFailing": "sh-auth",
    "ClassroomCO2High": "sh-co2",
    "ClassroomPM25High": "sh-pm25",
    "ClassroomTemperatureOutOfRange": "sh-temp",
    "TrainingMachineAlarm": "sh-alarm",
    "UpsOnBattery": "sh-ups",
    "UpsBatteryLow": "sh-ups",
    "SwitchPortErrors": "sh-swerr",
    "SwitchPortDown": "sh-swdown",
    "HvacUnitAlarm": "sh-hvac-alarm",
    "HvacZoneTemperatureOutOfRange": "sh-hvac-zone",
}


def schools(alert: str) -> tuple[str, ...]:
    """The schools the alert must fire for: its own, and its twin reporting on change."""
    school = SCHOOL[alert]
    return (school, school + ON_CHANGE) if school in _DEVICE_SCHOOLS else (school,)


#: Schools whose scenario writes device readings (not only the gateway's own points).
_DEVICE_SCHOOLS = {
    "sh-co2",
    "sh-pm25",
    "sh-temp",
    "sh-alarm",
    "sh-ups",
    "sh-swerr",
    "sh-swdown",
    "sh-hvac-alarm",
    "sh-hvac-zone",
}


def lines(start_ms: int) -> list[str]:
    """Every scenario's points from ``start_ms``, a minute apart, and the on-change twins."""
    out: list[str] = []
    twins = _OnChange()
    for minute in range(MINUTES + 1):
        ts = start_ms + minute * 60_000
        for scenario in (*dict.fromkeys(SCENARIOS.values()), *HEALTHY):
            for line in scenario(minute, ts):
                out.append(line)
                if twin := twins.send(line, minute):
                    out.append(twin)
    return out


class _OnChange:
    """The agent's report on change, per series: a field goes out when it changed since it was
    last sent or its heartbeat is due; a point with nothing to send is not sent."""

    def __init__(self) -> None:
        self._sent: dict[str, dict[str, tuple[str, int]]] = {}

    def send(self, line: str, minute: int) -> str | None:
        """The twin school's line for ``line`` (device readings only), or None."""
        series, fields, ts = line.split(" ")
        school = next(tag.partition("=")[2] for tag in series.split(",") if tag.startswith("school="))
        if school not in _DEVICE_SCHOOLS or series.startswith("edge_agent"):
            return None
        series = series.replace(f"school={school},", f"school={school}{ON_CHANGE},")
        sent = self._sent.setdefault(series, {})
        kept = []
        for pair in fields.split(","):
            name, _, value = pair.partition("=")
            last = sent.get(name)
            if last is None or last[0] != value or minute - last[1] >= HEARTBEAT:
                sent[name] = (value, minute)
                kept.append(pair)
        return f"{series} {','.join(kept)} {ts}" if kept else None
