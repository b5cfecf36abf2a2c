"""Request planning: as few reads as the protocol limits and max_gap allow."""

from drivers.modbus.config import Register
from drivers.modbus.planner import plan


def r(field: str, address: int, table: str = "input", kind: str | None = "uint16") -> Register:
    data = {"field": field, "table": table, "address": address}
    if kind:
        data["type"] = kind
    return Register.model_validate(data)


def test_neighbours_share_one_read() -> None:
    requests = plan([r("a", 0, kind="float32"), r("b", 2, kind="float32"), r("c", 4)], max_gap=0)
    assert [(q.table, q.address, q.count) for q in requests] == [("input", 0, 5)]
    slots = [(s.field, s.offset, s.width) for s in requests[0].slots]
    assert slots == [("a", 0, 2), ("b", 2, 2), ("c", 4, 1)]


def test_a_gap_wider_than_max_gap_splits() -> None:
    registers = [r("a", 0, kind="float32"), r("total", 52, kind="float32"), r("kwh", 72, kind="float32")]
    assert [(q.address, q.count) for q in plan(registers, max_gap=16)] == [(0, 2), (52, 2), (72, 2)]
    assert [(q.address, q.count) for q in plan(registers, max_gap=49)] == [(0, 2), (52, 22)]
    assert [(q.address, q.count) for q in plan(registers, max_gap=50)] == [(0, 74)]


def test_tables_are_read_separately() -> None:
    requests = plan([r("a", 0, "holding"), r("b", 0, "input"), r("c", 1, "discrete", None)], max_gap=16)
    assert sorted((q.table, q.address, q.count) for q in requests) == [
        ("discrete", 1, 1), ("holding", 0, 1), ("input", 0, 1),
    ]


def test_no_read_exceeds_125_registers() -> None:
    registers = [r(f"f{i}", i * 2, kind="float32") for i in range(100)]
    requests = plan(registers, max_gap=16)
    assert all(q.count <= 125 for q in requests)
    assert sum(len(q.slots) for q in requests) == 100
    assert len(requests) == 2


def test_bits_may_span_2000() -> None:
    registers = [r(f"b{i}", i * 10, "coil", None) for i in range(150)]
    requests = plan(registers, max_gap=16)
    assert [(q.address, q.count) for q in requests] == [(0, 1491)]
