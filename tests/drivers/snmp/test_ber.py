"""The driver's SNMPv1/v2c codec, checked against pysnmp/pyasn1 as an independent implementation.

Requests must be byte for byte what pysnmp encodes; Responses pyasn1 encodes must decode
to the values they hold, for every type and at the edges of each range; and no input at
all (random, truncated, mutated) may raise anything but BerError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import encoder  # type: ignore[import-untyped]
from pysnmp.proto import api, rfc1902, rfc1905  # type: ignore[import-untyped]

from drivers.snmp import ber
from drivers.snmp.convert import Raw
from simulators.snmp import ber as agent_ber

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
IF_IN_OCTETS = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10)


def pysnmp_request(
    pdu: int,
    version: int,
    community: str,
    request_id: int,
    oids: Sequence[tuple[int, ...]],
    max_repetitions: int = 0,
) -> bytes:
    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_1 if version == 0 else api.SNMP_VERSION_2C]
    if pdu == ber.GET_BULK:
        message_pdu = proto.GetBulkRequestPDU()
        proto.apiBulkPDU.set_defaults(message_pdu)
        proto.apiBulkPDU.set_non_repeaters(message_pdu, 0)
        proto.apiBulkPDU.set_max_repetitions(message_pdu, max_repetitions)
    else:
        message_pdu = (proto.GetRequestPDU if pdu == ber.GET else proto.GetNextRequestPDU)()
        proto.apiPDU.set_defaults(message_pdu)
    proto.apiPDU.set_request_id(message_pdu, request_id)
    proto.apiPDU.set_varbinds(message_pdu, [(oid, proto.Null("")) for oid in oids])
    return _message(proto, community, message_pdu)


def pysnmp_response(
    varbinds: Sequence[tuple[tuple[int, ...], Any]],
    version: int = 1,
    community: str = "public",
    request_id: int = 1,
    status: int = 0,
    index: int = 0,
) -> bytes:
    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_1 if version == 0 else api.SNMP_VERSION_2C]
    pdu = proto.GetResponsePDU()
    proto.apiPDU.set_defaults(pdu)
    proto.apiPDU.set_request_id(pdu, request_id)
    proto.apiPDU.set_error_status(pdu, status)
    proto.apiPDU.set_error_index(pdu, index)
    proto.apiPDU.set_varbinds(pdu, varbinds)
    return _message(proto, community, pdu)


def _message(proto: Any, community: str, pdu: Any) -> bytes:
    message = proto.Message()
    proto.apiMessage.set_defaults(message)
    proto.apiMessage.set_community(message, community)
    proto.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


# --- encoding -------------------------------------------------------------------------------


def test_a_get_request_is_the_bytes_worked_out_by_hand() -> None:
    # SEQUENCE { version 1, "public", GetRequest { id 7, 0, 0, { { 1.3.6.1.2.1.1.3.0, NULL } } } }
    expected = bytes.fromhex(
        "302602010104067075626c6963a019020107020100020100300e300c06082b060102010103000500"
    )
    assert ber.encode_request(ber.V2C, b"public", ber.GET, 7, [SYS_UPTIME]) == expected


@pytest.mark.parametrize(
    ("pdu", "version"),
    [
        (ber.GET, ber.V1),
        (ber.GET_NEXT, ber.V1),
        (ber.GET, ber.V2C),
        (ber.GET_NEXT, ber.V2C),
        (ber.GET_BULK, ber.V2C),
    ],
)
def test_requests_match_what_pysnmp_encodes(pdu: int, version: int) -> None:
    oids = [SYS_UPTIME, (*IF_IN_OCTETS, 4_294_967_295), (2, 999, 128, 16_383, 16_384), (0, 0)]
    for community, request_id, repetitions in (
        ("public", 1, 25),
        ("c" * 200, 2**31 - 1, 2**31 - 1),
        ("", 123_456, 0),
    ):
        ours = ber.encode_request(version, community.encode(), pdu, request_id, oids, repetitions)
        theirs = pysnmp_request(
            pdu, version, community, request_id, oids, repetitions if pdu == ber.GET_BULK else 0
        )
        assert ours == theirs, (community[:8], request_id)


def test_a_request_with_many_oids_uses_long_form_lengths_as_pysnmp_does() -> None:
    oids = [(*IF_IN_OCTETS, port) for port in range(1, 60)]
    ours = ber.encode_request(ber.V2C, b"public", ber.GET_BULK, 99, oids, 25)
    assert ours[1] == 0x82  # a two-octet length: the message is over 255 bytes
    assert ours == pysnmp_request(ber.GET_BULK, ber.V2C, "public", 99, oids, 25)


@pytest.mark.parametrize("oid", [(1,), (3, 1), (1, 40), (1, 3, -1), (1, 3, 2**32), tuple(range(1, 130))])
def test_an_oid_that_cannot_be_encoded_is_refused(oid: tuple[int, ...]) -> None:
    with pytest.raises(ber.BerError):
        ber.encode_oid(oid)


def test_snmpv1_has_no_getbulk() -> None:
    with pytest.raises(ber.BerError, match="no GetBulkRequest"):
        ber.encode_request(ber.V1, b"public", ber.GET_BULK, 1, [SYS_UPTIME], 10)


# --- decoding what pyasn1 encodes -----------------------------------------------------------


V2C_VALUES: list[tuple[Any, Raw]] = [
    (rfc1902.Integer32(-(2**31)), Raw("integer", -(2**31))),
    (rfc1902.Integer32(2**31 - 1), Raw("integer", 2**31 - 1)),
    (rfc1902.Integer32(-1), Raw("integer", -1)),
    (rfc1902.Integer32(0), Raw("integer", 0)),
    (rfc1902.Counter32(2**32 - 1), Raw("counter32", 2**32 - 1)),  # 00 ff ff ff ff
    (rfc1902.Counter32(128), Raw("counter32", 128)),
    (rfc1902.Gauge32(2**32 - 1), Raw("gauge", 2**32 - 1)),
    (rfc1902.Unsigned32(7), Raw("gauge", 7)),  # Unsigned32 shares Gauge32's tag
    (rfc1902.TimeTicks(2**32 - 1), Raw("timeticks", 2**32 - 1)),
    (rfc1902.Counter64(2**64 - 1), Raw("counter64", 2**64 - 1)),  # 9 octets
    (rfc1902.Counter64(0), Raw("counter64", 0)),
    (rfc1902.IpAddress("10.0.255.1"), Raw("ipaddress", bytes([10, 0, 255, 1]))),
    (rfc1902.OctetString(b""), Raw("octets", b"")),
    (rfc1902.OctetString(b"\x00\xff" * 200), Raw("octets", b"\x00\xff" * 200)),  # long-form length
    (rfc1902.Opaque(b"\x9f\x78\x04\x3f\x80\x00\x00"), Raw("opaque", b"\x9f\x78\x04\x3f\x80\x00\x00")),
    (
        rfc1902.ObjectIdentifier((1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)),
        Raw("oid", (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)),
    ),
    (rfc1902.ObjectIdentifier((2, 999, 2**32 - 1)), Raw("oid", (2, 999, 2**32 - 1))),
    (rfc1905.noSuchObject, Raw("nosuchobject")),
    (rfc1905.noSuchInstance, Raw("nosuchinstance")),
    (rfc1905.endOfMibView, Raw("endofmibview")),
    (rfc1902.Null(""), Raw("octets", b"")),  # as pysnmp handed NULLs over
]


@pytest.mark.parametrize(("value", "expected"), V2C_VALUES, ids=[repr(raw) for _, raw in V2C_VALUES])
def test_every_v2c_type_pyasn1_encodes_decodes_to_its_raw_value(value: Any, expected: Raw) -> None:
    name = (1, 3, 6, 1, 4, 1, 9, 2**32 - 1, 300, 1)  # multi-octet arcs in the name too
    message = ber.decode_response(pysnmp_response([(name, value)], request_id=-5))
    assert message.version == ber.V2C and message.community == b"public" and message.request_id == -5
    assert message.varbinds == [(name, expected)]


def test_snmpv1_values_decode_the_same() -> None:
    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
    values = [
        proto.Counter(2**32 - 1),
        proto.Gauge(5),
        proto.TimeTicks(100),
        proto.Integer(-42),
        proto.IpAddress("192.168.1.1"),
        proto.OctetString(b"lab"),
        proto.ObjectIdentifier((1, 3, 6)),
    ]
    data = pysnmp_response(
        [((1, 3, 6, 1, 2, 1, 1, i), v) for i, v in enumerate(values)],
        version=0,
        community="secret",
        request_id=2**31 - 1,
    )
    message = ber.decode_response(data)
    assert (message.version, message.community, message.request_id) == (ber.V1, b"secret", 2**31 - 1)
    assert [raw for _, raw in message.varbinds] == [
        Raw("counter32", 2**32 - 1),
        Raw("gauge", 5),
        Raw("timeticks", 100),
        Raw("integer", -42),
        Raw("ipaddress", bytes([192, 168, 1, 1])),
        Raw("octets", b"lab"),
        Raw("oid", (1, 3, 6)),
    ]


@pytest.mark.parametrize("status", range(19))
def test_error_statuses_carry_the_names_pysnmp_gave_them(status: int) -> None:
    data = pysnmp_response([(SYS_UPTIME, rfc1902.Null(""))], status=status, index=1)
    message = ber.decode_response(data)
    assert (message.error_status, message.error_index) == (status, 1)
    assert ber.status_name(status) == str(api.v2c.apiPDU.get_error_status(_pdu_of(data)))


def test_an_error_status_without_a_name_is_its_number() -> None:
    assert ber.status_name(42) == "42"


def _pdu_of(data: bytes) -> Any:
    from pyasn1.codec.ber import decoder

    message, _ = decoder.decode(data, asn1Spec=api.v2c.Message())
    return api.v2c.apiMessage.get_pdu(message)


def test_an_answer_of_800_values_decodes_in_one_pass() -> None:
    varbinds = [((*IF_IN_OCTETS, port), rfc1902.Counter32(port * 1000)) for port in range(1, 801)]
    message = ber.decode_response(memoryview(pysnmp_response(varbinds)))  # a memoryview works too
    assert len(message.varbinds) == 800
    assert message.varbinds[-1] == ((*IF_IN_OCTETS, 800), Raw("counter32", 800_000))


# --- strictness -----------------------------------------------------------------------------


def _varbind(value_tlv: str) -> bytes:
    """A v2c Response of one varbind (sysUpTime.0) whose value is the hex ``value_tlv``."""
    value = bytes.fromhex(value_tlv)
    oid = bytes.fromhex("06082b06010201010300")
    varbind = agent_ber.tlv(0x30, oid + value)
    pdu = agent_ber.tlv(0xA2, bytes.fromhex("020101020100020100") + agent_ber.tlv(0x30, varbind))
    return agent_ber.tlv(0x30, bytes.fromhex("02010104067075626c6963") + pdu)


def test_the_helper_builds_a_valid_message() -> None:
    assert ber.decode_response(_varbind("4104 0000 0001".replace(" ", ""))).varbinds == [
        (SYS_UPTIME, Raw("counter32", 1))
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("4105 0100000000", "out of range"),  # Counter32 of 2^32
        ("4104 ffffffff", "out of range"),  # a negative Counter32
        ("4600", "empty integer"),
        ("460a 00ffffffffffffffffff", "integer of 10 octets"),
        ("0205 0080000000", "does not fit in 32 bits"),  # INTEGER of 2^31
        ("4005 0a00000001", "IpAddress"),
        ("8001 00", "must be empty"),
        ("4701 00", "unknown value type 0x47"),
        ("2400", "unknown value type 0x24"),  # a constructed OCTET STRING
        ("0603 2b8006", "leading 0x80"),
        ("0602 2b86", "ends inside"),
        ("0600", "empty OBJECT IDENTIFIER"),
        ("0606 2b9080808000", "out of range"),  # an arc past 2^32-1
    ],
)
def test_a_malformed_value_is_a_ber_error(value: str, reason: str) -> None:
    with pytest.raises(ber.BerError, match=reason):
        ber.decode_response(_varbind(value.replace(" ", "")))


def test_a_counter64_in_nine_octets_with_a_leading_zero_is_fine() -> None:
    ((_, raw),) = ber.decode_response(_varbind("4609 00ffffffffffffffff")).varbinds
    assert raw == Raw("counter64", 2**64 - 1)


GOOD = pysnmp_response([(SYS_UPTIME, rfc1902.TimeTicks(12345)), (IF_IN_OCTETS, rfc1902.Counter64(2**40))])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no SEQUENCE"),
        (GOOD + b"\x00", "does not match the datagram"),  # trailing bytes
        (GOOD[:-1], "does not match the datagram"),  # truncated
        (b"\x30\x80" + GOOD[2:] + b"\x00\x00", "indefinite length"),
        (b"\x30\x85\x00\x00\x00\x00\x10", "more than 4 octets"),
        (b"\x30\x84\x00\x00\xff\xff" + GOOD[2:], "does not match the datagram"),  # a length past the buffer
        (b"\x30\x83\x00", "truncated"),
        (pysnmp_request(ber.GET, 1, "public", 1, [SYS_UPTIME]), "not a Response PDU"),
        (b"\x30\x03\x02\x01\x03", "version 3"),
        (b"\x31" + GOOD[1:], "no SEQUENCE"),
    ],
)
def test_a_malformed_message_is_a_ber_error(data: bytes, reason: str) -> None:
    with pytest.raises(ber.BerError, match=reason):
        ber.decode_response(data)


def test_a_varbind_with_trailing_octets_is_a_ber_error() -> None:
    value = bytes.fromhex("430100")
    oid = bytes.fromhex("06082b06010201010300")
    varbind = agent_ber.tlv(0x30, oid + value + b"\x05\x00")  # a third element in the varbind
    pdu = agent_ber.tlv(0xA2, bytes.fromhex("020101020100020100") + agent_ber.tlv(0x30, varbind))
    data = agent_ber.tlv(0x30, bytes.fromhex("02010104067075626c6963") + pdu)
    with pytest.raises(ber.BerError, match="varbind length"):
        ber.decode_response(data)


# --- properties -----------------------------------------------------------------------------

arcs = st.integers(0, 2**32 - 1)
#: X.Y... with X of 0 or 1 (Y under 40), or 2 (any Y): every first sub-identifier BER allows.
oids = st.builds(
    lambda first, second, rest: (first, second, *rest),
    st.integers(0, 1),
    st.integers(0, 39),
    st.lists(arcs, max_size=20),
) | st.builds(lambda second, rest: (2, second, *rest), arcs, st.lists(arcs, max_size=5))
values = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(lambda v: ((agent_ber.INTEGER, v), Raw("integer", v))),
    st.integers(0, 2**32 - 1).map(lambda v: ((agent_ber.COUNTER32, v), Raw("counter32", v))),
    st.integers(0, 2**32 - 1).map(lambda v: ((agent_ber.GAUGE32, v), Raw("gauge", v))),
    st.integers(0, 2**32 - 1).map(lambda v: ((agent_ber.TIMETICKS, v), Raw("timeticks", v))),
    st.integers(0, 2**64 - 1).map(lambda v: ((agent_ber.COUNTER64, v), Raw("counter64", v))),
    st.binary(max_size=300).map(lambda v: ((agent_ber.OCTET_STRING, v), Raw("octets", v))),
    st.binary(min_size=4, max_size=4).map(lambda v: ((agent_ber.IP_ADDRESS, v), Raw("ipaddress", v))),
    oids.map(lambda v: ((agent_ber.OBJECT_ID, v), Raw("oid", v))),
    st.sampled_from(
        [
            ((agent_ber.NO_SUCH_OBJECT, None), Raw("nosuchobject")),
            ((agent_ber.END_OF_MIB_VIEW, None), Raw("endofmibview")),
        ]
    ),
)
varbind_lists = st.lists(st.tuples(oids, values), max_size=30)


def _agent_encoded(varbinds: list[tuple[tuple[int, ...], Any]], request_id: int, community: bytes) -> bytes:
    request = agent_ber.Request(1, community, agent_ber.GET, request_id, 0, 0, [])
    return agent_ber.encode_response(
        request, [agent_ber.encode_varbind(oid, value) for oid, (value, _) in varbinds]
    )


@given(varbind_lists, st.integers(-(2**31), 2**31 - 1), st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_what_the_simulators_codec_encodes_decodes_to_the_same_values(
    varbinds: list[tuple[tuple[int, ...], Any]], request_id: int, community: bytes
) -> None:
    message = ber.decode_response(_agent_encoded(varbinds, request_id, community))
    assert (message.request_id, message.community) == (request_id, community)
    assert message.varbinds == [(oid, raw) for oid, (_, raw) in varbinds]


@given(oids)
@settings(max_examples=300, deadline=None)
def test_an_encoded_oid_decodes_back_to_itself(oid: tuple[int, ...]) -> None:
    assert agent_ber.encode_oid(oid) == ber.encode_oid(oid)
    data = _agent_encoded([(oid, ((agent_ber.OBJECT_ID, oid), Raw("oid", oid)))], 1, b"x")
    assert ber.decode_response(data).varbinds == [(oid, Raw("oid", oid))]


def _only_ber_errors(data: bytes) -> None:
    try:
        message = ber.decode_response(data)
    except ber.BerError:
        return
    assert isinstance(message, ber.Message)


@given(st.binary(max_size=400))
@settings(max_examples=2000, deadline=None)
def test_random_bytes_raise_only_ber_error(data: bytes) -> None:
    _only_ber_errors(data)


@given(st.binary(max_size=200).map(lambda tail: b"\x30" + tail))
@settings(max_examples=1000, deadline=None)
def test_random_bytes_after_a_sequence_tag_raise_only_ber_error(data: bytes) -> None:
    _only_ber_errors(data)


@given(varbind_lists.filter(bool), st.data())
@settings(max_examples=300, deadline=None)
def test_every_truncation_of_a_valid_answer_is_a_ber_error(
    varbinds: list[tuple[tuple[int, ...], Any]], data: st.DataObject
) -> None:
    encoded = _agent_encoded(varbinds, 7, b"public")
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(ber.BerError):
        ber.decode_response(encoded[:cut])


@given(varbind_lists.filter(bool), st.data())
@settings(max_examples=1000, deadline=None)
def test_a_mutated_valid_answer_raises_only_ber_error(
    varbinds: list[tuple[tuple[int, ...], Any]], data: st.DataObject
) -> None:
    encoded = bytearray(_agent_encoded(varbinds, 7, b"public"))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(encoded) - 1))
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        if action == "replace":
            encoded[position] = data.draw(st.integers(0, 255))
        elif action == "insert":
            encoded[position:position] = data.draw(st.binary(min_size=1, max_size=4))
        elif len(encoded) > 1:
            del encoded[position]
    _only_ber_errors(bytes(encoded))
