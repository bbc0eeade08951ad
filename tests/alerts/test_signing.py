"""Standard Webhooks signatures: interop vector, tampering, staleness, rotation."""

from __future__ import annotations

import pytest

from alerts.errors import MalformedSignature, SignatureMismatch, StaleTimestamp
from alerts.signing import generate_secret, sign, signature_header, verify, webhook_headers
from tests.alerts.conftest import OTHER_SECRET, SECRET

MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
BODY = b'{"test": 2432232314}'


def test_matches_the_standard_webhooks_reference_vector() -> None:
    # The example from the Standard Webhooks specification: proves receivers' libraries agree.
    assert sign(SECRET, MSG_ID, TS, BODY) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signed_headers_verify() -> None:
    headers = webhook_headers([SECRET], MSG_ID, TS, BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert verify(SECRET, headers, BODY, now=TS + 10) == MSG_ID


@pytest.mark.parametrize("index", [0, 5, len(BODY) - 1])
def test_one_byte_change_fails(index: int) -> None:
    headers = webhook_headers([SECRET], MSG_ID, TS, BODY)
    tampered = bytearray(BODY)
    tampered[index] ^= 0x01
    with pytest.raises(SignatureMismatch):
        verify(SECRET, headers, bytes(tampered), now=TS)


def test_changed_id_or_timestamp_fails() -> None:
    headers = webhook_headers([SECRET], MSG_ID, TS, BODY)
    with pytest.raises(SignatureMismatch):
        verify(SECRET, {**headers, "webhook-id": MSG_ID + "x"}, BODY, now=TS)
    with pytest.raises(SignatureMismatch):
        verify(SECRET, {**headers, "webhook-timestamp": str(TS + 1)}, BODY, now=TS)


def test_stale_or_future_timestamp_fails() -> None:
    headers = webhook_headers([SECRET], MSG_ID, TS, BODY)
    with pytest.raises(StaleTimestamp):
        verify(SECRET, headers, BODY, now=TS + 301)
    with pytest.raises(StaleTimestamp):
        verify(SECRET, headers, BODY, now=TS - 301)
    assert verify(SECRET, headers, BODY, now=TS + 299) == MSG_ID


def test_rotation_sends_two_signatures_either_secret_verifies() -> None:
    headers = webhook_headers([SECRET, OTHER_SECRET], MSG_ID, TS, BODY)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert verify(SECRET, headers, BODY, now=TS) == MSG_ID
    assert verify(OTHER_SECRET, headers, BODY, now=TS) == MSG_ID
    with pytest.raises(SignatureMismatch):
        verify(generate_secret(), headers, BODY, now=TS)


def test_unknown_versions_are_skipped_and_missing_headers_refused() -> None:
    good = sign(SECRET, MSG_ID, TS, BODY)
    headers = {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(TS),
        "webhook-signature": f"v1a,AAAA {good}",
    }
    assert verify(SECRET, headers, BODY, now=TS) == MSG_ID
    with pytest.raises(MalformedSignature):
        verify(SECRET, {"webhook-id": MSG_ID}, BODY, now=TS)
    with pytest.raises(MalformedSignature):
        verify(SECRET, {**headers, "webhook-signature": "v2,abc"}, BODY, now=TS)


def test_placeholder_secrets_are_refused() -> None:
    for bad in ("changeme", "whsec_not base64!", "whsec_AAAA"):
        with pytest.raises(ValueError):
            signature_header([bad], MSG_ID, TS, BODY)
    assert generate_secret().startswith("whsec_")
