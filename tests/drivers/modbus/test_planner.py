"""Request planning: as few reads as the protocol limits and max_gap allow."""

from drivers.modbus.config import Register
from drivers.modbus.holes import Refused, split_around_holes
from drivers.modbus.planner import Request, plan, shared_plan, sub_request


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


def test_devices_reading_one_register_list_share_one_plan() -> None:
    registers = [r("a", 0, kind="float32"), r("b", 10, kind="float32")]
    first = shared_plan(registers, max_gap=16)
    assert shared_plan(registers, max_gap=16) is first
    assert [q.describe() for q in first] == [q.describe() for q in plan(registers, max_gap=16)]
    # Another list, even an equal one, or other limits: a plan of its own.
    assert shared_plan(list(registers), max_gap=16) is not first
    assert [(q.address, q.count) for q in shared_plan(registers, max_gap=4)] == [(0, 2), (10, 2)]


def test_a_gap_wider_than_max_gap_splits() -> None:
    registers = [r("a", 0, kind="float32"), r("total", 52, kind="float32"), r("kwh", 72, kind="float32")]
    assert [(q.address, q.count) for q in plan(registers, max_gap=16)] == [(0, 2), (52, 2), (72, 2)]
    assert [(q.address, q.count) for q in plan(registers, max_gap=49)] == [(0, 2), (52, 22)]
    assert [(q.address, q.count) for q in plan(registers, max_gap=50)] == [(0, 74)]


def test_tables_are_read_separately() -> None:
    requests = plan([r("a", 0, "holding"), r("b", 0, "input"), r("c", 1, "discrete", None)], max_gap=16)
    assert sorted((q.table, q.address, q.count) for q in requests) == [
        ("discrete", 1, 1),
        ("holding", 0, 1),
        ("input", 0, 1),
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


def test_a_device_limit_below_the_protocol_s_is_kept() -> None:
    registers = [r(f"f{i}", i * 2, kind="float32") for i in range(60)]
    requests = plan(registers, max_gap=16, max_registers=80)
    assert [(q.address, q.count) for q in requests] == [(0, 80), (80, 40)]


def test_a_sub_request_spans_only_its_values() -> None:
    [request] = plan([r("a", 0, kind="float32"), r("b", 10), r("c", 20, kind="float32")], max_gap=16)
    piece = sub_request(request, 1, 3)
    assert (piece.address, piece.count) == (10, 12)
    assert [(s.field, s.offset, s.address) for s in piece.slots] == [("b", 0, 10), ("c", 10, 20)]


class Device:
    """The rule a device applies: a read touching any address in ``holes`` is refused."""

    def __init__(self, holes: set[int]) -> None:
        self.holes = holes
        self.reads: list[tuple[int, int]] = []

    async def read(self, request: Request) -> list[int] | Refused:
        self.reads.append((request.address, request.count))
        if any(a in self.holes for a in range(request.address, request.end)):
            return Refused(2)
        return [0] * request.count


async def test_a_refused_read_is_split_into_the_fewest_pieces_around_a_hole() -> None:
    # The meter's map 0-17, 52-53, 70-73, read in one request; address 30 is not there.
    registers = [r(f"f{a}", a, kind="float32") for a in (*range(0, 18, 2), 52, 70, 72)]
    [request] = plan(registers, max_gap=60)
    device = Device({30})
    pieces, refused = await split_around_holes(request, device.read)
    assert [(p.address, p.count) for p, _ in pieces] == [(0, 18), (52, 22)]
    assert refused == []
    assert len(device.reads) <= 6  # a bisection, not one read per value


async def test_a_value_refused_alone_is_given_up_and_the_rest_kept() -> None:
    registers = [r(f"f{a}", a) for a in (0, 1, 2, 3, 4, 5)]
    [request] = plan(registers, max_gap=0)
    pieces, refused = await split_around_holes(request, Device({0, 3}).read)
    assert [(p.address, p.count) for p, _ in pieces] == [(1, 2), (4, 2)]
    assert [s.field for s in refused] == ["f0", "f3"]
