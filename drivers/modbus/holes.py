"""Splitting a refused read around the addresses the device does not have.

A device answers exception 2 (illegal data address) to a read that touches any address it
lacks, even one in the gap between two wanted values. Given a refused request, this finds
the fewest pieces, in address order, that the device does answer:

from the first value on, the longest run of values that reads in one request is found by
bisection (a run that reads implies every shorter run from the same start reads too), kept
as one piece, and the search goes on after it. A value that is refused even alone is
returned as refused. Greedy longest runs give the fewest pieces for such "contiguous"
problems; each piece costs about log2(values) probe reads, once, since the driver keeps the
pieces as its plan. The probe reads that succeed provide this poll's values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .planner import Request, Slot, sub_request


@dataclass(frozen=True, slots=True)
class Refused:
    """The device refused a read with this exception code (1, 2 or 3)."""

    code: int


Values = list[int] | list[bool]
Read = Callable[[Request], Awaitable[Values | Refused]]


async def split_around_holes(request: Request, read: Read) -> tuple[list[tuple[Request, Values]], list[Slot]]:
    """Pieces of ``request`` that read (with their values), and the slots refused alone.

    ``request`` itself is known to be refused. ``read`` raises for anything other than a
    refusal (a timeout fails the poll as usual).
    """
    slots = request.slots
    count = len(slots)
    pieces: list[tuple[Request, Values]] = []
    refused: list[Slot] = []
    first = 0
    while first < count:
        if first > 0:
            # After a hole, the rest often reads in one piece: try that first.
            rest = sub_request(request, first, count)
            answer = await read(rest)
            if not isinstance(answer, Refused):
                pieces.append((rest, answer))
                break
        # Invariant: slots[first:low] read in one request (or low == first), [first:high] do not.
        low, high = first, count
        best: tuple[Request, Values] | None = None
        while high - low > 1:
            middle = (low + high) // 2
            piece = sub_request(request, first, middle)
            answer = await read(piece)
            if isinstance(answer, Refused):
                high = middle
            else:
                low, best = middle, (piece, answer)
        if best is None:
            refused.append(slots[first])
            first += 1
        else:
            pieces.append(best)
            first = low
    return pieces, refused
