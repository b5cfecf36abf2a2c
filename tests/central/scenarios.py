"""A day at the city store in which every alert's state comes and goes, as the agent writes it.

Each alert gets a school of its own, so its firing can be told apart from the others'. The
points are line protocol with the agent's measurements, fields and tags (docs/schema.md),
one a minute for each series, over :data:`MINUTES`; the state each alert is for holds in
minutes ``[START, END)`` and is gone afterwards, so the alert must fire in between and be
resolved by the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

MINUTES = 150
START, END = 30, 90
VERSION = "0.1.0"

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
    silent = (minute - START) * 60 if _active(minute) else 3
    yield _device(
        "edge_agent_device",
        "sh-devdown",
        "classroom-1",
        "classroom-iaq",
        "A",
        "101",
        f"up={0 if _active(minute) else 1},consecutive_failures={silent // 10},"
        f"silent_s={silent},interval_s=10",
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


def lines(start_ms: int) -> list[str]:
    """Every scenario's points from ``start_ms``, a minute apart, each series once a minute."""
    out: list[str] = []
    for minute in range(MINUTES + 1):
        ts = start_ms + minute * 60_000
        for scenario in dict.fromkeys(SCENARIOS.values()):
            out.extend(scenario(minute, ts))
    return out
