"""How many objects go into one ReadPropertyMultiple: the device's max APDU and segmentation decide.

A request names each object (5 octets), its list of properties (2 octets) and each property
(2-3 octets); the answer carries each object, each property and its value or error. The
request must fit unsegmented in the device's max APDU (the agent never segments a request:
many controllers cannot take one), and the answer in the device's max APDU, or, when the
device can send segmented answers, in as many segments as the agent accepts. The sizes
below are upper bounds of the encoding (BACnet clause 20.2), so a planned request is never
refused for its size by a device that told the truth in its I-Am; one that did not is
handled by the session, which halves and remembers.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Budget", "chunks"]

#: Confirmed-request and complex-ack headers, and a margin for the NPDU of a routed device.
REQUEST_HEADER = 4 + 8
ANSWER_HEADER = 3 + 8
#: Object identifier with its context tag, and the opening/closing tags of its list.
PER_OBJECT = 5 + 2
#: A property reference in a request (identifiers above 255 take three octets).
PER_REFERENCE = 3
#: A property in an answer: its identifier, the opening/closing tags, and the largest number
#: value (a Double) or an error (class and code).
PER_VALUE = 3 + 2 + 9
#: A text value (a state's name, a character string): the answer budgets this much for it.
PER_TEXT = 3 + 2 + 80


@dataclass(frozen=True, slots=True)
class Budget:
    """What one request may hold for this device."""

    max_apdu: int
    segmented_answers: bool
    max_segments: int
    max_objects: int

    @property
    def answer_octets(self) -> int:
        """Octets an answer may take."""
        return self.max_apdu * (self.max_segments if self.segmented_answers else 1)


def chunks(items: list[tuple[int, int]], budget: Budget) -> list[int]:
    """Sizes of consecutive requests for ``items`` = (properties, of which text) per object."""
    sizes: list[int] = []
    count = request = answer = 0
    for properties, texts in items:
        ask = PER_OBJECT + PER_REFERENCE * properties
        get = PER_OBJECT + PER_VALUE * (properties - texts) + PER_TEXT * texts
        full = (
            count >= budget.max_objects
            or REQUEST_HEADER + request + ask > budget.max_apdu
            or ANSWER_HEADER + answer + get > budget.answer_octets
        )
        if full and count:
            sizes.append(count)
            count = request = answer = 0
        count += 1
        request += ask
        answer += get
    if count:
        sizes.append(count)
    return sizes
