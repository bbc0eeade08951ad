"""Hostile input to the receiver's verifier and the SSRF guard (issue #17, items 3 and 4).

- `verify` raises nothing but `SignatureError`, whatever the headers and body (Hypothesis);
  a 400-digit or non-numeric timestamp is refused up front.
- Every IPv6 embedding of an internal IPv4 (mapped, compatible, 6to4, Teredo, NAT64, ISATAP)
  is refused like the IPv4 itself; embeddings of public IPv4 stay allowed.
"""

from __future__ import annotations

import contextlib
import ipaddress

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alerts.errors import MalformedSignature, SignatureError, TargetRefused
from alerts.signing import verify, webhook_headers
from alerts.targets import address_class, check_target, embedded_ipv4
from tests.alerts.conftest import SECRET

MSG_ID = "msg_hostile"
TS = 1_700_000_000
BODY = b'{"ok": true}'
GOOD = webhook_headers([SECRET], MSG_ID, TS, BODY)


@pytest.mark.parametrize(
    "timestamp",
    ["9" * 400, "1" * 21, "-5", "+1700000000", " 1700000000", "1_700_000_000", "١٧٠٠", "1e9",
     "0x10", "1700000000.5", "nan", "inf"],
)  # fmt: skip
def test_bad_timestamps_are_refused_up_front(timestamp: str) -> None:
    with pytest.raises(MalformedSignature, match="1 to 20 ASCII digits"):
        verify(SECRET, {**GOOD, "webhook-timestamp": timestamp}, BODY, now=TS)


def test_a_twenty_digit_timestamp_is_merely_stale() -> None:
    with pytest.raises(SignatureError, match="from now"):
        verify(SECRET, {**GOOD, "webhook-timestamp": "9" * 20}, BODY, now=TS)


header_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789", min_size=1, max_size=500),
    st.sampled_from([str(TS), GOOD["webhook-signature"], "v1,", "v1,%%%", "v1a,xx v1,yy"]),
    st.builds(lambda s: "v1," + s, st.text(max_size=80)),
)
headers = st.dictionaries(
    st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "other"]),
    header_text,
    max_size=4,
)


@given(headers=headers, body=st.binary(max_size=200), now=st.floats(allow_nan=True))
@example(headers={**GOOD, "webhook-timestamp": "4" * 400}, body=BODY, now=float(TS))
@example(headers={**GOOD, "webhook-id": "\ud800"}, body=BODY, now=float(TS))
@example(headers={**GOOD, "webhook-signature": "v1,\udcff"}, body=BODY, now=float(TS))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_verify_raises_only_signature_errors(
    headers: dict[str, str], body: bytes, now: float
) -> None:
    with contextlib.suppress(SignatureError):
        verify(SECRET, headers, body, now=now)


message_ids = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=40
)


@given(message_ids, st.binary(max_size=40))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_verify_accepts_what_we_sign(msg_id: str, body: bytes) -> None:
    signed = webhook_headers([SECRET], msg_id, TS, body)
    assert verify(SECRET, signed, body, now=TS) == msg_id


# --- SSRF: IPv4 inside IPv6 ---------------------------------------------------------------

ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
internal_ipv4 = ipv4.filter(lambda a: address_class(a) is not None)
public_ipv4 = ipv4.filter(lambda a: address_class(a) is None)
bits16 = st.integers(0, 2**16 - 1)
bits64 = st.integers(0, 2**64 - 1)
public_prefix64 = st.sampled_from([0x2606_4700_0000_0000, 0x2A00_1450_4001_0800])


def _embeddings(v4: ipaddress.IPv4Address, data: st.DataObject) -> dict[str, str]:
    n = int(v4)
    other = int(data.draw(ipv4, label="other"))
    teredo_flags, teredo_port = data.draw(bits16), data.draw(bits16)
    teredo_client = 0x2001_0000 << 96 | other << 64 | teredo_flags << 48 | teredo_port << 32
    nat64_local = (0x0064_FF9B_0001 << 80) | (n >> 16) << 64 | (n & 0xFFFF) << 40
    return {
        "mapped": f"::ffff:{v4}",
        "compatible": f"::{v4}",
        "6to4": str(ipaddress.IPv6Address(0x2002 << 112 | n << 80 | data.draw(bits64))),
        "teredo-server": str(ipaddress.IPv6Address(0x2001_0000 << 96 | n << 64 | other)),
        "teredo-client": str(ipaddress.IPv6Address(teredo_client | (n ^ 0xFFFFFFFF))),
        "nat64": f"64:ff9b::{v4}",
        "nat64-local": str(ipaddress.IPv6Address(nat64_local)),
        "isatap": str(
            ipaddress.IPv6Address(data.draw(public_prefix64) << 64 | 0x0200_5EFE << 32 | n)
        ),
    }


@given(v4=internal_ipv4, data=st.data())
@example(v4=ipaddress.IPv4Address("127.0.0.1"), data=None)  # type: ignore[arg-type]
@settings(max_examples=300, deadline=None)
def test_any_embedding_of_an_internal_ipv4_is_refused(
    v4: ipaddress.IPv4Address, data: st.DataObject | None
) -> None:
    if data is None:  # the probes
        for literal in ("2002:7f00:1::1", "2002:a9fe:a9fe::1"):
            with pytest.raises(TargetRefused):
                check_target(f"http://[{literal}]/hook")
        return
    expected = address_class(v4)
    for form, literal in _embeddings(v4, data).items():
        address = ipaddress.IPv6Address(literal)
        assert address_class(address) is not None, (form, literal)
        with pytest.raises(TargetRefused):
            check_target(f"https://[{literal}]/hook", resolver=lambda h, p: [])
        if form == "compatible" and int(v4) <= 1:
            continue  # :: and ::1 are IPv6's own unspecified and loopback addresses
        assert v4 in embedded_ipv4(address), (form, literal)
        if form not in ("teredo-server", "teredo-client"):  # the other IPv4 may come first
            assert address_class(address) == expected, (form, literal)


@given(v4=public_ipv4, data=st.data())
@settings(max_examples=100, deadline=None)
def test_embeddings_of_public_ipv4_are_judged_public(
    v4: ipaddress.IPv4Address, data: st.DataObject
) -> None:
    forms = _embeddings(v4, data)
    for form in ("mapped", "6to4", "nat64", "isatap"):
        address = ipaddress.IPv6Address(forms[form])
        assert address_class(address) is None, (form, forms[form])


def test_isatap_keeps_its_own_prefix_class() -> None:
    assert address_class(ipaddress.IPv6Address("fe80::5efe:8.8.8.8")) == "link-local"
